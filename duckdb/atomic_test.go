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
	"github.com/unmogrowp/unmogrowp/storetest"
)

// crashChildEnv names the database a child process of TestCrash appends to until killed.
const crashChildEnv = "UNMOGROWP_DUCKDB_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
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

// state is what a store shows from outside a transaction.
type state struct {
	count int64
	marks map[int32]int64
}

func readState(t *testing.T, s *Store) state {
	t.Helper()
	ctx := context.Background()
	n, err := s.CountEvents(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatalf("CountEvents: %v", err)
	}
	wm, err := s.Watermarks(ctx)
	if err != nil {
		t.Fatalf("Watermarks: %v", err)
	}
	return state{n, wm}
}

func (a state) String() string { return fmt.Sprintf("%d events, watermarks %v", a.count, a.marks) }

func (a state) equal(b state) bool {
	if a.count != b.count || len(a.marks) != len(b.marks) {
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
// the table inside the transaction, and checks that none of them, nor the watermark move,
// is visible afterwards, and that the store then takes the next batch.
func TestAppendAtomic(t *testing.T) {
	errInjected := errors.New("injected failure")
	const size = 5000 // more than two of the appender's 2048-row chunks
	tests := []struct {
		name string
		// prepare sets the failure up and returns the batch and the context to append with.
		prepare func(t *testing.T, s *Store) (context.Context, []unmogrowp.Event)
		wantErr error
	}{
		{
			name: "engine rejects a value late in the batch",
			prepare: func(t *testing.T, s *Store) (context.Context, []unmogrowp.Event) {
				// A constraint the store does not have, so that DuckDB itself fails the flush
				// on row 4500 of 5000.
				if _, err := s.db.Exec(`ALTER TABLE events ALTER COLUMN install_begin_at SET NOT NULL`); err != nil {
					t.Fatal(err)
				}
				b := batchAt(0, 100, size)
				b[4500].InstallBeginAt = time.Time{}
				return context.Background(), b
			},
		},
		{
			name: "error after rows and watermarks are written",
			prepare: func(t *testing.T, s *Store) (context.Context, []unmogrowp.Event) {
				s.beforeCommit = func(ctx context.Context, c *sql.Conn) error {
					// Inside the transaction the rows and the watermark are there.
					var n, mark int64
					if err := c.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
						return err
					}
					if err := c.QueryRowContext(ctx, `SELECT "offset" FROM log_watermarks WHERE "partition" = 0`).Scan(&mark); err != nil {
						return err
					}
					if n != 10+size || mark != 100+size-1 {
						t.Errorf("inside the transaction: %d events, watermark %d; want %d, %d", n, mark, 10+size, 100+size-1)
					}
					return errInjected
				}
				return context.Background(), batchAt(0, 100, size)
			},
			wantErr: errInjected,
		},
		{
			name: "context canceled before commit",
			prepare: func(t *testing.T, s *Store) (context.Context, []unmogrowp.Event) {
				ctx, cancel := context.WithCancel(context.Background())
				s.beforeCommit = func(context.Context, *sql.Conn) error { cancel(); return nil }
				return ctx, batchAt(0, 100, size)
			},
			wantErr: context.Canceled,
		},
		{
			name: "batch spanning partitions",
			prepare: func(t *testing.T, s *Store) (context.Context, []unmogrowp.Event) {
				s.beforeCommit = func(context.Context, *sql.Conn) error { return errInjected }
				b := append(batchAt(0, 100, size/2), batchAt(7, 1, size/2)...)
				return context.Background(), b
			},
			wantErr: errInjected,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openAt(t, filepath.Join(t.TempDir(), "events.duckdb"))
			if err := s.AppendEvents(ctx, batchAt(0, 0, 10)); err != nil {
				t.Fatalf("first AppendEvents: %v", err)
			}
			before := readState(t, s)

			actx, batch := tt.prepare(t, s)
			err := s.AppendEvents(actx, batch)
			if err == nil {
				t.Fatal("AppendEvents succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("AppendEvents = %v, want %v", err, tt.wantErr)
			}
			t.Logf("AppendEvents failed as planned: %v", err)
			if after := readState(t, s); !after.equal(before) {
				t.Fatalf("after the failed batch: %v; before it: %v", after, before)
			}

			// The writer is healthy: the next batch goes through, and partition 7, new in
			// the failed batch of one case, is new again.
			s.beforeCommit = nil
			if err := s.AppendEvents(ctx, append(batchAt(0, 10, 10), batchAt(7, 3, 1)...)); err != nil {
				t.Fatalf("AppendEvents after the failure: %v", err)
			}
			want := state{21, map[int32]int64{0: 19, 7: 3}}
			if after := readState(t, s); !after.equal(want) {
				t.Fatalf("after the next batch: %v; want %v", after, want)
			}
		})
	}
}

// TestAppendCancelRace cancels big appends at spread-out moments, which land before,
// during or after the appender's work: each append either fails with the cancellation and
// leaves nothing, or succeeds with everything.
func TestAppendCancelRace(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "events.duckdb"))
	const size, rounds = 20000, 8
	start := time.Now()
	if err := s.AppendEvents(ctx, batchAt(0, 0, size)); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	full := time.Since(start)
	next, canceled := int64(size), 0
	for i := range rounds {
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(full*time.Duration(i)/rounds, cancel)
		err := s.AppendEvents(cctx, batchAt(0, next, size))
		cancel()
		switch {
		case err == nil:
			next += size
		case errors.Is(err, context.Canceled):
			canceled++
		default:
			t.Fatalf("round %d: AppendEvents = %v, want nil or context.Canceled", i, err)
		}
		if st := readState(t, s); st.count != next || st.marks[0] != next-1 {
			t.Fatalf("round %d (err %v): %v; want %d events, watermark %d", i, err, st, next, next-1)
		}
	}
	t.Logf("one append took %v; %d of %d appends were canceled", full, canceled, rounds)
	if canceled == 0 {
		t.Error("no append was canceled: the test did not exercise cancellation")
	}
}

