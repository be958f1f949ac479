package inmem

import (
	"math/rand/v2"
	"testing"
)

// TestTableDelete deletes half of a crowded table's entries, in random order, and checks
// after each deletion that every other entry is still found: backward-shift deletion keeps
// the probe runs whole.
func TestTableDelete(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tb := sized(0)
	want := map[uint32]uint32{}
	for len(want) < 700 { // 700 of 1024 slots: long probe runs that wrap around
		tag := r.Uint32() | 1
		if _, dup := want[tag]; !dup {
			want[tag] = uint32(len(want))
			tb.put(tag, want[tag])
		}
	}
	deleted := 0
	for tag := range want {
		if deleted == 350 {
			break
		}
		if !tb.del(tag) {
			t.Fatalf("del(%d) found nothing", tag)
		}
		delete(want, tag)
		deleted++
		if tb.del(tag) {
			t.Fatalf("del(%d) twice found it twice", tag)
		}
		for k, pos := range want {
			if got, ok := tb.get(k); !ok || got != pos {
				t.Fatalf("after %d deletions, get(%d) = %d, %v; want %d", deleted, k, got, ok, pos)
			}
		}
	}
	if tb.n != 350 {
		t.Fatalf("n = %d, want 350", tb.n)
	}
}
