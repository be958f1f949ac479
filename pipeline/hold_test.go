package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/pipeline"
)

// crashingHolder is the DuckDB store whose CommitHeld, once crashed is set, fails without
// committing: as if the process died with the transaction open. It counts the events
// written into held transactions, each AppendHeld delay slower than DuckDB's. It holds
// only (it is no StagingStore); crashingStager stages too.
type crashingHolder struct {
	pipeline.HoldingStore
	delay   time.Duration
	crashed atomic.Bool
	held    atomic.Int64
}

// crashingStager is a crashingHolder that also stages, counting the events staged as
// held.
type crashingStager struct {
	*crashingHolder
	store *duckdb.Store
}

func (c *crashingStager) AppendStaged(ctx context.Context, b unmogrowp.Batch) error {
	return c.write(ctx, b, c.store.AppendStaged)
}

// holders returns the store of e as a crashingHolder, and as what the pipeline gets:
// the holder, or a crashingStager when staged.
func holders(e *env, delay time.Duration, staged bool) (*crashingHolder, pipeline.HoldingStore) {
	h := &crashingHolder{HoldingStore: e.store, delay: delay}
	if staged {
		return h, &crashingStager{h, e.store}
	}
	return h, h
}

func (c *crashingHolder) AppendHeld(ctx context.Context, b unmogrowp.Batch) error {
	return c.write(ctx, b, c.HoldingStore.AppendHeld)
}

// write writes b with appendBatch, delay slower, and counts its events as held.
func (c *crashingHolder) write(ctx context.Context, b unmogrowp.Batch, appendBatch func(context.Context, unmogrowp.Batch) error) error {
	time.Sleep(c.delay)
	if err := appendBatch(ctx, b); err != nil {
		return err
	}
	c.held.Add(int64(len(b.Events)))
	return nil
}

func (c *crashingHolder) CommitHeld(ctx context.Context) error {
	if c.crashed.Load() {
		return errors.New("crashed (test)")
	}
	return c.HoldingStore.CommitHeld(ctx)
}

// heldTraffic returns the installs of devices devices, then rounds of their session
// events, and copies of earlier events (new offsets, same ids) among them: decisions and
// dedup that span batches. It returns the records and the number of distinct events.
func heldTraffic(devices, rounds int) ([]unmogrowp.Event, int) {
	var out []unmogrowp.Event
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	for d := range devices {
		e := unmogrowp.Event{EventID: fmt.Sprintf("i-%d", d), AppID: "app", EventType: unmogrowp.EventInstall,
			DeviceID: fmt.Sprintf("dev-%d", d), Platform: unmogrowp.PlatformAndroid, Timestamp: at, ReceivedAt: at}
		out = append(out, e)
	}
	for r := range rounds {
		for d := range devices {
			at = at.Add(time.Second)
			e := unmogrowp.Event{EventID: fmt.Sprintf("s-%d-%d", d, r), AppID: "app", EventType: unmogrowp.EventSession,
				DeviceID: fmt.Sprintf("dev-%d", d), Platform: unmogrowp.PlatformAndroid, Timestamp: at, ReceivedAt: at}
			out = append(out, e)
		}
	}
	distinct := len(out)
	for i := 0; i < distinct; i += 6 {
		out = append(out, out[i]) // a client's retry, later in the log
	}
	return out, distinct
}

