package unmogrowp

import (
	"encoding/base64"
	"encoding/binary"
)

// PageCursor is where a page of a list ordered by time, partition and offset ended: its
// last row's sort key. The event stores' lists (EventStore.Installs by install time,
// SKANStore.SKANPostbacks by receive time) make and read their cursors with it, so a
// cursor is the same string in either deployment.
type PageCursor struct {
	Time      int64 // Unix microseconds
	Partition int32
	Offset    int64
}

// pageCursorVersion is the first byte of an encoded cursor; another layout takes another
// one.
const pageCursorVersion = 1

// pageCursorBytes is the length of an encoded cursor before base64: the version, the
// time, the partition and the offset.
const pageCursorBytes = 1 + 8 + 4 + 8

// String encodes c as URL-safe base64 of a version byte, the time, the partition and the
// offset, big-endian.
func (c PageCursor) String() string {
	b := make([]byte, 0, pageCursorBytes)
	b = append(b, pageCursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Partition))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Offset))
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParsePageCursor reads what String made, and reports false for anything else,
// including an encoding with the line breaks base64's decoder skips.
func ParsePageCursor(s string) (PageCursor, bool) {
	if len(s) != base64.RawURLEncoding.EncodedLen(pageCursorBytes) {
		return PageCursor{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != pageCursorBytes || b[0] != pageCursorVersion {
		return PageCursor{}, false
	}
	return PageCursor{
		Time:      int64(binary.BigEndian.Uint64(b[1:])),
		Partition: int32(binary.BigEndian.Uint32(b[9:])),
		Offset:    int64(binary.BigEndian.Uint64(b[13:])),
	}, true
}
