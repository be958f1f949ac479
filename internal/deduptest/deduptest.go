// Package deduptest is the conformance suite for unmogrowp.Deduplicator: every
// implementation (package pebble, package redis) runs Run from its own tests.
package deduptest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// OpenFunc returns a fresh, empty Deduplicator that uses unmogrowp.DedupWindow and reads
// the current time from now (a fake clock the suite advances). Run closes it when the
// subtest ends; OpenFunc should register any other cleanup on t.
type OpenFunc func(t *testing.T, now func() time.Time) unmogrowp.Deduplicator

// Clock is a fake clock safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that starts at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start is the fake clock's origin in every subtest.
var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the conformance suite against the implementation that open returns, its
// subtests in parallel: each Deduplicator open returns must be isolated from the others.
func Run(t *testing.T, open OpenFunc) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, d unmogrowp.Deduplicator, c *Clock)
	}{
		{"FirstClaimWinsAcrossCalls", testFirstClaimWins},
		{"SameEventIDOtherApp", testOtherApp},
		{"DuplicatesInOneCall", testInCallDuplicates},
		{"ReplayOfClaimingRecord", testReplay},
		{"ReplayedBatchKeepsDecisions", testReplayedBatch},
		{"WindowExpiry", testWindowExpiry},
		{"Empty", testEmpty},
		{"CanceledContext", testCanceled},
		{"ConcurrentClaimsOneWinner", testConcurrent},
		{"ManyClaims", testMany},
		{"Forget", testForget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // a clock and a Deduplicator each
			c := NewClock(start)
			d := open(t, c.Now)
			t.Cleanup(func() {
				if err := d.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, d, c)
		})
	}
}

// claim builds a claim at the clock's time.
func claim(c *Clock, app, id string, partition int32, offset int64) unmogrowp.Claim {
	return unmogrowp.Claim{AppID: app, EventID: id, Partition: partition, Offset: offset, Time: c.Now()}
}

// check claims and compares the result with want.
func check(t *testing.T, d unmogrowp.Deduplicator, claims []unmogrowp.Claim, want ...bool) {
	t.Helper()
	got, err := d.Claim(context.Background(), claims)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Claim returned %d results for %d claims", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("claim %d (%s/%s at %d:%d) = %v, want %v", i, claims[i].AppID,
				claims[i].EventID, claims[i].Partition, claims[i].Offset, got[i], want[i])
		}
	}
}

func testFirstClaimWins(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 1)}, true)
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 2)}, false)
	c.Advance(time.Hour)
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 1, 3), claim(c, "app1", "e2", 1, 4)}, false, true)
}

func testOtherApp(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 1)}, true)
	check(t, d, []unmogrowp.Claim{claim(c, "app2", "e1", 0, 2)}, true)
	// The separator keeps ("ab","c") and ("a","bc") apart.
	check(t, d, []unmogrowp.Claim{claim(c, "ab", "c", 0, 3), claim(c, "a", "bc", 0, 4)}, true, true)
}

func testInCallDuplicates(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	check(t, d, []unmogrowp.Claim{
		claim(c, "app1", "a", 0, 1),
		claim(c, "app1", "b", 0, 2),
		claim(c, "app1", "a", 0, 3),
		claim(c, "app1", "c", 0, 4),
		claim(c, "app1", "b", 0, 5),
		claim(c, "app1", "a", 0, 6),
	}, true, true, false, true, false, false)
	// The winners are the first ones: their offsets replay as true, the others stay false.
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "a", 0, 1), claim(c, "app1", "b", 0, 2)}, true, true)
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "a", 0, 3)}, false)
}

func testReplay(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 2, 50)}, true)
	c.Advance(time.Minute)
	// Read again after a crash: same partition and offset.
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 2, 50)}, true)
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 2, 50)}, true)
	// Same offset in another partition, and another offset in the same one: duplicates.
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 3, 50), claim(c, "app1", "e1", 2, 51)}, false, false)
}

func testReplayedBatch(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	batch := []unmogrowp.Claim{
		claim(c, "app1", "x", 0, 10),
		claim(c, "app1", "y", 0, 11),
		claim(c, "app1", "x", 0, 12),
	}
	check(t, d, batch, true, true, false)
	check(t, d, batch, true, true, false)
	// Replayed from the middle (a different batch boundary).
	check(t, d, batch[1:], true, false)
}

