package duckdb

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// crashChildEnv names the database a child process of TestCrash appends to until killed.
const crashChildEnv = "UNMOGROWP_DUCKDB_CRASH_CHILD"

// crashBatchEnv is how many events (and touchpoints) a batch of that child has.
const crashBatchEnv = "UNMOGROWP_DUCKDB_CRASH_BATCH"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		n, err := strconv.Atoi(os.Getenv(crashBatchEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		crashChild(path, n)
		return
	}
	os.Exit(m.Run())
}

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
// 2n offsets; batchAt(p, first, n) are its events.
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

// state is what a store shows from outside a transaction.
type state struct {
	events, touchpoints, installs int64
	marks                         map[int32]int64
}

func readState(t *testing.T, s *Store) state {
	t.Helper()
	ctx := context.Background()
	var st state
	var err error
	if st.events, err = s.CountEvents(ctx, unmogrowp.EventFilter{}); err != nil {
		t.Fatalf("CountEvents: %v", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM touchpoints), (SELECT count(*) FROM installs)`).
		Scan(&st.touchpoints, &st.installs); err != nil {
		t.Fatalf("count touchpoints and installs: %v", err)
	}
	if st.marks, err = s.Watermarks(ctx); err != nil {
		t.Fatalf("Watermarks: %v", err)
	}
	return st
}

func (a state) String() string {
	return fmt.Sprintf("%d events, %d touchpoints, %d installs, watermarks %v", a.events, a.touchpoints, a.installs, a.marks)
}

func (a state) equal(b state) bool {
	if a.events != b.events || a.touchpoints != b.touchpoints || a.installs != b.installs || len(a.marks) != len(b.marks) {
		return false
	}
	for p, o := range a.marks {
		if bo, ok := b.marks[p]; !ok || bo != o {
			return false
		}
	}
	return true
}

// TestAppendAtomic makes a batch fail at different points after some of its rows reached
// their tables inside the transaction, and checks that none of them, nor the watermark
// move, is visible afterwards, and that the store then takes the next batch.
func TestAppendAtomic(t *testing.T) {
	t.Parallel()
	errInjected := errors.New("injected failure")
	const size = 5000 // more than two of the appender's 2048-row chunks
	events := func(b []unmogrowp.Event) unmogrowp.Batch { return unmogrowp.Batch{Events: b} }
	tests := []struct {
		name string
		// prepare sets the failure up and returns the batch and the context to append with.
		prepare func(t *testing.T, s *Store) (context.Context, unmogrowp.Batch)
		wantErr error
	}{
		{
			name: "engine rejects a value late in the batch",
			prepare: func(t *testing.T, s *Store) (context.Context, unmogrowp.Batch) {
				// A constraint the store does not have, so that DuckDB itself fails the flush
				// on row 4500 of 5000.
				execAll(t, s, `ALTER TABLE events ALTER COLUMN install_begin_at SET NOT NULL`)
				b := batchAt(0, 100, size)
				b[4500].InstallBeginAt = time.Time{}
				return context.Background(), events(b)
			},
		},
		{
			name: "installs rejected after the events and touchpoints are in",
			prepare: func(t *testing.T, s *Store) (context.Context, unmogrowp.Batch) {
				// The installs go last: their flush fails once the events and touchpoints of
				// the batch are in their tables. DuckDB alters no table with an index.
				execAll(t, s, `DROP INDEX installs_device_id`, `ALTER TABLE installs ALTER COLUMN touch_time SET NOT NULL`)
				b := mixedAt(0, 100, size)
				b.Installs[len(b.Installs)-3].TouchTime = time.Time{}
				return context.Background(), b
			},
		},
		{
			name: "error after rows and watermarks are written",
			prepare: func(t *testing.T, s *Store) (context.Context, unmogrowp.Batch) {
				s.beforeCommit = func(ctx context.Context, c *sql.Conn) error {
					// Inside the transaction the rows and the watermark are there.
					var n, mark int64
					if err := c.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
						return err
					}
					if err := c.QueryRowContext(ctx, `SELECT "offset" FROM log_watermarks WHERE "partition" = 0`).Scan(&mark); err != nil {
						return err
					}
					if n != 5+size || mark != 100+size-1 {
						t.Errorf("inside the transaction: %d events, watermark %d; want %d, %d", n, mark, 5+size, 100+size-1)
					}
					return errInjected
				}
				return context.Background(), events(batchAt(0, 100, size))
			},
			wantErr: errInjected,
		},
		{
			name: "mixed batch: error after rows and watermarks are written",
			prepare: func(t *testing.T, s *Store) (context.Context, unmogrowp.Batch) {
				s.beforeCommit = func(ctx context.Context, c *sql.Conn) error {
					var ev, tp, in, mark int64
					if err := c.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM touchpoints),
						(SELECT count(*) FROM installs), (SELECT "offset" FROM log_watermarks WHERE "partition" = 0)`).
						Scan(&ev, &tp, &in, &mark); err != nil {
						return err
					}
					// The touchpoints come after the events in the log: they set the watermark.
					if ev != 5+size || tp != 5+size || in != 1+size/5 || mark != 100+2*size-1 {
						t.Errorf("inside the transaction: %d events, %d touchpoints, %d installs, watermark %d; want %d, %d, %d, %d",
							ev, tp, in, mark, 5+size, 5+size, 1+size/5, 100+2*size-1)
					}
					return errInjected
				}
				return context.Background(), mixedAt(0, 100, size)
			},
			wantErr: errInjected,
		},
		{
			name: "context canceled before commit",
			prepare: func(t *testing.T, s *Store) (context.Context, unmogrowp.Batch) {
				ctx, cancel := context.WithCancel(context.Background())
				s.beforeCommit = func(context.Context, *sql.Conn) error { cancel(); return nil }
				return ctx, mixedAt(0, 100, size)
			},
			wantErr: context.Canceled,
		},
		{
			name: "batch spanning partitions",
			prepare: func(t *testing.T, s *Store) (context.Context, unmogrowp.Batch) {
				s.beforeCommit = func(context.Context, *sql.Conn) error { return errInjected }
				b := mixedAt(0, 100, size/2)
				b7 := mixedAt(7, 1, size/2)
				b.Events, b.Touchpoints = append(b.Events, b7.Events...), append(b.Touchpoints, b7.Touchpoints...)
				b.Installs = append(b.Installs, b7.Installs...)
				return context.Background(), b
			},
			wantErr: errInjected,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openAt(t, filepath.Join(t.TempDir(), "events.duckdb"))
			if err := s.Append(ctx, mixedAt(0, 0, 5)); err != nil {
				t.Fatalf("first Append: %v", err)
			}
			before := readState(t, s)

			actx, batch := tt.prepare(t, s)
			err := s.Append(actx, batch)
			if err == nil {
				t.Fatal("Append succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Append = %v, want %v", err, tt.wantErr)
			}
			t.Logf("Append failed as planned: %v", err)
			if after := readState(t, s); !after.equal(before) {
				t.Fatalf("after the failed batch: %v; before it: %v", after, before)
			}

			// The writer is healthy: the next batch goes through, and partition 7, new in
			// the failed batch of one case, is new again.
			s.beforeCommit = nil
			next := mixedAt(0, 10, 5)
			next.Touchpoints = append(next.Touchpoints, storetest.FullTouchpoint(7, 3, 3))
			if err := s.Append(ctx, next); err != nil {
				t.Fatalf("Append after the failure: %v", err)
			}
			want := state{10, 11, 2, map[int32]int64{0: 19, 7: 3}}
			if after := readState(t, s); !after.equal(want) {
				t.Fatalf("after the next batch: %v; want %v", after, want)
			}
		})
	}
}

