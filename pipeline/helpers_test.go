package pipeline_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/pebble"
	"github.com/unmogrowp/unmogrowp/pipeline"
	"github.com/unmogrowp/unmogrowp/wal"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// env is the three real backends of a pipeline, in directories that survive a reopen.
type env struct {
	t                      testing.TB
	walDir, dedupDir, dbFn string

	wal   *wal.WAL
	dedup *pebble.Dedup
	store *duckdb.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, walDir: filepath.Join(dir, "wal"), dedupDir: filepath.Join(dir, "dedup"),
		dbFn: filepath.Join(dir, "events.duckdb")}
	e.open()
	t.Cleanup(e.close)
	return e
}

// open opens the backends on the env's directories.
func (e *env) open() {
	e.t.Helper()
	var err error
	if e.wal, err = wal.Open(context.Background(), e.walDir, wal.Options{Logger: quiet()}); err != nil {
		e.t.Fatalf("open wal: %v", err)
	}
	if e.dedup, err = pebble.Open(e.dedupDir, pebble.Options{Logger: quiet(), SweepInterval: -1}); err != nil {
		e.t.Fatalf("open dedup: %v", err)
	}
	if e.store, err = duckdb.Open(context.Background(), e.dbFn, duckdb.Options{Logger: quiet(), MemoryLimit: "512MB"}); err != nil {
		e.t.Fatalf("open duckdb: %v", err)
	}
}

// close closes the backends; calling it twice is harmless.
func (e *env) close() {
	e.t.Helper()
	for name, c := range map[string]interface{ Close() error }{"wal": e.wal, "dedup": e.dedup, "duckdb": e.store} {
		if err := c.Close(); err != nil {
			e.t.Errorf("close %s: %v", name, err)
		}
	}
}

// reopen closes and opens the backends, as a restarted process would.
func (e *env) reopen() {
	e.t.Helper()
	e.close()
	e.open()
}

// appendEvents appends events to the log in order, in one Append under the first event's
// app (the embedded log has one partition, so the key does not matter here).
func (e *env) appendEvents(events ...unmogrowp.Event) {
	e.t.Helper()
	values := make([][]byte, len(events))
	for i := range events {
		values[i] = unmogrowp.EncodeEventRecord(nil, &events[i])
	}
	e.appendRaw(events[0].AppID, values...)
}

// appendRaw appends raw record values.
func (e *env) appendRaw(key string, values ...[]byte) {
	e.t.Helper()
	if err := e.wal.Append(context.Background(), key, values); err != nil {
		e.t.Fatalf("append: %v", err)
	}
}

// stored returns the stored events by event id; it fails on an id stored twice.
func (e *env) stored() map[string]unmogrowp.Event {
	e.t.Helper()
	events, err := e.store.Events(context.Background(), unmogrowp.EventFilter{})
	if err != nil {
		e.t.Fatalf("events: %v", err)
	}
	byID := make(map[string]unmogrowp.Event, len(events))
	for _, ev := range events {
		if prev, dup := byID[ev.EventID]; dup {
			e.t.Errorf("event %s stored twice: at %d:%d and %d:%d", ev.EventID, prev.Partition, prev.Offset, ev.Partition, ev.Offset)
		}
		byID[ev.EventID] = ev
	}
	return byID
}

