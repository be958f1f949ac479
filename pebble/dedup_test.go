package pebble_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/deduptest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/pebble"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t testing.TB, dir string, now func() time.Time) *pebble.Dedup {
	t.Helper()
	s, err := pebble.Open(dir, pebble.Options{Logger: quiet(), Now: now, SweepInterval: -1})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	deduptest.Run(t, func(t *testing.T, now func() time.Time) unmogrowp.Deduplicator {
		return openStore(t, t.TempDir(), now)
	})
}

func TestRestartKeepsClaims(t *testing.T) {
	dir := t.TempDir()
	clock := deduptest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	s := openStore(t, dir, clock.Now)
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 1000, 0, clock.Now())); n != 1000 {
		t.Fatalf("claimed %d of 1000 new ids", n)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Claim(context.Background(), deduptest.Claims("app1", 0, 1, 0, clock.Now())); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
		t.Errorf("Claim after Close: err = %v, want EUNAVAILABLE", err)
	}

	s = openStore(t, dir, clock.Now)
	defer s.Close()
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 1000, 1, clock.Now())); n != 0 {
		t.Errorf("after reopen, %d of 1000 known ids claimed again from another partition", n)
	}
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 1000, 0, clock.Now())); n != 1000 {
		t.Errorf("after reopen, %d of 1000 replays claimed, want all", n)
	}
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 1000, 10, 0, clock.Now())); n != 10 {
		t.Errorf("after reopen, %d of 10 new ids claimed", n)
	}
}

// TestClaimsAcrossFlushes claims ids while Pebble flushes its memtables to L0 and
// compacts L0 into the levels below, and checks that every id stays known wherever Pebble
// holds it (a memtable, L0, a lower level): each is a duplicate from another partition and
// a replay from its own.
func TestClaimsAcrossFlushes(t *testing.T) {
	clock := deduptest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	s := openFiltered(t, t.TempDir(), clock.Now)
	defer s.Close()
	const n, batch = 20000, 500
	for from := 0; from < n; from += batch {
		if got := deduptest.CountFirst(t, s, deduptest.Claims("app1", from, batch, 0, clock.Now())); got != batch {
			t.Fatalf("claimed %d of %d new ids from %d", got, batch, from)
		}
		// Every earlier id, old and recent, is known.
		for _, at := range []int{0, from / 2, max(0, from-batch)} {
			if got := deduptest.CountFirst(t, s, deduptest.Claims("app1", at, 50, 1, clock.Now())); got != 0 {
				t.Fatalf("after %d ids, %d of 50 known ids from %d claimed again", from+batch, got, at)
			}
		}
		if b := from / batch; b%4 == 3 {
			if err := s.Flush(b%16 == 15); err != nil {
				t.Fatalf("flush: %v", err)
			}
		}
	}
	if got := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, n, 1, clock.Now())); got != 0 {
		t.Errorf("%d of %d known ids claimed again from another partition", got, n)
	}
	if got := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, n, 0, clock.Now())); got != n {
		t.Errorf("%d of %d replays claimed, want all", got, n)
	}
}

func TestSweepRemovesExpired(t *testing.T) {
	dir := t.TempDir()
	clock := deduptest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	s := openStore(t, dir, clock.Now)
	defer s.Close()
	ctx := context.Background()

	old := clock.Now()
	deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 3000, 0, old))
	clock.Advance(2 * 24 * time.Hour)
	deduptest.CountFirst(t, s, deduptest.Claims("app1", 3000, 2000, 0, clock.Now()))
	if n := s.Len(); n != 5000 {
		t.Fatalf("Len = %d, want 5000", n)
	}

	// Nothing has expired yet.
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("early Sweep = %d, %v; want 0, nil", n, err)
	}
	clock.Advance(unmogrowp.DedupWindow - 24*time.Hour)
	n, err := s.Sweep(ctx)
	if err != nil || n != 3000 {
		t.Fatalf("Sweep = %d, %v; want 3000, nil", n, err)
	}
	if n := s.Len(); n != 2000 {
		t.Fatalf("Len after sweep = %d, want 2000", n)
	}
	// The swept ids are new again; the kept ones are still duplicates.
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 3000, 1, clock.Now())); n != 3000 {
		t.Errorf("%d of 3000 swept ids claimed, want all", n)
	}
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 3000, 2000, 1, clock.Now())); n != 0 {
		t.Errorf("%d of 2000 live ids claimed again, want none", n)
	}
}

