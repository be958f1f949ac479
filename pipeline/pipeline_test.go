package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/pipeline"
)

// key names an event in the maps the tests build: event ids are unique per app.
func key(e unmogrowp.Event) string { return e.AppID + "/" + e.EventID }

// storedByKey returns the stored events by app and event id, failing on a pair stored twice.
func (e *env) storedByKey() map[string]unmogrowp.Event {
	e.t.Helper()
	events, err := e.store.Events(context.Background(), unmogrowp.EventFilter{})
	if err != nil {
		e.t.Fatalf("events: %v", err)
	}
	out := make(map[string]unmogrowp.Event, len(events))
	for _, ev := range events {
		if prev, dup := out[key(ev)]; dup {
			e.t.Errorf("%s stored twice: at offsets %d and %d", key(ev), prev.Offset, ev.Offset)
		}
		out[key(ev)] = ev
	}
	return out
}

// checkStored checks that the store holds exactly want (by app and event id, with the
// device of the event that should have won).
func (e *env) checkStored(want []unmogrowp.Event) {
	e.t.Helper()
	got := e.storedByKey()
	if len(got) != len(want) {
		e.t.Errorf("store holds %d events, want %d", len(got), len(want))
	}
	for _, w := range want {
		g, ok := got[key(w)]
		switch {
		case !ok:
			e.t.Errorf("%s not stored", key(w))
		case g.DeviceID != w.DeviceID:
			e.t.Errorf("%s stored from device %s, want the first one, %s", key(w), g.DeviceID, w.DeviceID)
		}
	}
}

func (e *env) count() int64 {
	e.t.Helper()
	n, err := e.store.CountEvents(context.Background(), unmogrowp.EventFilter{})
	if err != nil {
		e.t.Fatalf("count: %v", err)
	}
	return n
}

func TestStoresEveryEventOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	events := uniqueEvents("u", 3000)
	for i := 0; i < len(events); i += 700 {
		e.appendEvents(events[i:min(i+700, len(events))]...)
	}
	idle := prometheus.NewRegistry()
	pipeline.New(e.wal, e.dedup, e.store, pipeline.Options{Logger: quiet(), Registerer: idle})
	if got := metric(t, idle, "unmogrowp_pipeline_lag_records", ""); got != 3000 {
		t.Errorf("lag before running = %v records, want 3000", got)
	}
	r := start(t, e.wal, e.dedup, e.store, pipeline.Options{BatchSize: 500, Registerer: reg})
	r.waitRecords(t, 3000)

	got := e.storedByKey()
	if len(got) != len(events) {
		t.Fatalf("store holds %d events, want %d", len(got), len(events))
	}
	var prev int64 = -1
	for _, w := range events {
		g := got[key(w)]
		if g.DeviceID != w.DeviceID || g.EventType != w.EventType || !g.Timestamp.Equal(w.Timestamp) {
			t.Fatalf("%s stored as %+v", key(w), g)
		}
		if g.Partition != 0 || g.Offset <= prev {
			t.Fatalf("%s at %d:%d, want partition 0 after offset %d", key(w), g.Partition, g.Offset, prev)
		}
		prev = g.Offset
	}
	wm, err := e.store.Watermarks(context.Background())
	if err != nil || wm[0] != prev {
		t.Errorf("watermarks = %v, %v; want partition 0 at %d", wm, err, prev)
	}
	st := r.p.Stats()
	if st != (pipeline.Stats{Records: 3000, Stored: 3000}) {
		t.Errorf("stats = %+v", st)
	}
	if n, _ := r.p.Lag(); n != 0 {
		t.Errorf("Lag = %d records after all were committed", n)
	}
	for name, want := range map[string]float64{
		"unmogrowp_pipeline_events_stored_total": 3000,
		"unmogrowp_pipeline_duplicates_total":    0,
		"unmogrowp_pipeline_lag_records":         0,
	} {
		if got := metric(t, reg, name, ""); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := metric(t, reg, "unmogrowp_pipeline_batch_seconds", ""); got < 6 {
		t.Errorf("batch_seconds has %v observations, want at least 6 batches of 500", got)
	}
	if err := r.p.Run(context.Background()); !errors.Is(err, pipeline.ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
}

func TestDuplicatesStoredOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	a1 := event("app-a", "a1", "first", 1)
	a2 := event("app-a", "a2", "first", 2)
	a3 := event("app-a", "a3", "first", 3)
	again := func(ev unmogrowp.Event, device string) unmogrowp.Event { ev.DeviceID = device; return ev }

	// In one batch: the first of each id wins.
	r := start(t, e.wal, e.dedup, e.store, pipeline.Options{Registerer: reg})
	e.appendEvents(a1, a2, again(a1, "second"), a3, again(a2, "second"), again(a1, "third"))
	r.waitRecords(t, 6)
	e.checkStored([]unmogrowp.Event{a1, a2, a3})

	// Across batches, and the same id in another app, which is another event.
	a4 := event("app-a", "a4", "first", 4)
	b1 := event("app-b", "a1", "first", 5)
	e.appendEvents(again(a3, "second"), a4, b1)
	r.waitRecords(t, 9)
	e.checkStored([]unmogrowp.Event{a1, a2, a3, a4, b1})
	if st := r.p.Stats(); st.Stored != 5 || st.Duplicates != 4 {
		t.Errorf("stats = %+v, want 5 stored and 4 duplicates", st)
	}
	if got := metric(t, reg, "unmogrowp_pipeline_duplicates_total", ""); got != 4 {
		t.Errorf("duplicates_total = %v, want 4", got)
	}

	// Across a restart.
	r.stop(t)
	e.reopen()
	r = start(t, e.wal, e.dedup, e.store, pipeline.Options{})
	a5 := event("app-a", "a5", "first", 6)
	e.appendEvents(again(a2, "after-restart"), a5, again(b1, "after-restart"))
	r.waitRecords(t, 3)
	e.checkStored([]unmogrowp.Event{a1, a2, a3, a4, b1, a5})
	if st := r.p.Stats(); st.Stored != 1 || st.Duplicates != 2 {
		t.Errorf("stats after restart = %+v, want 1 stored and 2 duplicates", st)
	}
}