// runner is a pipeline running in the background.
type runner struct {
	p      *pipeline.Pipeline
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, r unmogrowp.LogReader, d unmogrowp.Deduplicator, s unmogrowp.EventStore, opts pipeline.Options) *runner {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	if opts.RetryMin == 0 {
		opts.RetryMin, opts.RetryMax = time.Millisecond, 20*time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &runner{p: pipeline.New(r, d, s, opts), cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- run.p.Run(ctx) }()
	t.Cleanup(func() { run.stop(t) })
	return run
}

// stop cancels Run and waits for it; calling it twice is harmless.
func (r *runner) stop(t testing.TB) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// waitFor waits until cond holds, failing after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitRecords waits until the pipeline has committed n records.
func (r *runner) waitRecords(t testing.TB, n int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d records committed", n), func() bool { return r.p.Stats().Records >= n })
}

// event returns a small valid event of app with id, received at a fixed time plus i
// seconds; device tells apart two events that share an id.
func event(app, id, device string, i int) unmogrowp.Event {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return unmogrowp.Event{EventID: id, AppID: app, EventType: unmogrowp.EventSession,
		DeviceID: device, Platform: unmogrowp.PlatformIOS, Timestamp: at, ReceivedAt: at}
}

// uniqueEvents returns n events with distinct ids over three apps.
func uniqueEvents(prefix string, n int) []unmogrowp.Event {
	out := make([]unmogrowp.Event, n)
	for i := range out {
		out[i] = event(fmt.Sprintf("app-%d", i%3), fmt.Sprintf("%s-%05d", prefix, i), fmt.Sprintf("dev-%d", i), i)
	}
	return out
}

// noCommit is a log reader whose Commit does nothing: every batch is processed as if
// the process crashed after storing it and before its commit reached the log.
type noCommit struct {
	unmogrowp.LogReader
	attempts atomic.Int64
}

func (n *noCommit) Commit(context.Context, []unmogrowp.Record) error {
	n.attempts.Add(1)
	return nil
}

// flakyStore wraps a store: Append fails while fail says so, optionally after
// writing the batch (an ambiguous failure).
type flakyStore struct {
	unmogrowp.EventStore
	mu       sync.Mutex
	fail     func(call int) bool
	commit   bool // write the batch before failing
	calls    int
	failures int
}

func (f *flakyStore) Append(ctx context.Context, b unmogrowp.Batch) error {
	f.mu.Lock()
	f.calls++
	fail := f.fail(f.calls)
	if fail {
		f.failures++
	}
	f.mu.Unlock()
	if !fail {
		return f.EventStore.Append(ctx, b)
	}
	if f.commit {
		if err := f.EventStore.Append(ctx, b); err != nil {
			return err
		}
	}
	return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "store write failed (test)")
}

// flakyDedup wraps a deduplicator whose Claim fails on the calls fail picks; it counts
// the calls and the claims passed.
type flakyDedup struct {
	unmogrowp.Deduplicator
	fail   func(call int) bool
	calls  atomic.Int64
	claims atomic.Int64
}

func (f *flakyDedup) Claim(ctx context.Context, claims []unmogrowp.Claim) ([]bool, error) {
	f.claims.Add(int64(len(claims)))
	if f.fail(int(f.calls.Add(1))) {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "dedup unavailable (test)")
	}
	return f.Deduplicator.Claim(ctx, claims)
}

// metric returns the value of the counter or gauge name (with label reason when not "")
// from reg.
func metric(t testing.TB, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := reason == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					match = true
				}
			}
			if !match {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("metric %s{reason=%q} not found", name, reason)
	return 0
}

// devicesAtOnce is the in-process hot state made a pipeline.DevicesReader, as package
// redis's is, and without its CandidateSets: the Attributor then reads each batch's
// devices before its walk and each install's candidates as it meets it, and its answers
// must not change.
type devicesAtOnce struct {
	unmogrowp.HotState
	calls *atomic.Int64 // of Devices
}

// Devices answers for each device what Device does.
func (d devicesAtOnce) Devices(ctx context.Context, appID string, deviceIDs []string) ([]unmogrowp.Install, []bool, error) {
	d.calls.Add(1)
	installs, found := make([]unmogrowp.Install, len(deviceIDs)), make([]bool, len(deviceIDs))
	for i, id := range deviceIDs {
		var err error
		if installs[i], found[i], err = d.Device(ctx, appID, id); err != nil {
			return nil, nil, err
		}
	}
	return installs, found, nil
}

// setsAtOnce is the in-process hot state, whose CandidateSets it counts.
type setsAtOnce struct {
	*inmem.State
	calls *atomic.Int64 // of CandidateSets
}

// CandidateSets is the State's.
func (s setsAtOnce) CandidateSets(ctx context.Context, appID string, keys []string, dst []unmogrowp.Touchpoint) ([]unmogrowp.Touchpoint, [][]int32, error) {
	s.calls.Add(1)
	return s.State.CandidateSets(ctx, appID, keys, dst)
}

// hotState returns hot as a pipeline.DevicesReader without CandidateSets when many, else
// as itself (a pipeline.CandidateSetsReader), and the count of its Devices or its
// CandidateSets calls.
func hotState(hot *inmem.State, many bool) (unmogrowp.HotState, *atomic.Int64) {
	calls := &atomic.Int64{}
	if many {
		return devicesAtOnce{hot, calls}, calls
	}
	return setsAtOnce{hot, calls}, calls
}
