package redis_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	addr := server(t)
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	prefix := newPrefix(t, addr)
	opts := options(addr, prefix)
	opts.Now = c.Now
	a, b := openLimiter(t, opts), openLimiter(t, opts)
	defer a.Close()
	defer b.Close()
	check := func(name string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}

	// Two ingestion processes share one budget.
	ok, err := a.Allow(ctx, "app1", 60, 100)
	check("a: 60 of 100", ok, err, true)
	ok, err = b.Allow(ctx, "app1", 40, 100)
	check("b: 40 more", ok, err, true)
	ok, err = a.Allow(ctx, "app1", 1, 100)
	check("a: one over", ok, err, false)
	ok, err = b.Allow(ctx, "app1", 1, 100)
	check("b: one over", ok, err, false)
	// Another app has its own budget; no limit needs no budget.
	ok, err = b.Allow(ctx, "app2", 100, 100)
	check("app2: 100 of 100", ok, err, true)
	ok, err = b.Allow(ctx, "app1", 1000, 0)
	check("app1 without limit", ok, err, true)

	// The next second is a new window.
	c.Advance(time.Second)
	ok, err = a.Allow(ctx, "app1", 90, 100)
	check("next second: 90 of 100", ok, err, true)
	// A refused request takes nothing.
	ok, err = b.Allow(ctx, "app1", 20, 100)
	check("20 more", ok, err, false)
	ok, err = b.Allow(ctx, "app1", 10, 100)
	check("10 more", ok, err, true)

	// The burst is the limit: a batch larger than the limit never passes, not even first
	// in its window, and takes nothing from it.
	c.Advance(time.Second)
	ok, err = a.Allow(ctx, "app1", 500, 100)
	check("a batch of 500 first in its window", ok, err, false)
	ok, err = b.Allow(ctx, "app1", 101, 100)
	check("a batch of 101", ok, err, false)
	ok, err = b.Allow(ctx, "app1", 100, 100)
	check("a batch of 100 after them", ok, err, true)
	ok, err = a.Allow(ctx, "app1", 1, 100)
	check("one after it", ok, err, false)

	// Counters expire a few seconds after their window.
	keys := keysUnder(t, addr, prefix)
	if len(keys) != 4 {
		t.Errorf("%d counters, want 4: %q", len(keys), keys)
	}
	for _, key := range keys {
		if d := pttl(t, addr, key); d <= 0 || d > 5*time.Second {
			t.Errorf("counter %q has TTL %v", key, d)
		}
	}
}

// TestRateLimiterConcurrent checks that concurrent requests from two limiters never take
// more than the budget.
func TestRateLimiterConcurrent(t *testing.T) {
	addr := server(t)
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts := options(addr, newPrefix(t, addr))
	opts.Now = c.Now
	a, b := openLimiter(t, opts), openLimiter(t, opts)
	defer a.Close()
	defer b.Close()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		l := a
		if w%2 == 1 {
			l = b
		}
		wg.Go(func() {
			for range 50 {
				ok, err := l.Allow(ctx, "app1", 1, 100)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 100 {
		t.Errorf("%d of 400 requests allowed under a limit of 100", n)
	}
}