// TestAppendCancelRace cancels big mixed appends at spread-out moments, which land before,
// during or after the appenders' work: each append either fails with the cancellation and
// leaves nothing, or succeeds with everything.
func TestAppendCancelRace(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "events.duckdb"))
	const size, rounds = 10000, 8 // a batch spans 2*size offsets
	start := time.Now()
	if err := s.Append(ctx, mixedAt(0, 0, size)); err != nil {
		t.Fatalf("Append: %v", err)
	}
	full := time.Since(start)
	stored, canceled := int64(1), 0 // batches
	for i := range rounds {
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(full*time.Duration(i)/rounds, cancel)
		err := s.Append(cctx, mixedAt(0, stored*2*size, size))
		cancel()
		switch {
		case err == nil:
			stored++
		case errors.Is(err, context.Canceled):
			canceled++
		default:
			t.Fatalf("round %d: Append = %v, want nil or context.Canceled", i, err)
		}
		want := state{stored * size, stored * size, stored * size / 5, map[int32]int64{0: stored*2*size - 1}}
		if st := readState(t, s); !st.equal(want) {
			t.Fatalf("round %d (err %v): %v; want %v", i, err, st, want)
		}
	}
	t.Logf("one append took %v; %d of %d appends were canceled", full, canceled, rounds)
	if canceled == 0 {
		t.Error("no append was canceled: the test did not exercise cancellation")
	}
}

