package duckdb

import (
	"context"
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// FuzzReportArithmetic stores fuzzed revenues, huge, tiny, negative, subnormal, infinite
// or NaN, and checks that every report answers finite, JSON-encodable numbers:
// go test ./duckdb/ -run '^$' -fuzz FuzzReportArithmetic.
func FuzzReportArithmetic(f *testing.F) {
	s, err := Open(context.Background(), "", Options{Threads: 1, MemoryLimit: "256MB"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	storetest.FuzzReportArithmetic(f, s)
}