func TestSweeperRunsAtOpen(t *testing.T) {
	dir := t.TempDir()
	clock := deduptest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	s := openStore(t, dir, clock.Now)
	deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 500, 0, clock.Now()))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(unmogrowp.DedupWindow + time.Hour)
	s, err := pebble.Open(dir, pebble.Options{Logger: quiet(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for s.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("background sweep left %d expired entries", s.Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkClaim measures Claim in batches of 1000: new ids (with the key filter built, as
// the sweeper does at Open, and without it), and ids already claimed.
func BenchmarkClaim(b *testing.B) {
	const batch = 1000
	b.Run("new", func(b *testing.B) {
		s := openFiltered(b, b.TempDir(), time.Now)
		defer s.Close()
		cpu0 := testenv.ProcessCPU()
		report(b, claimNew(b, s, batch, nil), cpu0)
	})
	b.Run("new-unfiltered", func(b *testing.B) {
		s := openStore(b, b.TempDir(), time.Now)
		defer s.Close()
		cpu0 := testenv.ProcessCPU()
		report(b, claimNew(b, s, batch, nil), cpu0)
	})
	b.Run("repeated", func(b *testing.B) {
		s := openStore(b, b.TempDir(), time.Now)
		defer s.Close()
		at := time.Now()
		const known = 100 * batch
		for from := 0; from < known; from += batch {
			deduptest.CountFirst(b, s, deduptest.Claims("app1", from, batch, 0, at))
		}
		n := 0
		var cpu0 time.Duration
		for b.Loop() {
			if n == 0 {
				cpu0 = testenv.ProcessCPU()
			}
			if got := deduptest.CountFirst(b, s, deduptest.Claims("app1", n%known, batch, 1, at)); got != 0 {
				b.Fatalf("claimed %d repeated ids", got)
			}
			n += batch
		}
		report(b, n, cpu0)
	})
}

// report reports claims/s (events/s too: the pipeline claims each event's id once) and
// the process CPU time per claim since cpu0, which includes Pebble's background flushes
// and compactions and is steadier than wall time on a shared machine.
func report(b *testing.B, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "claims/s")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	if cpu := testenv.ProcessCPU() - cpu0; cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/claim")
	}
}

// BenchmarkClaimSustained claims new ids in the pipeline's batches of 20,000, as `serve`
// drains a backlog, and counts the process's CPU until Pebble's flushes and compactions
// have settled: the whole cost of remembering an id, with the key filter rebuilt larger
// whenever it fills, as the sweeper does.
func BenchmarkClaimSustained(b *testing.B) {
	s := openFiltered(b, b.TempDir(), time.Now)
	defer s.Close()
	cpu0 := testenv.ProcessCPU()
	n := claimNew(b, s, 20000, func() {
		if s.FilterFull() { // as the sweeper would, woken by Claim
			if _, err := s.BuildFilter(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	s.WaitCompactions()
	report(b, n, cpu0)
}

// claimNew claims batches of new ids on s for as long as b's loop runs, calls after
// (when not nil) after each batch, and returns how many ids it claimed.
func claimNew(b *testing.B, s *pebble.Dedup, batch int, after func()) int {
	at := time.Now()
	n := 0
	for b.Loop() {
		if got := deduptest.CountFirst(b, s, deduptest.Claims("app1", n, batch, 0, at)); got != batch {
			b.Fatalf("claimed %d of %d", got, batch)
		}
		n += batch
		if after != nil {
			after()
		}
	}
	return n
}
