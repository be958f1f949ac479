package redis_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/deduptest"
	"github.com/unmogrowp/unmogrowp/pebble"
)

func TestDedupConformance(t *testing.T) {
	addr := server(t)
	deduptest.Run(t, func(t *testing.T, now func() time.Time) unmogrowp.Deduplicator {
		opts := options(addr, newPrefix(t, addr))
		opts.Now = now
		return openDedup(t, opts)
	})
}

// TestDedupTwoConsumers checks that two processes on the same prefix share their claims:
// one's first sighting is the other's duplicate, and a record that one claimed and the
// other re-reads after taking over its partition is still the first.
func TestDedupTwoConsumers(t *testing.T) {
	addr := server(t)
	opts := options(addr, newPrefix(t, addr))
	a, b := openDedup(t, opts), openDedup(t, opts)
	defer a.Close()
	defer b.Close()
	now := time.Now()
	if n := deduptest.CountFirst(t, a, deduptest.Claims("app1", 0, 1000, 0, now)); n != 1000 {
		t.Fatalf("a claimed %d of 1000 new ids", n)
	}
	if n := deduptest.CountFirst(t, b, deduptest.Claims("app1", 0, 1000, 1, now)); n != 0 {
		t.Errorf("b claimed %d of a's 1000 ids from another partition", n)
	}
	if n := deduptest.CountFirst(t, b, deduptest.Claims("app1", 0, 1000, 0, now)); n != 1000 {
		t.Errorf("b took over a's partition: %d of 1000 replays are first, want all", n)
	}
}

// TestClaimTTL checks the TTL of an entry: a window from the claim's receive time, by the
// clock of Options.Now, and at least a minute for a claim older than the window.
func TestClaimTTL(t *testing.T) {
	addr := server(t)
	prefix := newPrefix(t, addr)
	c := &clock{t: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)} // far from the server's clock
	opts := options(addr, prefix)
	opts.Now, opts.Window = c.Now, 24*time.Hour
	d := openDedup(t, opts)
	defer d.Close()
	for _, tt := range []struct {
		app string
		age time.Duration
		min time.Duration
		max time.Duration
	}{
		{"fresh", 0, 24*time.Hour - time.Minute, 24 * time.Hour},
		{"hour-old", time.Hour, 23*time.Hour - time.Minute, 23 * time.Hour},
		{"past-window", 48 * time.Hour, 50 * time.Second, time.Minute},
	} {
		if n := deduptest.CountFirst(t, d, deduptest.Claims(tt.app, 0, 1, 0, c.Now().Add(-tt.age))); n != 1 {
			t.Errorf("%s: not claimed", tt.app)
		}
		keys := keysUnder(t, addr, prefix+"d:{"+tt.app+"}:")
		if len(keys) != 1 {
			t.Fatalf("%s: %d keys", tt.app, len(keys))
		}
		if got := pttl(t, addr, keys[0]); got < tt.min || got > tt.max {
			t.Errorf("%s: TTL %v, want in [%v, %v]", tt.app, got, tt.min, tt.max)
		}
	}
}

// TestDedupMatchesEmbedded claims random batches (few ids, replays, receive times that
// differ within a call, a clock that crosses the window) on a Dedup and on package pebble's
// Store, and wants the same answers: the edge cases of entries past the window included.
func TestDedupMatchesEmbedded(t *testing.T) {
	addr := server(t)
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	const window = time.Hour
	opts := options(addr, newPrefix(t, addr))
	opts.Now, opts.Window = c.Now, window
	d := openDedup(t, opts)
	defer d.Close()
	want, err := pebble.Open(t.TempDir(), pebble.Options{Window: window, Now: c.Now, SweepInterval: -1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()

	r := rand.New(rand.NewPCG(1, 2))
	for call := range 300 {
		if r.IntN(4) == 0 {
			c.Advance(time.Duration(r.IntN(40)) * time.Minute)
		}
		batch := make([]unmogrowp.Claim, 1+r.IntN(8))
		for i := range batch {
			batch[i] = unmogrowp.Claim{AppID: fmt.Sprintf("app%d", r.IntN(2)), EventID: fmt.Sprintf("e%d", r.IntN(6)),
				Partition: int32(r.IntN(2)), Offset: int64(r.IntN(8)),
				Time: c.Now().Add(-time.Duration(r.IntN(30)) * time.Minute)} // whole seconds: the Store keeps seconds
		}
		got, err := d.Claim(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		exp, err := want.Claim(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, exp) {
			for i, cl := range batch {
				t.Logf("claim %d: %s/%s %d:%d received %v ago", i, cl.AppID, cl.EventID, cl.Partition, cl.Offset, c.Now().Sub(cl.Time))
			}
			t.Fatalf("call %d: got %v, the embedded store says %v", call, got, exp)
		}
	}
}
