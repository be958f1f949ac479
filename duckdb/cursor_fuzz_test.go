package duckdb

import (
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// FuzzCursor: decodeCursor accepts only what encodeCursor makes (storetest.FuzzCursor).
func FuzzCursor(f *testing.F) {
	storetest.FuzzCursor(f, decodeCursor, encodeCursor,
		encodeCursor(cursor{installTime: time.UnixMicro(1_772_500_000_123_456).UTC(), partition: 3, offset: 1 << 40}),
		encodeCursor(cursor{installTime: time.UnixMicro(-62135596800000000).UTC(), partition: -1, offset: -1}))
}
