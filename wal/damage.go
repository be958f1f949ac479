package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// salvage handles damage found at byte at of the newest segment s (open as f), all of
// whose frames before at are valid and scanned. why is the damage found there.
//
// A crash can only tear the end of the last write, so damage that no valid frame follows
// and that looks torn (see torn) is a torn tail: it is logged and cut off. Damage that
// valid frames follow is corruption
// (a flipped byte, a bad sector): the records of those frames may have been acknowledged
// long ago, and cutting them off would lose them silently. Then salvage keeps every valid
// record at its offset, puts a skip frame (see appendSkip) where damaged frames were, so
// that the offsets stay dense and their loss is written down, and replaces the segment
// with the result: written to a temporary file and synced, the damaged file linked aside
// as <name>.damaged (kept for inspection, never deleted), the new one renamed into place.
// The loss is logged as an error and counted in Status. Damage at the end that does not
// look torn (a whole frame with a bad checksum) is cut off the same way, with the damaged
// file kept aside and the loss logged as an error: how many records it held is unknown.
//
// A crash in the middle leaves either the damaged segment in place (salvaged again at the
// next Open, with a second copy aside) or the salvaged one.
func (w *WAL) salvage(s *segment, f *os.File, at, committed int64, why error) error {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("read damaged segment: %w", err)
	}
	out := append(make([]byte, 0, len(data)), data[:at]...)
	var lost []int64 // [from, to) pairs of lost offsets
	resynced := false
	pos := int(at)
	for pos < len(data) {
		fr, n, err := decodeFrame(data[pos:])
		if err == nil && fr.offset == s.end {
			out = append(out, data[pos:pos+n]...)
			w.scanned(s, fr, committed)
			pos += n
			continue
		}
		p, fr, ok := resync(data, pos+1, s.end)
		if !ok {
			break // the rest is a torn tail
		}
		resynced = true
		if fr.offset > s.end {
			lost = append(lost, s.end, fr.offset)
			out = appendSkip(out, s.end, fr.offset)
			s.end = fr.offset
		}
		pos = p
	}

	if !resynced && torn(data[at:], why) {
		w.log.Warn("wal: cutting torn tail of the newest segment",
			"segment", s.path, "at", at, "dropped_bytes", int64(len(data))-at, "reason", why)
		if err := f.Truncate(at); err != nil {
			return fmt.Errorf("cut torn tail of %s: %w", s.path, err)
		}
		if err := fdatasync(f); err != nil {
			return fmt.Errorf("cut torn tail of %s: %w", s.path, err)
		}
		s.size = at
		return nil
	}

	aside, err := replaceSegment(s.path, out, w.dir)
	if err != nil {
		return fmt.Errorf("salvage damaged segment %s: %w", s.path, err)
	}
	s.size = int64(len(out))
	var n int64
	for i := 0; i < len(lost); i += 2 {
		n += lost[i+1] - lost[i]
	}
	w.lost += n
	w.damaged = append(w.damaged, aside)
	w.log.Error("wal: the newest segment is damaged; kept every valid record, skipped the damaged ones and moved the damaged file aside",
		"segment", s.path, "damaged_copy", aside, "lost_records", n, "lost_offsets", lost,
		"first_damage_at", at, "dropped_tail_bytes", len(data)-pos, "reason", why)
	return nil
}

// torn reports whether tail, the end of a segment from its first damaged frame on, is what
// an interrupted write leaves: a frame cut short by the end of the file (a killed process
// writes a prefix), or zeros (a file extended but not filled before a power loss).
func torn(tail []byte, why error) bool {
	if errors.Is(why, errShortFrame) {
		return true
	}
	for _, c := range tail {
		if c != 0 {
			return false
		}
	}
	return true
}

// resync returns the first position from `from` on in data where a valid frame starts
// whose offset is at least want.
func resync(data []byte, from int, want int64) (int, frame, bool) {
	for p := from; p+frameHeader <= len(data); p++ {
		b := data[p:]
		n, err := frameLen(b)
		if err != nil || n > len(b) {
			continue
		}
		// Cheap before the checksum: a frame's offset cannot be past want by more than
		// there are bytes.
		if off := int64(binary.LittleEndian.Uint64(b[8:])); off < want || off-want > int64(len(data)) {
			continue
		}
		if fr, _, err := decodeFrame(b); err == nil {
			return p, fr, true
		}
	}
	return 0, frame{}, false
}

// replaceSegment replaces the segment file at path with data, keeping the old file as
// path.damaged (or path.damaged.N when that exists), and returns that name.
func replaceSegment(path string, data []byte, dir string) (string, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = fdatasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	aside := path + ".damaged"
	for i := 1; ; i++ {
		err = os.Link(path, aside)
		if !os.IsExist(err) {
			break
		}
		aside = path + ".damaged." + strconv.Itoa(i)
	}
	if err != nil {
		return "", fmt.Errorf("keep damaged copy: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return aside, syncDir(dir)
}
