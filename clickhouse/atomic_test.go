package clickhouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// batchAt returns n full events on partition p from offset first on, in one app.
func batchAt(p int32, first int64, n int) []unmogrowp.Event {
	b := make([]unmogrowp.Event, n)
	for i := range b {
		b[i] = storetest.FullEvent(p, first+int64(i), int(first)+i)
	}
	return b
}

// mixedAt returns a batch on partition p from offset first on: n full events, then n full
// touchpoints, and the install decisions of every fifth event (at its position). It spans
// 2n offsets.
func mixedAt(p int32, first int64, n int) unmogrowp.Batch {
	b := unmogrowp.Batch{Events: batchAt(p, first, n)}
	for i := range n {
		o := first + int64(n+i)
		b.Touchpoints = append(b.Touchpoints, storetest.FullTouchpoint(p, o, int(o)))
		if i%5 == 0 {
			b.Installs = append(b.Installs, storetest.FullInstall(p, first+int64(i), int(first)+i))
		}
	}
	return b
}

// state is what a store shows: rows of each kind as reads count them, the watermarks,
// and every report of app-full around the fixtures' times, as JSON.
type state struct {
	events, touchpoints, installs uint64
	marks                         map[int32]int64
	reports                       string
}

func readState(t *testing.T, s *Store) state {
	t.Helper()
	ctx := context.Background()
	var st state
	if err := s.conn.QueryRow(ctx, `SELECT (SELECT count() FROM events FINAL), (SELECT count() FROM touchpoints FINAL),
		(SELECT count() FROM installs FINAL)`).Scan(&st.events, &st.touchpoints, &st.installs); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	var err error
	if st.marks, err = s.Watermarks(ctx); err != nil {
		t.Fatalf("Watermarks: %v", err)
	}
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	var all []any
	for _, run := range []func() (any, error){
		func() (any, error) { return s.Stats(ctx, "app-full", from, to) },
		func() (any, error) { return s.MediaSourceReport(ctx, "app-full", from, to) },
		func() (any, error) { return s.FraudReport(ctx, "app-full", from, to) },
		func() (any, error) { return s.RetentionReport(ctx, "app-full", from, to) },
		func() (any, error) {
			return s.Chart(ctx, "app-full", unmogrowp.ChartEvents, from, to, unmogrowp.IntervalDay)
		},
		func() (any, error) { return s.Chart(ctx, "app-full", unmogrowp.ChartPlatforms, from, to, "") },
	} {
		r, err := run()
		if err != nil {
			t.Fatalf("report: %v", err)
		}
		all = append(all, r)
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	st.reports = string(b)
	return st
}

func (a state) equal(b state) bool {
	if a.events != b.events || a.touchpoints != b.touchpoints || a.installs != b.installs ||
		len(a.marks) != len(b.marks) || a.reports != b.reports {
		return false
	}
	for p, o := range a.marks {
		if bo, ok := b.marks[p]; !ok || bo != o {
			return false
		}
	}
	return true
}

func (a state) String() string {
	return fmt.Sprintf("%d events, %d touchpoints, %d installs, watermarks %v", a.events, a.touchpoints, a.installs, a.marks)
}

var errCrash = errors.New("crash injected")

// TestReplayAfterCrash stops an append at each point a consumer may die (after some of
// the batch's tables, before the watermarks), then has another store (the consumer that
// takes over the log partition) append the batch again, as the pipeline does when it
// replays the log from the watermarks: the store then holds the batch once, whole, and
// every read and report shows exactly what a store that got the batch once shows.
func TestReplayAfterCrash(t *testing.T) {
	t.Parallel()
	const size = 500
	ctx := context.Background()
	first, batch := mixedAt(0, 0, 5), mixedAt(0, 10, size)

	// The reference: the same two batches, each appended once.
	ref := openTest(t)
	for _, b := range []unmogrowp.Batch{first, batch} {
		if err := ref.Append(ctx, b); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	want := readState(t, ref)

	for _, tt := range []struct {
		name string
		// crash leaves what a consumer killed at that point leaves of the batch.
		crash func(t *testing.T, s *Store)
	}{
		{"after the events", func(t *testing.T, s *Store) {
			if err := s.insert(ctx, "events", eventColumns(batch.Events)); err != nil {
				t.Fatal(err)
			}
		}},
		{"after events and touchpoints", func(t *testing.T, s *Store) {
			if err := s.insert(ctx, "events", eventColumns(batch.Events)); err != nil {
				t.Fatal(err)
			}
			if err := s.insert(ctx, "touchpoints", touchpointColumns(batch.Touchpoints)); err != nil {
				t.Fatal(err)
			}
		}},
		{"before the watermarks", func(t *testing.T, s *Store) {
			s.beforeMarks = func(context.Context) error { return errCrash }
			defer func() { s.beforeMarks = nil }()
			if err := s.Append(ctx, batch); !errors.Is(err, errCrash) {
				t.Fatalf("Append = %v, want the injected crash", err)
			}
		}},
		{"twice before the watermarks", func(t *testing.T, s *Store) {
			s.beforeMarks = func(context.Context) error { return errCrash }
			defer func() { s.beforeMarks = nil }()
			for range 2 {
				if err := s.Append(ctx, batch); !errors.Is(err, errCrash) {
					t.Fatalf("Append = %v, want the injected crash", err)
				}
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			dead := openWith(t, opts)
			if err := dead.Append(ctx, first); err != nil {
				t.Fatalf("Append: %v", err)
			}
			tt.crash(t, dead)
			// What the crash left does not move the watermark: the batch is not stored.
			if got := readState(t, dead); got.marks[0] != 9 {
				t.Fatalf("after the crash: %v; want the watermark of the first batch, 9", got)
			}

			// The consumer that takes over: a store of its own, the watermark it reads, and
			// the records above it appended again.
			next := openWith(t, opts)
			marks, err := next.Watermarks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if marks[0] != 9 {
				t.Fatalf("the next consumer reads watermark %d, want 9", marks[0])
			}
			if err := next.Append(ctx, batch); err != nil {
				t.Fatalf("replay: %v", err)
			}
			if got := readState(t, next); !got.equal(want) {
				t.Fatalf("after the replay: %v\n%s\nwant, as appended once: %v\n%s", got, got.reports, want, want.reports)
			}
			// And so it stays once the server has merged the copies away.
			for _, tbl := range []string{"events", "touchpoints", "installs", "log_watermarks"} {
				if err := next.conn.Exec(ctx, "OPTIMIZE TABLE "+tbl+" FINAL"); err != nil {
					t.Fatal(err)
				}
			}
			var raw uint64
			if err := next.conn.QueryRow(ctx, "SELECT count() FROM events").Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if got := readState(t, next); !got.equal(want) || raw != want.events {
				t.Fatalf("after merges: %v, %d events on disk; want %v", got, raw, want)
			}
		})
	}
}

// TestReplayReplaces checks that a replayed row replaces its earlier copy, which may
// differ in what the pipeline decided (here, the media source an event was stored with):
// the later copy is what every read sees.
func TestReplayReplaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	b := mixedAt(2, 100, 10)
	if err := s.insert(ctx, "events", eventColumns(b.Events)); err != nil {
		t.Fatal(err)
	}
	for i := range b.Events {
		b.Events[i].MediaSource, b.Events[i].Campaign = "replayed_net", "replayed"
	}
	if err := s.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(b.Events) {
		t.Fatalf("Events returned %d events, want %d", len(got), len(b.Events))
	}
	for i := range got {
		if d := storetest.Diff(b.Events[i], got[i]); d != "" {
			t.Errorf("event %d differs from its replayed copy: %s", i, d)
		}
	}
}

// TestConcurrentConsumers has several stores, as several consumer processes, append to
// their own log partitions at once: each partition's watermark is its own writer's, and
// every row is there once.
func TestConcurrentConsumers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := testOptions(t)
	const consumers, batches, size = 4, 10, 100
	var wg sync.WaitGroup
	errs := make(chan error, consumers)
	for c := range consumers {
		s := openWith(t, opts)
		wg.Go(func() {
			for b := range batches {
				if err := s.Append(ctx, mixedAt(int32(c), int64(b*2*size), size)); err != nil {
					errs <- fmt.Errorf("consumer %d, batch %d: %w", c, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := openWith(t, opts)
	st := readState(t, s)
	if st.events != consumers*batches*size || st.touchpoints != consumers*batches*size || st.installs != consumers*batches*size/5 {
		t.Errorf("after the consumers: %v; want %d events and touchpoints, %d installs", st,
			consumers*batches*size, consumers*batches*size/5)
	}
	for c := range int32(consumers) {
		if st.marks[c] != batches*2*size-1 {
			t.Errorf("watermark of partition %d = %d, want %d", c, st.marks[c], batches*2*size-1)
		}
	}
}
