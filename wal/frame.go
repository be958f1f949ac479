package wal

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// The record frame, little-endian:
//
//	[0:4)   size    uint32: bytes after this field (crc .. end of value)
//	[4:8)   crc     uint32: CRC-32C (Castagnoli) of bytes [8:4+size)
//	[8:16)  offset  uint64: the record's offset
//	[16:24) time    int64: append time, microseconds since the Unix epoch
//	[24:26) keyLen  uint16
//	[26:..) key, then the value (size - 22 - keyLen bytes)
const (
	frameHeader = 26              // bytes before the key
	minBody     = frameHeader - 4 // smallest legal size field
	// MaxKeyBytes is the largest key Append accepts.
	MaxKeyBytes = 1<<16 - 1
	// MaxValueBytes is the largest value Append accepts.
	MaxValueBytes = 32 << 20
	maxBody       = minBody + MaxKeyBytes + MaxValueBytes
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Frame decoding errors. errShortFrame means b holds only the start of a frame: at the end
// of a file it is a torn write.
var (
	errShortFrame = errors.New("short frame")
	errBadLength  = errors.New("bad frame length")
	errBadCRC     = errors.New("bad frame checksum")
)

// frame is one decoded record frame; key and value alias the decoded buffer.
type frame struct {
	offset int64
	micros int64
	key    []byte
	value  []byte
}

// frameSize returns the encoded size of a record with the key and value lengths.
func frameSize(keyLen, valueLen int) int { return frameHeader + keyLen + valueLen }

// appendFrame appends the frame of one record to b. The caller has checked the key and
// value lengths against MaxKeyBytes and MaxValueBytes.
func appendFrame(b []byte, offset, micros int64, key string, value []byte) []byte {
	n := frameSize(len(key), len(value))
	start := len(b)
	if cap(b)-start < n {
		nb := make([]byte, start, 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	b = b[:start+n]
	f := b[start:]
	binary.LittleEndian.PutUint32(f[0:], uint32(n-4))
	binary.LittleEndian.PutUint64(f[8:], uint64(offset))
	binary.LittleEndian.PutUint64(f[16:], uint64(micros))
	binary.LittleEndian.PutUint16(f[24:], uint16(len(key)))
	copy(f[frameHeader:], key)
	copy(f[frameHeader+len(key):], value)
	binary.LittleEndian.PutUint32(f[4:], crc32.Checksum(f[8:], castagnoli))
	return b
}

// frameLen returns the total length of the frame starting at b from its size field, or
// errShortFrame if b is shorter than the size field, or errBadLength.
func frameLen(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, errShortFrame
	}
	size := binary.LittleEndian.Uint32(b)
	if size < minBody || size > maxBody {
		return 0, errBadLength
	}
	return 4 + int(size), nil
}

// decodeFrame decodes the frame at the start of b and returns it with its total length.
// It returns errShortFrame when b holds only part of a frame, errBadLength or errBadCRC for
// a damaged one, and never panics.
func decodeFrame(b []byte) (frame, int, error) {
	n, err := frameLen(b)
	if err != nil {
		return frame{}, 0, err
	}
	if len(b) < n {
		return frame{}, 0, errShortFrame
	}
	f := b[:n]
	if crc32.Checksum(f[8:], castagnoli) != binary.LittleEndian.Uint32(f[4:]) {
		return frame{}, 0, errBadCRC
	}
	if frameHeader+int(binary.LittleEndian.Uint16(f[24:])) > n {
		return frame{}, 0, errBadLength
	}
	return parseFrame(f), n, nil
}

// parseFrame splits a frame of the right length that this process wrote or decodeFrame
// checked. It clamps the key length to the frame instead of panicking.
func parseFrame(f []byte) frame {
	k := int(binary.LittleEndian.Uint16(f[24:]))
	if frameHeader+k > len(f) {
		k = len(f) - frameHeader
	}
	return frame{
		offset: int64(binary.LittleEndian.Uint64(f[8:])),
		micros: int64(binary.LittleEndian.Uint64(f[16:])),
		key:    f[frameHeader : frameHeader+k],
		value:  f[frameHeader+k:],
	}
}

// skipMicros is the time field of a skip frame, which no append writes (appends write the
// current time). A skip frame stands for the records of offsets [offset, end) that
// recovery found damaged (see salvage): its key is empty and its value is end, 8 bytes
// little-endian. Readers step over it.
const skipMicros = -1

// appendSkip appends a skip frame for the offsets [from, to) to b.
func appendSkip(b []byte, from, to int64) []byte {
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], uint64(to))
	return appendFrame(b, from, skipMicros, "", v[:])
}

// skip reports whether f is a skip frame, and the offset after the records it stands for.
func (f frame) skip() (end int64, ok bool) {
	if f.micros != skipMicros || len(f.key) != 0 || len(f.value) != 8 {
		return 0, false
	}
	end = int64(binary.LittleEndian.Uint64(f.value))
	return end, end > f.offset
}