// TestCrash kills a process that appends batches in a loop, at a moment it does not
// choose, then reopens its database: every batch the child saw committed is there, no
// batch is there in part, and the watermark matches the events.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "events.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	lines := bufio.NewScanner(out)
	for committed < 5 && lines.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(lines.Text(), "committed "))
		if err != nil {
			t.Fatalf("child said %q", lines.Text())
		}
		committed = n
	}
	// Let it get into the next batch, then kill it without warning.
	time.Sleep(3 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if committed < 5 {
		t.Fatalf("child committed only %d batches before it stopped", committed)
	}

	s := openAt(t, path)
	st := readState(t, s)
	t.Logf("child reported %d committed batches; after the crash: %v", committed, st)
	if st.count%crashBatch != 0 || st.count < int64(committed*crashBatch) {
		t.Fatalf("after the crash: %v; want a whole number of %d-event batches, at least %d", st, crashBatch, committed)
	}
	if len(st.marks) != 1 || st.marks[0] != st.count-1 {
		t.Fatalf("after the crash: %v; want watermark %d", st, st.count-1)
	}
	last, err := s.Events(context.Background(), unmogrowp.EventFilter{From: batchAt(0, st.count-1, 1)[0].Timestamp})
	if err != nil || len(last) != 1 {
		t.Fatalf("last event: %d events, %v", len(last), err)
	}
	if d := storetest.Diff(batchAt(0, st.count-1, 1)[0], last[0]); d != "" {
		t.Errorf("last event differs: %s", d)
	}
}

const crashBatch = 1000

// crashChild appends batches to the database at path and reports each commit on stdout,
// until it is killed.
func crashChild(path string) {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for b := 1; ; b++ {
		if err := s.AppendEvents(context.Background(), batchAt(0, int64((b-1)*crashBatch), crashBatch)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("committed %d\n", b)
	}
}