// TestCrash kills a process that appends mixed batches in a loop, at a moment it does not
// choose, then reopens its database: every batch the child saw committed is there, no
// batch is there in part (events, touchpoints and installs alike), and the watermark
// matches the rows. It runs with batches of 1000 events, which DuckDB writes to its WAL,
// and of RowGroupRows, which it writes as whole row groups to the database file before
// COMMIT puts their place in the WAL (what `unmogrowp serve` does while draining a
// backlog).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	for _, c := range []struct {
		name      string
		batch     int64
		committed int
	}{{"batch=1000", 1000, 5}, {"row-groups", RowGroupRows, 1}} {
		t.Run(c.name, func(t *testing.T) {
			if raceEnabled && c.batch > 1000 {
				t.Skip("under the race detector a child takes minutes per batch of row groups; runs without -race")
			}
			testCrash(t, c.batch, c.committed)
		})
	}
}

// testCrash is TestCrash with batches of batch events, killing the child once it has
// committed at least committed of them.
func testCrash(t *testing.T, batch int64, committed int) {
	path := filepath.Join(t.TempDir(), "events.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, fmt.Sprintf("%s=%d", crashBatchEnv, batch))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := 0
	lines := bufio.NewScanner(out)
	for seen < committed && lines.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(lines.Text(), "committed "))
		if err != nil {
			t.Fatalf("child said %q", lines.Text())
		}
		seen = n
	}
	// Let it get into the next batch, then kill it without warning.
	time.Sleep(3 * time.Millisecond * time.Duration(batch/1000))
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if seen < committed {
		t.Fatalf("child committed only %d batches before it stopped", seen)
	}

	s := openAt(t, path)
	st := readState(t, s)
	t.Logf("child reported %d committed batches; after the crash: %v", seen, st)
	batches := st.events / batch
	want := state{batches * batch, batches * batch, batches * batch / 5, map[int32]int64{0: batches*2*batch - 1}}
	if !st.equal(want) || batches < int64(seen) {
		t.Fatalf("after the crash: %v; want %v, at least %d batches", st, want, seen)
	}
	lastEvent := batchAt(0, (batches-1)*2*batch+batch-1, 1)[0]
	last, err := s.Events(context.Background(), unmogrowp.EventFilter{From: lastEvent.Timestamp})
	if err != nil || len(last) != 1 {
		t.Fatalf("last event: %d events, %v", len(last), err)
	}
	if d := storetest.Diff(lastEvent, last[0]); d != "" {
		t.Errorf("last event differs: %s", d)
	}
}

// crashChild appends mixed batches of n events (and touchpoints) to the database at path
// and reports each commit on stdout, until it is killed.
func crashChild(path string, n int) {
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for b := 1; ; b++ {
		if err := s.Append(context.Background(), mixedAt(0, int64((b-1)*2*n), n)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("committed %d\n", b)
	}
}