func TestEventWithoutIDIsKept(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := start(t, e.wal, e.dedup, e.store, pipeline.Options{})
	e.appendEvents(event("app-a", "", "d1", 1), event("app-a", "", "d2", 2), event("app-a", "x", "d3", 3))
	r.waitRecords(t, 3)
	if n := e.count(); n != 3 {
		t.Errorf("stored %d events, want 3 (events without an id cannot be deduplicated)", n)
	}
}

// TestCrashBeforeCommit stores batches whose log commit never happens, then restarts
// everything on the same directories: the log replays all of them, and the watermarks
// keep the store from taking any twice.
func TestCrashBeforeCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := uniqueEvents("c", 1000)
	dup := events[0]
	dup.DeviceID = "duplicate"
	e.appendEvents(events...)
	e.appendEvents(dup) // a duplicate above the watermark: claimed again on replay, still dropped

	reader := &noCommit{LogReader: e.wal}
	r := start(t, reader, e.dedup, e.store, pipeline.Options{BatchSize: 300})
	r.waitRecords(t, 1001)
	r.stop(t)
	if st := r.p.Stats(); st.Stored != 1000 || st.Duplicates != 1 || reader.attempts.Load() == 0 {
		t.Fatalf("first run: stats %+v after %d commits, want 1000 stored, 1 duplicate and some commits", st, reader.attempts.Load())
	}
	e.reopen()
	if n, _ := e.wal.Lag(); n != 1001 {
		t.Fatalf("log lag after reopen = %d, want all 1001 records uncommitted", n)
	}

	counted := &flakyDedup{Deduplicator: e.dedup, fail: func(int) bool { return false }}
	r = start(t, e.wal, counted, e.store, pipeline.Options{BatchSize: 300})
	r.waitRecords(t, 1001)
	e.checkStored(events)
	st := r.p.Stats()
	if st.Stored != 0 || st.Duplicates != 1 || st.AlreadyStored != 1000 {
		t.Errorf("stats after restart = %+v, want 0 stored, 1 duplicate, 1000 already stored", st)
	}
	if n := counted.claims.Load(); n != 1 {
		t.Errorf("%d claims after restart, want 1: records at or below the watermark are not claimed", n)
	}

	// The log moves on: new events still flow.
	more := uniqueEvents("m", 10)
	e.appendEvents(more...)
	r.waitRecords(t, 1011)
	e.checkStored(append(events, more...))
}

