package pebble_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/deduptest"
	"github.com/unmogrowp/unmogrowp/pebble"
)

// openFiltered opens a store whose key filter is built (empty), so that every claim goes
// through it.
func openFiltered(t testing.TB, dir string, now func() time.Time) *pebble.Dedup {
	t.Helper()
	s := openStore(t, dir, now)
	if _, err := s.BuildFilter(context.Background()); err != nil {
		t.Fatalf("BuildFilter: %v", err)
	}
	if !s.FilterReady() {
		t.Fatal("no filter after BuildFilter")
	}
	return s
}

func TestConformanceFiltered(t *testing.T) {
	deduptest.Run(t, func(t *testing.T, now func() time.Time) unmogrowp.Deduplicator {
		return openFiltered(t, t.TempDir(), now)
	})
}

// TestFilterKeepsEveryKey: ids claimed before a build, by an earlier process, are found
// through the filter it builds, and so are duplicates, not claimed twice.
func TestFilterKeepsEveryKey(t *testing.T) {
	dir := t.TempDir()
	clock := deduptest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	s := openStore(t, dir, clock.Now)
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 3000, 0, clock.Now())); n != 3000 {
		t.Fatalf("claimed %d of 3000 new ids", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openFiltered(t, dir, clock.Now)
	defer s.Close()
	if n, err := s.BuildFilter(context.Background()); err != nil || n < 3000 {
		t.Fatalf("the filter holds %d keys (err %v), want the 3000 stored", n, err)
	}
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 3000, 1, clock.Now())); n != 0 {
		t.Errorf("%d of 3000 known ids claimed again from another partition", n)
	}
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, 3000, 0, clock.Now())); n != 3000 {
		t.Errorf("%d of 3000 replays claimed, want all", n)
	}
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 3000, 3000, 0, clock.Now())); n != 3000 {
		t.Errorf("%d of 3000 new ids claimed", n)
	}
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 3000, 3000, 2, clock.Now())); n != 0 {
		t.Errorf("%d of 3000 ids claimed through the filter claimed again", n)
	}
}

// TestFilterBuildRacesClaims claims ids while filters are built: none is missed by the
// filter that ends up live, so a second claim of each is a duplicate.
func TestFilterBuildRacesClaims(t *testing.T) {
	clock := deduptest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	s := openStore(t, t.TempDir(), clock.Now)
	defer s.Close()
	const batches, batch = 200, 100
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range batches {
			if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", i*batch, batch, 0, clock.Now())); n != batch {
				t.Errorf("batch %d: claimed %d of %d new ids", i, n, batch)
			}
		}
	})
	builds := 0
	for done := false; !done; builds++ {
		if _, err := s.BuildFilter(context.Background()); err != nil {
			t.Fatalf("BuildFilter: %v", err)
		}
		select {
		case <-waitChan(&wg):
			done = true
		default:
		}
	}
	if !s.FilterReady() {
		t.Fatal("no filter after the builds")
	}
	if n := deduptest.CountFirst(t, s, deduptest.Claims("app1", 0, batches*batch, 1, clock.Now())); n != 0 {
		t.Errorf("after %d builds during the claims, %d of %d ids claimed again", builds, n, batches*batch)
	}
}

// waitChan returns a channel closed when wg is done.
func waitChan(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}
