package wal

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	segmentExt = ".wal"
	commitName = "commit"
	lockName   = "LOCK"
)

// segment is one segment file: the records from base on, in offset order. Its fields
// other than base and path change under WAL.mu.
type segment struct {
	base     int64 // offset of its first record (and its file name)
	path     string
	size     int64 // bytes known durable and valid
	end      int64 // offset after its last durable record (== base when empty)
	lastTime int64 // append time of its last record, unix micro
}

// segmentName returns the file name of the segment whose first offset is base.
func segmentName(base int64) string { return fmt.Sprintf("%020d%s", base, segmentExt) }

// listSegments returns the segment files in dir in offset order.
func listSegments(dir string) ([]*segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list wal dir: %w", err)
	}
	var segs []*segment
	for _, e := range ents {
		name := e.Name()
		digits, ok := strings.CutSuffix(name, segmentExt)
		if !ok || len(digits) != 20 || !e.Type().IsRegular() {
			continue
		}
		base, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || base < 0 {
			continue
		}
		segs = append(segs, &segment{base: base, path: filepath.Join(dir, name), end: base})
	}
	slices.SortFunc(segs, func(a, b *segment) int { return cmp.Compare(a.base, b.base) })
	return segs, nil
}

// segReader reads frames from a segment file through a buffer, never past limit.
type segReader struct {
	f      *os.File
	limit  int64  // bytes of the file that may be read
	bufPos int64  // file offset of buf[0]
	buf    []byte //
	r, w   int    // unread bytes are buf[r:w]
}

const readBufSize = 256 << 10

func newSegReader(f *os.File, limit int64) *segReader {
	return &segReader{f: f, limit: limit, buf: make([]byte, readBufSize)}
}

// pos returns the file offset of the next frame.
func (s *segReader) pos() int64 { return s.bufPos + int64(s.r) }

// next returns the next frame, whose key and value alias the reader's buffer until the
// next call. At limit it returns io.EOF; a partial frame before limit is errShortFrame, a
// damaged one errBadLength or errBadCRC; I/O errors are returned as they are.
func (s *segReader) next() (frame, error) {
	for {
		n, err := frameLen(s.buf[s.r:s.w])
		if err == nil && s.w-s.r >= n {
			f, n, err := decodeFrame(s.buf[s.r:s.w])
			if err != nil {
				return frame{}, err
			}
			s.r += n
			return f, nil
		}
		if err != nil && err != errShortFrame {
			return frame{}, err
		}
		if s.bufPos+int64(s.w) >= s.limit {
			if s.r == s.w {
				return frame{}, io.EOF
			}
			return frame{}, errShortFrame
		}
		if err := s.fill(n); err != nil {
			return frame{}, err
		}
	}
}

// fill reads more of the file into the buffer, making room for a frame of need bytes.
func (s *segReader) fill(need int) error {
	if s.r > 0 {
		copy(s.buf, s.buf[s.r:s.w])
		s.bufPos += int64(s.r)
		s.w -= s.r
		s.r = 0
	}
	if need > len(s.buf) {
		nb := make([]byte, need)
		copy(nb, s.buf[:s.w])
		s.buf = nb
	}
	room := s.buf[s.w:]
	if left := s.limit - s.bufPos - int64(s.w); int64(len(room)) > left {
		room = room[:left]
	}
	n, err := s.f.ReadAt(room, s.bufPos+int64(s.w))
	s.w += n
	if n > 0 {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		// The file is shorter than limit: whatever is buffered is all there is.
		s.limit = s.bufPos + int64(s.w)
		return nil
	}
	return err
}

// reset repositions the reader at the start of the file.
func (s *segReader) reset() { s.bufPos, s.r, s.w = 0, 0, 0 }

// The commit file: magic, the offset after the last committed record, and a CRC-32C of
// the twelve bytes before it.
var commitMagic = [4]byte{'U', 'W', 'C', '1'}

const commitSize = 16

func encodeCommit(next int64) []byte {
	b := make([]byte, commitSize)
	copy(b, commitMagic[:])
	binary.LittleEndian.PutUint64(b[4:], uint64(next))
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
	return b
}

// readCommit returns the committed position stored in dir, 0 when there is none.
func readCommit(dir string) (int64, error) {
	path := filepath.Join(dir, commitName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read commit file: %w", err)
	}
	if len(b) != commitSize || [4]byte(b[:4]) != commitMagic ||
		crc32.Checksum(b[:12], castagnoli) != binary.LittleEndian.Uint32(b[12:]) {
		return 0, fmt.Errorf("commit file %s is corrupt", path)
	}
	next := int64(binary.LittleEndian.Uint64(b[4:]))
	if next < 0 {
		return 0, fmt.Errorf("commit file %s is corrupt", path)
	}
	return next, nil
}

// writeCommit durably replaces the commit file in dir: write a temporary file, fsync it,
// rename it over the old one, fsync the directory.
func writeCommit(dir string, next int64) error {
	tmp := filepath.Join(dir, commitName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write commit file: %w", err)
	}
	_, err = f.Write(encodeCommit(next))
	if err == nil {
		err = fdatasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, commitName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write commit file: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory so that files created, renamed or removed in it persist.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