// redeliver is a log reader that hands out every batch twice, as a Kafka consumer does
// after a rebalance: the copy must not be stored again. Like a real reader it hands out
// records of its own each time (the pipeline drops their values once decoded).
type redeliver struct {
	unmogrowp.LogReader
	again []unmogrowp.Record
}

func (r *redeliver) Read(ctx context.Context, max int) ([]unmogrowp.Record, error) {
	if r.again != nil {
		recs := r.again
		r.again = nil
		return recs, nil
	}
	recs, err := r.LogReader.Read(ctx, max)
	r.again = slices.Clone(recs)
	return recs, err
}

func TestRedeliveredRecordsStoredOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := uniqueEvents("k", 400)
	e.appendEvents(events...)
	r := start(t, &redeliver{LogReader: e.wal}, e.dedup, e.store, pipeline.Options{BatchSize: 100})
	waitFor(t, "redelivered records processed", func() bool { return r.p.Stats().AlreadyStored >= 400 })
	e.checkStored(events)
	if st := r.p.Stats(); st.Stored != 400 || st.Duplicates != 0 {
		t.Errorf("stats = %+v, want 400 stored, none counted as duplicates", st)
	}
}

// TestCrashAfterClaimBeforeStore claims batches whose store write never happens, then
// restarts: the replayed records are the ones that claimed their ids, so they are stored,
// once.
func TestCrashAfterClaimBeforeStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := uniqueEvents("s", 500)
	dup := events[7]
	dup.DeviceID = "duplicate"
	e.appendEvents(append(events, dup)...)

	broken := &flakyStore{EventStore: e.store, fail: func(int) bool { return true }}
	claims := &flakyDedup{Deduplicator: e.dedup, fail: func(int) bool { return false }}
	r := start(t, e.wal, claims, broken, pipeline.Options{})
	waitFor(t, "store writes failing after the claims", func() bool {
		broken.mu.Lock()
		defer broken.mu.Unlock()
		return broken.failures >= 2 && claims.calls.Load() >= 1
	})
	r.stop(t)
	if n := e.count(); n != 0 {
		t.Fatalf("%d events stored through a store that always fails", n)
	}
	e.reopen()

	r = start(t, e.wal, e.dedup, e.store, pipeline.Options{})
	r.waitRecords(t, 501)
	e.checkStored(events)
	if st := r.p.Stats(); st.Stored != 500 || st.Duplicates != 1 {
		t.Errorf("stats = %+v, want 500 stored and 1 duplicate", st)
	}
}

func TestStoreFailureRetried(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		commit bool // the failed write did reach the store
	}{
		{"WriteLost", false},
		{"WriteCommittedButReportedFailed", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			reg := prometheus.NewRegistry()
			events := uniqueEvents("r", 200)
			e.appendEvents(events...)
			flaky := &flakyStore{EventStore: e.store, fail: func(call int) bool { return call == 1 }, commit: tt.commit}
			r := start(t, e.wal, e.dedup, flaky, pipeline.Options{Registerer: reg})
			r.waitRecords(t, 200)
			e.checkStored(events)
			flaky.mu.Lock()
			if flaky.failures != 1 {
				t.Errorf("store failed %d times, want 1", flaky.failures)
			}
			flaky.mu.Unlock()
			if got := metric(t, reg, "unmogrowp_pipeline_events_stored_total", ""); got != 200 {
				t.Errorf("events_stored_total = %v, want 200", got)
			}
			more := uniqueEvents("n", 5)
			e.appendEvents(more...)
			r.waitRecords(t, 205)
			e.checkStored(append(events, more...))
		})
	}
}

func TestDedupFailureRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	events := uniqueEvents("d", 100)
	e.appendEvents(append(events, events[3])...)
	flaky := &flakyDedup{Deduplicator: e.dedup, fail: func(call int) bool { return call <= 2 }}
	r := start(t, e.wal, flaky, e.store, pipeline.Options{Registerer: reg})
	r.waitRecords(t, 101)
	e.checkStored(events)
	if st := r.p.Stats(); st.Stored != 100 || st.Duplicates != 1 {
		t.Errorf("stats = %+v", st)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var retries float64
	for _, f := range families {
		if f.GetName() == "unmogrowp_pipeline_retries_total" {
			for _, m := range f.GetMetric() {
				retries += m.GetCounter().GetValue()
			}
		}
	}
	if retries != 2 {
		t.Errorf("retries_total = %v, want 2", retries)
	}
}

func TestCorruptRecordSkipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	good := uniqueEvents("g", 3)
	e.appendEvents(good[0])
	valid := unmogrowp.EncodeEventRecord(nil, &good[1])
	e.appendRaw("app-0",
		[]byte{0xFF, 1, 2, 3},          // unknown record kind
		valid[:len(valid)-3],           // truncated event
		append(slices.Clone(valid), 0), // trailing byte
		[]byte{},                       // empty
	)
	e.appendEvents(good[1], good[2])
	r := start(t, e.wal, e.dedup, e.store, pipeline.Options{Registerer: reg})
	r.waitRecords(t, 7)
	e.checkStored(good)
	if st := r.p.Stats(); st.Corrupt != 4 || st.Stored != 3 {
		t.Errorf("stats = %+v, want 4 corrupt and 3 stored", st)
	}
	if got := metric(t, reg, "unmogrowp_pipeline_records_skipped_total", "corrupt"); got != 4 {
		t.Errorf(`records_skipped_total{reason="corrupt"} = %v, want 4`, got)
	}
}

// stageFunc is a Stage whose Prepare is a function and whose Stored does nothing.
type stageFunc func(ctx context.Context, b *unmogrowp.Batch) error

func (f stageFunc) Prepare(ctx context.Context, b *unmogrowp.Batch) error { return f(ctx, b) }
func (f stageFunc) Stored(context.Context, *unmogrowp.Batch) error        { return nil }

func TestStageSeesNewEventsInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var (
		mu    sync.Mutex
		calls [][]string
	)
	enrich := func(_ context.Context, b *unmogrowp.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		events := b.Events
		ids := make([]string, len(events))
		for i := range events {
			ids[i] = events[i].EventID
			events[i].MediaSource, events[i].Campaign = "net-"+events[i].EventID, "camp"
		}
		calls = append(calls, ids)
		if len(calls) == 1 {
			return errors.New("attribution engine busy (test)")
		}
		return nil
	}
	a, b, c := event("app-a", "a", "d", 1), event("app-a", "b", "d", 2), event("app-a", "c", "d", 3)
	dupA := a
	dupA.DeviceID = "dup"
	e.appendEvents(a, b, dupA, c)
	r := start(t, e.wal, e.dedup, e.store, pipeline.Options{Stage: stageFunc(enrich)})
	r.waitRecords(t, 4)

	mu.Lock()
	got := fmt.Sprint(calls)
	mu.Unlock()
	if want := "[[a b c] [a b c]]"; got != want {
		t.Errorf("Prepare calls = %s, want %s (one failure, then the same events again)", got, want)
	}
	stored := e.storedByKey()
	for _, id := range []string{"a", "b", "c"} {
		if s := stored["app-a/"+id]; s.MediaSource != "net-"+id || s.Campaign != "camp" {
			t.Errorf("event %s stored with media source %q, campaign %q", id, s.MediaSource, s.Campaign)
		}
	}
}

// stopDuringAppend wraps a store: its first Append writes the batch, then stops the run
// (calls stop) before returning, as a shutdown signal that arrives while a batch is being
// written.
type stopDuringAppend struct {
	unmogrowp.EventStore
	stop atomic.Pointer[context.CancelFunc]
	once sync.Once
}