// TestCrashWithHeldTransaction crashes a run whose store transaction holds several
// batches (Options.HoldRows), none of them or only the last ones uncommitted, then
// restarts as `unmogrowp serve` does (the in-process hot state rebuilt from the store):
// every event is stored once, duplicates included, and every device has one install
// decision. The dedup claims the crashed run made for the lost batches must answer true
// again on the replay, and its hot state must not outlive it.
func TestCrashWithHeldTransaction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		holdRows int
		staged   bool
	}{{"nothing-committed", 1 << 20, false}, {"last-batches-lost", 50, false}, {"staged-nothing-committed", 1 << 20, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			const devices = 12
			events, distinct := heldTraffic(devices, 9)
			e.appendEvents(events...)

			hot := inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
			store, holding := holders(e, 0, tc.staged)
			cancel, done := runHeld(e, holding, hot, 10, tc.holdRows)
			waitFor(t, "every distinct event written into a transaction", func() bool { return store.held.Load() >= int64(distinct) })
			visible := len(e.stored())
			switch {
			case tc.staged && tc.holdRows > distinct && visible != distinct:
				t.Errorf("%d events visible, all staged, want %d", visible, distinct)
			case !tc.staged && tc.holdRows > distinct && visible != 0:
				t.Errorf("%d events visible while their transaction is open, want 0", visible)
			case !tc.staged && tc.holdRows < distinct && (visible == 0 || visible >= distinct):
				t.Errorf("%d events visible before the crash, want some committed and some held", visible)
			}
			store.crashed.Store(true)
			cancel()
			if err := <-done; !errors.Is(err, pipeline.ErrHeldLost) {
				t.Errorf("Run after its held commit failed: %v, want ErrHeldLost", err)
			}
			hot.Close()

			e.reopen() // the held transaction is rolled back, the stage lost; the log keeps its records
			if tc.staged {
				visible = len(e.stored()) // staged rows were visible, not committed
			} else if got := len(e.stored()); got != visible {
				t.Fatalf("%d events after the crash, want the %d committed before it", got, visible)
			}
			hot = inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
			defer hot.Close()
			if _, _, err := pipeline.RestoreHotState(ctx, e.store, hot, time.Time{}); err != nil {
				t.Fatal(err)
			}
			stage := pipeline.NewAttributor(defaultSettings{}, hot, e.store, pipeline.AttributorOptions{Logger: quiet()})
			r := start(t, e.wal, e.dedup, e.store, pipeline.Options{Stage: stage, BatchSize: 10, HoldRows: tc.holdRows, HoldFor: 20 * time.Millisecond})
			waitFor(t, "the log committed", func() bool {
				n, _ := e.wal.Lag()
				return n == 0
			})
			r.stop(t)
			stored := e.stored() // fails on an event stored twice
			if len(stored) != distinct {
				t.Errorf("%d events stored, want %d", len(stored), distinct)
			}
			installs, _, err := e.store.Installs(ctx, unmogrowp.InstallFilter{AppID: "app"})
			if err != nil || len(installs) != devices {
				t.Errorf("%d install decisions stored (%v), want %d: one per device", len(installs), err, devices)
			}
			// The copies are at the end of the log, past what either crashed run committed.
			if st := r.p.Stats(); st.Duplicates != int64(len(events)-distinct) || st.Stored != int64(distinct-visible) {
				t.Errorf("restart stats %+v, want %d duplicates and %d stored", st, len(events)-distinct, distinct-visible)
			}
		})
	}
}

