package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		offset int64
		micros int64
		key    string
		value  []byte
	}{
		{"Empty", 0, 0, "", nil},
		{"Typical", 42, 1_700_000_000_000_000, "com.example.app", bytes.Repeat([]byte("v"), 400)},
		{"LongKey", 1<<40 + 3, -1, string(bytes.Repeat([]byte("k"), MaxKeyBytes)), []byte{0}},
		{"Large", 7, 1, "a", bytes.Repeat([]byte{0xff}, 64<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix")
			b := appendFrame(bytes.Clone(prefix), tt.offset, tt.micros, tt.key, tt.value)
			if !bytes.Equal(b[:len(prefix)], prefix) {
				t.Fatal("appendFrame changed the bytes before the frame")
			}
			enc := b[len(prefix):]
			if len(enc) != frameSize(len(tt.key), len(tt.value)) {
				t.Fatalf("frame is %d bytes, frameSize says %d", len(enc), frameSize(len(tt.key), len(tt.value)))
			}
			f, n, err := decodeFrame(append(bytes.Clone(enc), "trailing"...))
			if err != nil || n != len(enc) {
				t.Fatalf("decode: n %d err %v", n, err)
			}
			if f.offset != tt.offset || f.micros != tt.micros || string(f.key) != tt.key || !bytes.Equal(f.value, tt.value) {
				t.Fatalf("decoded %d %d %.20q %.20q", f.offset, f.micros, f.key, f.value)
			}
			for cut := range min(len(enc), 64) {
				if _, _, err := decodeFrame(enc[:cut]); !errors.Is(err, errShortFrame) {
					t.Fatalf("decode of the first %d bytes: %v, want errShortFrame", cut, err)
				}
			}
		})
	}
}

func TestFrameDamage(t *testing.T) {
	good := appendFrame(nil, 5, 6, "key", []byte("value"))
	tests := []struct {
		name   string
		damage func(b []byte)
		want   error
	}{
		{"ZeroLength", func(b []byte) { clear(b[:4]) }, errBadLength},
		{"HugeLength", func(b []byte) { binary.LittleEndian.PutUint32(b, 0xffffffff) }, errBadLength},
		{"LongerLength", func(b []byte) { b[0]++ }, errShortFrame},
		{"ShorterLength", func(b []byte) { b[0]-- }, errBadCRC},
		{"FlippedCRC", func(b []byte) { b[5] ^= 1 }, errBadCRC},
		{"FlippedOffset", func(b []byte) { b[9] ^= 1 }, errBadCRC},
		{"FlippedValue", func(b []byte) { b[len(b)-1] ^= 0x80 }, errBadCRC},
		{"KeyPastEnd", func(b []byte) {
			binary.LittleEndian.PutUint16(b[24:], 100)
			binary.LittleEndian.PutUint32(b[4:], crc(b[8:]))
		}, errBadLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(good)
			tt.damage(b)
			if _, _, err := decodeFrame(b); !errors.Is(err, tt.want) {
				t.Fatalf("decode: %v, want %v", err, tt.want)
			}
		})
	}
}

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// FuzzFrameDecode feeds arbitrary bytes to the frame decoder as a segment file's contents:
// it must never panic, and whatever it accepts must encode back to the same bytes.
func FuzzFrameDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(appendFrame(nil, 0, 0, "", nil))
	f.Add(appendFrame(appendFrame(nil, 1, 2, "app", []byte("value")), 2, 3, "app", nil))
	f.Add(appendFrame(nil, 9, 9, "k", []byte("v"))[:20])
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		rest := data
		for len(rest) > 0 {
			fr, n, err := decodeFrame(rest)
			if err != nil {
				if !errors.Is(err, errShortFrame) && !errors.Is(err, errBadLength) && !errors.Is(err, errBadCRC) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if n <= 0 || n > len(rest) {
				t.Fatalf("decoded length %d of %d bytes", n, len(rest))
			}
			again := appendFrame(nil, fr.offset, fr.micros, string(fr.key), fr.value)
			if !bytes.Equal(again, rest[:n]) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, rest[:n])
			}
			rest = rest[n:]
		}
	})
}