func (s *stopDuringAppend) Append(ctx context.Context, b unmogrowp.Batch) error {
	err := s.EventStore.Append(ctx, b)
	if err == nil {
		s.once.Do(func() { (*s.stop.Load())() })
	}
	return err
}

// TestStopWhileStoring stops the run while a batch is being written: the batch must still
// reach the hot state and be committed on the log, since a restart skips what the store
// holds and Redis is not rebuilt from it.
func TestStopWhileStoring(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	hot := inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
	defer hot.Close()
	stage := pipeline.NewAttributor(defaultSettings{}, hot, e.store, pipeline.AttributorOptions{Logger: quiet()})
	store := &stopDuringAppend{EventStore: e.store}
	r := start(t, e.wal, e.dedup, store, pipeline.Options{BatchSize: 100, Stage: stage})
	cancel := r.cancel
	store.stop.Store(&cancel)

	installs := uniqueEvents("i", 50)
	for i := range installs {
		installs[i].EventType = unmogrowp.EventInstall
	}
	e.appendEvents(installs...)
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		r.cancel = nil
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the stop")
	}
	for _, in := range installs {
		if _, ok, err := hot.Device(ctx, in.AppID, in.DeviceID); err != nil || !ok {
			t.Fatalf("device %s: not in the hot state (err %v): the stored batch was not applied", in.DeviceID, err)
		}
	}
	if n, _ := e.wal.Lag(); n != 0 {
		t.Errorf("log lag after the stop = %d, want 0: the stored batch was not committed", n)
	}
}

// forgetStored is an Attributor whose Stored does nothing: with a log whose commits do
// nothing too, a run through it is a process that crashed after each store write, before
// the hot state learned the batch.
type forgetStored struct{ *pipeline.Attributor }

func (forgetStored) Stored(context.Context, *unmogrowp.Batch) error { return nil }

// TestHotStateCatchesUpAfterCrash crashes a run between the store write and the hot
// state's, then restarts on the same hot state, as a consumer restarted on Redis does (the
// restart skips what the store holds; Redis is not rebuilt from it). The restart must hand
// the hot state the stored batch without storing it again: a later purchase of the
// installed device takes its attribution, and a later install matches the stored click.
func TestHotStateCatchesUpAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	hot := inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
	defer hot.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	click := unmogrowp.Touchpoint{ID: "tp-1", AppID: "app", Type: unmogrowp.TouchClick, MediaSource: "net_a",
		Campaign: "spring", GAID: "0000aaaa-0000-4000-8000-000000000001", Time: now.Add(-time.Hour), ReceivedAt: now.Add(-time.Hour)}
	install := unmogrowp.Event{EventID: "i-1", AppID: "app", EventType: unmogrowp.EventInstall, DeviceID: "dev-1",
		GAID: click.GAID, Platform: unmogrowp.PlatformAndroid, Timestamp: now.Add(-30 * time.Minute), ReceivedAt: now.Add(-30 * time.Minute)}
	e.appendRaw("app", unmogrowp.EncodeTouchpointRecord(nil, &click))
	e.appendEvents(install)

	crashed := forgetStored{pipeline.NewAttributor(defaultSettings{}, hot, e.store, pipeline.AttributorOptions{Logger: quiet()})}
	r := start(t, &noCommit{LogReader: e.wal}, e.dedup, e.store, pipeline.Options{Stage: crashed})
	waitFor(t, "the batch stored", func() bool { return r.p.Stats().Stored == 1 })
	r.stop(t)
	if _, ok, _ := hot.Device(ctx, "app", "dev-1"); ok {
		t.Fatal("the crashed run's hot state knows the device")
	}
	stored, err := e.store.Attribution(ctx, "app", "dev-1")
	if err != nil || stored.MediaSource != "net_a" {
		t.Fatalf("stored attribution %+v, %v; want net_a", stored, err)
	}

	e.reopen()
	stage := pipeline.NewAttributor(defaultSettings{}, hot, e.store, pipeline.AttributorOptions{Logger: quiet()})
	r = start(t, e.wal, e.dedup, e.store, pipeline.Options{Stage: stage})
	purchase := install
	purchase.EventID, purchase.EventType, purchase.Timestamp = "p-1", "purchase", now.Add(-10*time.Minute)
	other := unmogrowp.Event{EventID: "i-2", AppID: "app", EventType: unmogrowp.EventInstall, DeviceID: "dev-2",
		InstallReferrer: "click_id=tp-1", Platform: unmogrowp.PlatformAndroid, Timestamp: now.Add(-5 * time.Minute), ReceivedAt: now}
	e.appendEvents(purchase, other)
	r.waitRecords(t, 4)
	if st := r.p.Stats(); st.Stored != 2 || st.AlreadyStored != 2 {
		t.Errorf("restart stats %+v, want 2 stored and 2 already stored", st)
	}
	if got, ok, err := hot.Device(ctx, "app", "dev-1"); err != nil || !ok || got.MediaSource != "net_a" {
		t.Errorf("hot state's device after the restart: %+v, %v, %v; want net_a", got, ok, err)
	}
	events := e.stored()
	if len(events) != 3 {
		t.Errorf("%d events stored, want 3: the install once, the purchase and the second install", len(events))
	}
	if got := events["p-1"].MediaSource; got != "net_a" {
		t.Errorf("the purchase after the restart is tagged %q, want net_a", got)
	}
	second, err := e.store.Attribution(ctx, "app", "dev-2")
	if err != nil || second.MediaSource != "net_a" || second.TouchpointID != "tp-1" {
		t.Errorf("second install's attribution %+v, %v; want net_a by tp-1", second, err)
	}
	installs, _, err := e.store.Installs(ctx, unmogrowp.InstallFilter{AppID: "app"})
	if err != nil || len(installs) != 2 {
		t.Errorf("%d install decisions stored (%v), want 2", len(installs), err)
	}
}

