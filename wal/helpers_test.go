package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// original is a record as a test appended it.
type original struct {
	key   string
	value []byte
}

func openWAL(t *testing.T, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// appendRandom appends n records with random keys and values (0 to maxValue bytes) in
// calls of 1 to 20 records, and returns them in offset order.
func appendRandom(t *testing.T, w *WAL, rng *rand.Rand, n, maxValue int) []original {
	t.Helper()
	var out []original
	for len(out) < n {
		key := fmt.Sprintf("app-%d", rng.IntN(5))
		k := min(1+rng.IntN(20), n-len(out))
		vals := make([][]byte, k)
		for i := range vals {
			v := make([]byte, rng.IntN(maxValue+1))
			for j := range v {
				v[j] = byte(rng.Uint32())
			}
			vals[i] = v
			out = append(out, original{key, v})
		}
		if err := w.Append(context.Background(), key, vals); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	return out
}

// readAll reads records until none arrives for a few milliseconds: every append the
// tests make has returned, so what is durable is already readable.
func readAll(t *testing.T, w *WAL) []unmogrowp.Record {
	t.Helper()
	var got []unmogrowp.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		recs, err := w.Read(ctx, 1000)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatalf("read after %d records: %v", len(got), err)
		}
		got = append(got, recs...)
	}
}

// checkPrefix checks that got is exactly the records from..from+len(got) of want, at
// their own offsets.
func checkPrefix(t *testing.T, got []unmogrowp.Record, want []original, from int64) {
	t.Helper()
	for i, r := range got {
		off := from + int64(i)
		if r.Offset != off || r.Partition != 0 {
			t.Fatalf("record %d at %d/%d, want 0/%d", i, r.Partition, r.Offset, off)
		}
		if off >= int64(len(want)) {
			t.Fatalf("record at offset %d beyond the %d appended", off, len(want))
		}
		if r.Key != want[off].key || !bytes.Equal(r.Value, want[off].value) {
			t.Fatalf("record at offset %d differs from the one appended there", off)
		}
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return m // sorted, and the names sort by offset
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