func testWindowExpiry(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 1)}, true)
	c.Advance(unmogrowp.DedupWindow - time.Minute)
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 2)}, false)
	c.Advance(2 * time.Minute)
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 3)}, true)
	// The new claim owns the id now: it replays, the old and other records do not.
	check(t, d, []unmogrowp.Claim{
		claim(c, "app1", "e1", 0, 3), claim(c, "app1", "e1", 0, 1), claim(c, "app1", "e1", 0, 4),
	}, true, false, false)
	c.Advance(unmogrowp.DedupWindow - time.Minute)
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 5)}, false)
}

func testEmpty(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	got, err := d.Claim(context.Background(), nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Claim(nil) = %v, %v; want empty, nil", got, err)
	}
}

func testCanceled(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Claim(ctx, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 1)}); err == nil {
		t.Fatal("Claim with a canceled context succeeded")
	}
	// Nothing was claimed by the failed call.
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 2)}, true)
}

func testConcurrent(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	const workers, ids = 8, 200
	var wins [ids]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			claims := make([]unmogrowp.Claim, ids)
			for i := range claims {
				claims[i] = claim(c, "app1", fmt.Sprintf("id-%d", i), int32(w), int64(i))
			}
			got, err := d.Claim(context.Background(), claims)
			if err != nil {
				t.Errorf("worker %d: Claim: %v", w, err)
				return
			}
			for i, ok := range got {
				if ok {
					wins[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range wins {
		if n := wins[i].Load(); n != 1 {
			t.Errorf("id-%d claimed %d times, want once", i, n)
		}
	}
}

func testMany(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	const total, batch = 100_000, 5000
	mk := func(from int, offsetBase int64) []unmogrowp.Claim {
		cl := make([]unmogrowp.Claim, batch)
		for i := range cl {
			cl[i] = claim(c, fmt.Sprintf("app%d", (from+i)%7), fmt.Sprintf("evt-%08d", from+i), 0, offsetBase+int64(from+i))
		}
		return cl
	}
	count := func(claims []unmogrowp.Claim) int { return CountFirst(t, d, claims) }
	fresh := 0
	for from := 0; from < total; from += batch {
		fresh += count(mk(from, 0))
	}
	if fresh != total {
		t.Fatalf("first pass claimed %d of %d new ids", fresh, total)
	}
	// Every id again from other offsets: all duplicates; from the same offsets: all replays.
	dups, replays := 0, 0
	for from := 0; from < total; from += batch {
		dups += count(mk(from, total))
		replays += count(mk(from, 0))
	}
	if dups != 0 || replays != total {
		t.Fatalf("second pass: %d duplicates claimed (want 0), %d replays claimed (want %d)", dups, replays, total)
	}
}

// Claims returns n claims of app at time at, of event ids evt-<from> to evt-<from+n-1>
// at offsets from to from+n-1 of partition.
func Claims(app string, from, n int, partition int32, at time.Time) []unmogrowp.Claim {
	cl := make([]unmogrowp.Claim, n)
	for i := range cl {
		cl[i] = unmogrowp.Claim{AppID: app, EventID: fmt.Sprintf("evt-%d", from+i),
			Partition: partition, Offset: int64(from + i), Time: at}
	}
	return cl
}

// CountFirst claims the claims on d and returns how many were first sightings; a Claim
// error fails the test.
func CountFirst(t testing.TB, d unmogrowp.Deduplicator, claims []unmogrowp.Claim) int {
	t.Helper()
	got, err := d.Claim(context.Background(), claims)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	n := 0
	for _, ok := range got {
		if ok {
			n++
		}
	}
	return n
}

// testForget: a forgotten claim is gone (a later record with its id is the first again),
// the app's others and another app's same id are kept. Every Deduplicator is a Forgetter.
func testForget(t *testing.T, d unmogrowp.Deduplicator, c *Clock) {
	f, ok := d.(unmogrowp.Forgetter)
	if !ok {
		t.Fatalf("%T is not a unmogrowp.Forgetter", d)
	}
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 0, 1), claim(c, "app1", "e2", 0, 2), claim(c, "app2", "e1", 0, 3)},
		true, true, true)
	if err := f.Forget(context.Background(), "app1", []string{"dev"}, nil, []string{"e1", "never-claimed"}); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	if err := f.Forget(context.Background(), "app1", nil, nil, nil); err != nil {
		t.Fatalf("Forget of nothing: %v", err)
	}
	check(t, d, []unmogrowp.Claim{claim(c, "app1", "e1", 1, 1), claim(c, "app1", "e2", 1, 2), claim(c, "app2", "e1", 1, 3)},
		true, false, false)
}