// burstReader is a log reader whose Lag the test sets: a burst of ingestion is a lag that
// grows by step at every call, its oldest record age old.
type burstReader struct {
	unmogrowp.LogReader
	mu   sync.Mutex
	lag  int64
	step int64
	age  time.Duration
}

func (r *burstReader) Lag() (int64, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lag += r.step
	return r.lag, r.age
}

func (r *burstReader) set(lag, step int64, age time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lag, r.step, r.age = lag, step, age
}

// TestYieldToIngestion checks Options.YieldLimit: while the log takes records in faster
// than the pipeline processes them, the pipeline waits; it goes on when the burst ends, or
// when its oldest record is YieldLimit old.
func TestYieldToIngestion(t *testing.T) {
	e := newEnv(t)
	reader := &burstReader{LogReader: e.wal}
	reg := prometheus.NewRegistry()
	r := start(t, reader, e.dedup, e.store, pipeline.Options{BatchSize: 100, Linger: -1, YieldLimit: time.Minute, Registerer: reg})
	e.appendEvents(uniqueEvents("first", 100)...) // one full batch: the pipeline learns its rate
	r.waitRecords(t, 100)

	// A burst: the lag grows by a million records at every look, the oldest a second old.
	reader.set(1000, 1_000_000, time.Second)
	more := uniqueEvents("burst", 300)
	e.appendEvents(more...)
	time.Sleep(500 * time.Millisecond)
	if n := r.p.Stats().Records; n > 200 {
		t.Fatalf("%d records committed during the burst, want at most 200 (the batches in hand)", n)
	}

	reader.set(1000, 0, time.Second) // the burst ends: the lag stops growing
	r.waitRecords(t, 400)
	if y := metric(t, reg, "unmogrowp_pipeline_yield_seconds_total", ""); y < 0.3 {
		t.Errorf("yielded %.2f s, want at least the 0.5 s of the burst", y)
	}

	// A burst that goes on, the oldest record past the limit: the pipeline goes on.
	reader.set(1000, 1_000_000, time.Minute)
	e.appendEvents(uniqueEvents("late", 300)...)
	r.waitRecords(t, 700)
	e.checkStored(append(append(uniqueEvents("first", 100), more...), uniqueEvents("late", 300)...))
}
