package wal

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/unmogrowp/unmogrowp"
)

// TestRecycleValues reads a log in batches, recycling the values after each, as the
// pipeline does once it has decoded a batch: every value read is the one appended, from
// the cache and from the segment files, with values too large for a block among them, and
// the blocks of a batch hold the values of the batches after it.
func TestRecycleValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cache int
	}{{"cached", 64 << 20}, {"from-disk", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := openWAL(t, t.TempDir(), Options{CacheBytes: tc.cache})
			rng := rand.New(rand.NewPCG(7, uint64(tc.cache)))
			want := appendRandom(t, w, rng, 3000, 600)
			big := make([]byte, slabSize/2) // copied on its own, never into a block
			for i := range big {
				big[i] = byte(i)
			}
			if err := w.Append(context.Background(), "app-big", [][]byte{big}); err != nil {
				t.Fatal(err)
			}
			want = append(want, original{"app-big", big})
			blocks := map[uintptr]bool{} // the blocks' first bytes, seen before a recycle
			reused := false
			for read := 0; read < len(want); {
				recs, err := w.Read(context.Background(), 250)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				for _, r := range recs {
					o := want[read]
					if r.Offset != int64(read) || r.Key != o.key || !bytes.Equal(r.Value, o.value) {
						t.Fatalf("record %d: offset %d key %q, %d bytes; want key %q, %d bytes, as appended",
							read, r.Offset, r.Key, len(r.Value), o.key, len(o.value))
					}
					read++
				}
				for _, b := range w.rd.values.used {
					p := uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))
					reused = reused || blocks[p]
					blocks[p] = true
				}
				w.RecycleValues()
			}
			if !reused {
				t.Error("no block held values of two batches: RecycleValues did not let Read reuse them")
			}
			if n := len(w.rd.values.free); n == 0 || n > maxFreeSlabs {
				t.Errorf("%d blocks free after the last recycle, want 1 to %d", n, maxFreeSlabs)
			}
		})
	}
}

// TestValuesKeptWithoutRecycle reads a log without ever recycling: the values of every
// Read stay as appended, and the log keeps no list of the blocks it handed out, which
// only a recycling reader needs.
func TestValuesKeptWithoutRecycle(t *testing.T) {
	t.Parallel()
	w := openWAL(t, t.TempDir(), Options{})
	want := appendRandom(t, w, rand.New(rand.NewPCG(8, 8)), 3000, 600)
	var got []unmogrowp.Record
	for len(got) < len(want) {
		recs, err := w.Read(context.Background(), 250)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got = append(got, recs...)
	}
	for i, r := range got { // the values of the first Reads, after the last
		if !bytes.Equal(r.Value, want[i].value) {
			t.Fatalf("record %d: %d bytes, not the %d appended", i, len(r.Value), len(want[i].value))
		}
	}
	if n := len(w.rd.values.used); n != 0 {
		t.Errorf("the log keeps %d blocks for a reader that never recycles, want 0", n)
	}
}