// runHeld starts a pipeline over e's log that holds transactions of holdRows events in
// store (HoldFor an hour), deciding on hot, and returns how to stop it and what Run
// returned.
func runHeld(e *env, store pipeline.HoldingStore, hot *inmem.State, batchSize, holdRows int) (context.CancelFunc, <-chan error) {
	stage := pipeline.NewAttributor(defaultSettings{}, hot, store, pipeline.AttributorOptions{Logger: quiet()})
	p := pipeline.New(e.wal, e.dedup, store, pipeline.Options{Logger: quiet(), Stage: stage, BatchSize: batchSize,
		HoldRows: holdRows, HoldFor: time.Hour, RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return cancel, done
}

// TestStopStoresWhatTheStageLearned stops a run whose third stage writes more slowly than
// the second decides: the hot state learns each batch before the store gets it, so a stop
// must store and commit every batch it learned. After the stop, the store's install
// decisions are exactly the devices the hot state knows, and a run on the same hot state
// (as a pipeline restarted within the process) finishes the log with every event stored
// once and one decision per device.
func TestStopStoresWhatTheStageLearned(t *testing.T) {
	t.Parallel()
	for _, staged := range []bool{false, true} {
		t.Run(fmt.Sprintf("staged=%v", staged), func(t *testing.T) {
			t.Parallel()
			testStopStoresWhatTheStageLearned(t, staged)
		})
	}
}

func testStopStoresWhatTheStageLearned(t *testing.T, staged bool) {
	ctx := context.Background()
	e := newEnv(t)
	const devices = 60
	events, distinct := heldTraffic(devices, 4)
	e.appendEvents(events...)

	hot := inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
	defer hot.Close()
	// The third stage writes more slowly than the second decides.
	store, holding := holders(e, 3*time.Millisecond, staged)
	cancel, done := runHeld(e, holding, hot, 5, 1<<20)
	waitFor(t, "some devices' installs written", func() bool { return store.held.Load() >= devices/2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after a stop: %v, want nil", err)
	}
	if got := len(e.stored()); int64(got) != store.held.Load() {
		t.Errorf("%d events visible after the stop, want the %d written: every held batch committed", got, store.held.Load())
	}
	installs, _, err := e.store.Installs(ctx, unmogrowp.InstallFilter{AppID: "app"})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, in := range installs {
		stored[in.DeviceID] = true
	}
	learned := 0
	for d := range devices {
		id := fmt.Sprintf("dev-%d", d)
		_, known, err := hot.Device(ctx, "app", id)
		if err != nil {
			t.Fatal(err)
		}
		if known {
			learned++
		}
		if known != stored[id] {
			t.Errorf("device %s: known to the hot state %v, install stored %v", id, known, stored[id])
		}
	}
	if learned == 0 || learned == devices {
		t.Errorf("the stop came after %d of %d devices' installs, want some", learned, devices)
	}

	e.reopen() // the log is read again from its last commit, the hot state kept
	r := start(t, e.wal, e.dedup, e.store, pipeline.Options{Stage: pipeline.NewAttributor(defaultSettings{}, hot, e.store,
		pipeline.AttributorOptions{Logger: quiet()}), BatchSize: 5, HoldRows: 1 << 20, HoldFor: 20 * time.Millisecond})
	waitFor(t, "the log committed", func() bool {
		n, _ := e.wal.Lag()
		return n == 0
	})
	r.stop(t)
	if got := len(e.stored()); got != distinct { // e.stored fails on an event stored twice
		t.Errorf("%d events stored, want %d", got, distinct)
	}
	if installs, _, err = e.store.Installs(ctx, unmogrowp.InstallFilter{AppID: "app"}); err != nil || len(installs) != devices {
		t.Errorf("%d install decisions stored (%v), want %d: one per device", len(installs), err, devices)
	}
}

// TestUnseenCountsWhatIsNotVisible checks Unseen against Lag: batches written to the stage
// are visible at once, so Unseen drops to 0 while the log's lag waits for StageFor's commit;
// then both are 0. Unseen may read high for a moment after the rows become visible (the
// pipeline counts a batch as staged once AppendStaged has returned), never low.
func TestUnseenCountsWhatIsNotVisible(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := uniqueEvents("u", 30)
	r := start(t, e.wal, e.dedup, e.store, pipeline.Options{BatchSize: 100, HoldRows: 1 << 20, StageFor: time.Hour})
	if n := r.p.Unseen(); n != 0 {
		t.Errorf("Unseen of an empty log = %d, want 0", n)
	}
	e.appendEvents(events...)
	waitFor(t, "the events visible", func() bool {
		unseen := r.p.Unseen() // before the read: rows are visible before Unseen counts them
		n := len(e.stored())
		if n < len(events) && unseen == 0 {
			t.Fatalf("Unseen 0 with %d of the %d events visible", n, len(events))
		}
		return n == len(events)
	})
	waitFor(t, "Unseen to count the staged events as visible", func() bool { return r.p.Unseen() == 0 })
	if n, _ := r.p.Lag(); n != int64(len(events)) {
		t.Errorf("Lag with the events staged = %d, want %d: they are durable at StageFor's commit", n, len(events))
	}
	r.stop(t) // the stop commits what is staged
	if n, _ := r.p.Lag(); n != 0 || r.p.Unseen() != 0 {
		t.Errorf("after the stop: Lag %d, Unseen %d; want 0 and 0", n, r.p.Unseen())
	}
}
