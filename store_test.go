package unmogrowp_test

import (
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestBatchWatermarks checks Watermarks against its definition, row by row, on batches
// whose rows come in runs of one partition and out of order, with and without known
// watermarks below, between and above the batch's offsets.
func TestBatchWatermarks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 200 {
		var b unmogrowp.Batch
		for range rng.IntN(40) {
			p, o := int32(rng.IntN(4)), int64(rng.IntN(100))
			for range 1 + rng.IntN(5) { // a run of one partition
				switch rng.IntN(3) {
				case 0:
					b.Events = append(b.Events, unmogrowp.Event{Partition: p, Offset: o})
				case 1:
					b.Touchpoints = append(b.Touchpoints, unmogrowp.Touchpoint{Partition: p, Offset: o})
				default:
					b.SKAN = append(b.SKAN, unmogrowp.SKANPostback{Partition: p, Offset: o})
				}
				o += int64(rng.IntN(7)) - 2
			}
		}
		var known map[int32]int64
		if round%3 != 0 {
			known = map[int32]int64{}
			for p := range int32(4) {
				if rng.IntN(2) == 0 {
					known[p] = int64(rng.IntN(120)) - 10
				}
			}
		}
		want := map[int32]int64{}
		check := func(p int32, o int64) {
			cur, ok := want[p]
			if !ok {
				cur, ok = known[p]
			}
			if !ok || o > cur {
				want[p] = o
			}
		}
		for _, e := range b.Events {
			check(e.Partition, e.Offset)
		}
		for _, tp := range b.Touchpoints {
			check(tp.Partition, tp.Offset)
		}
		for _, sp := range b.SKAN {
			check(sp.Partition, sp.Offset)
		}
		if got := b.Watermarks(known); !maps.Equal(got, want) {
			t.Fatalf("round %d: Watermarks(%v) = %v, want %v", round, known, got, want)
		}
	}
}
