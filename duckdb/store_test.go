package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/internal/migrate"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// openMemory opens a fresh in-memory store, closed when the test ends.
func openMemory(t *testing.T) *Store {
	t.Helper()
	return openAt(t, "")
}

// openAt opens the store at path ("" for memory), closed when the test ends.
func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{Threads: 2, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) unmogrowp.EventStore { return openMemory(t) })
	})
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) unmogrowp.EventStore {
			return openAt(t, filepath.Join(t.TempDir(), "events.duckdb"))
		})
	})
	// Scans of a few rows at a time: every fixture of the suite spans many chunks.
	t.Run("memory, small scan chunks", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) unmogrowp.EventStore {
			s := openMemory(t)
			s.scanChunk = 2
			return s
		})
	})
}

func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "events.duckdb") // the directory is created
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	want := []unmogrowp.Event{storetest.FullEvent(0, 1, 1), storetest.FullEvent(0, 2, 2), storetest.FullEvent(4, 9, 3)}
	want = append(want, storetest.MinimalEvent(0, 3, "app-min", time.Hour))
	wantTP := []unmogrowp.Touchpoint{storetest.FullTouchpoint(4, 7, 1), storetest.MinimalTouchpoint(4, 8, "app-min", 2*time.Minute)}
	wantIn := []unmogrowp.Install{storetest.FullInstall(0, 1, 1), storetest.OrganicInstall(0, 2, "app-full", "device-2", 0)}
	if err := s.Append(ctx, unmogrowp.Batch{Events: want[:2], Touchpoints: wantTP, Installs: wantIn}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: want[2:]}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	appliedAt := migrationTimes(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openAt(t, path)
	got, err := s.Events(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("after reopen: %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if d := storetest.Diff(want[i], got[i]); d != "" {
			t.Errorf("after reopen, event %d differs: %s", i, d)
		}
	}
	var gotTP []unmogrowp.Touchpoint
	if err := s.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{}, func(tp *unmogrowp.Touchpoint) error {
		gotTP = append(gotTP, *tp)
		return nil
	}); err != nil {
		t.Fatalf("ScanTouchpoints: %v", err)
	}
	if len(gotTP) != len(wantTP) {
		t.Fatalf("after reopen: %d touchpoints, want %d", len(gotTP), len(wantTP))
	}
	for i := range wantTP {
		if d := storetest.DiffTouchpoint(wantTP[i], gotTP[i]); d != "" {
			t.Errorf("after reopen, touchpoint %d differs: %s", i, d)
		}
	}
	for i, w := range wantIn {
		got, err := s.Attribution(ctx, w.AppID, w.DeviceID)
		if err != nil {
			t.Fatalf("Attribution: %v", err)
		}
		if d := storetest.DiffInstall(w, *got); d != "" {
			t.Errorf("after reopen, install %d differs: %s", i, d)
		}
	}
	wm, err := s.Watermarks(ctx)
	if err != nil {
		t.Fatalf("Watermarks: %v", err)
	}
	if len(wm) != 2 || wm[0] != 3 || wm[4] != 9 {
		t.Errorf("after reopen, Watermarks = %v, want map[0:3 4:9]", wm)
	}
	// Migrations ran once: reopening found them applied and left them alone.
	again := migrationTimes(t, s)
	if len(again) != len(appliedAt) {
		t.Fatalf("schema_migrations after reopen = %v, before = %v", again, appliedAt)
	}
	for v, at := range appliedAt {
		if !again[v].Equal(at) {
			t.Errorf("migration %d applied again: %v, first at %v", v, again[v], at)
		}
	}
	// And the reopened store takes appends.
	if err := s.Append(ctx, unmogrowp.Batch{Events: []unmogrowp.Event{storetest.FullEvent(0, 4, 4)}}); err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	if n, err := s.CountEvents(ctx, unmogrowp.EventFilter{}); err != nil || n != int64(len(want)+1) {
		t.Fatalf("CountEvents = %d, %v; want %d", n, err, len(want)+1)
	}
	if wm, err := s.Watermarks(ctx); err != nil || len(wm) != 2 || wm[0] != 4 || wm[4] != 9 {
		t.Errorf("after an append to the reopened store, Watermarks = %v, %v; want map[0:4 4:9]", wm, err)
	}
}

// migrationTimes returns when each applied migration ran, by version.
func migrationTimes(t *testing.T, s *Store) map[int]time.Time {
	t.Helper()
	ms, err := migrate.Load(migrations)
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	rows, err := s.db.Query(`SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	got := map[int]time.Time{}
	for rows.Next() {
		var v int
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		got[v] = at
	}
	if len(got) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, there are %d migrations", len(got), len(ms))
	}
	return got
}

// TestJSONBytesExact checks that DuckDB keeps the JSON documents byte for byte, beyond the
// semantic equality the conformance suite asks of every store.
func TestJSONBytesExact(t *testing.T) {
	ctx := context.Background()
	s := openMemory(t)
	docs := []string{
		`{ "b" : 1.50, "a":[ 1,2 ,3 ],"big": 12345678901234567890 }`,
		"{\n\t\"escaped\": \"\\u00e9\\n<&>\",\n\t\"raw\": \"é 🎉\"\n}",
		`[]`,
		`"just a string"`,
		`null`,
	}
	var events []unmogrowp.Event
	for i, doc := range docs {
		e := storetest.FullEvent(0, int64(i), i)
		e.Attribution, e.EventData = json.RawMessage(doc), json.RawMessage(docs[len(docs)-1-i])
		events = append(events, e)
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: events}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	got, err := s.Events(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	for i := range events {
		if string(got[i].Attribution) != string(events[i].Attribution) || string(got[i].EventData) != string(events[i].EventData) {
			t.Errorf("event %d: JSON came back as %q / %q, want %q / %q", i,
				got[i].Attribution, got[i].EventData, events[i].Attribution, events[i].EventData)
		}
	}
}

// TestInvalidUTF8 checks that invalid UTF-8, which DuckDB would store as NULL, is stored
// with U+FFFD in place of the bad bytes, and the batch goes through.
func TestInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	s := openMemory(t)
	e := storetest.FullEvent(0, 1, 1)
	e.DeviceID, e.Campaign = "dev\xff-1", "\xc3"
	e.EventData = json.RawMessage("{\"k\":\"v\xfe\"}")
	tp := storetest.FullTouchpoint(0, 2, 1)
	tp.UserAgent, tp.Sub[4] = "Mozilla\xff/5.0", "\xc3"
	in := storetest.FullInstall(0, 1, 1)
	in.DeviceID, in.Campaign = "dev\xff-1", "\xc3"
	in.Rejected[1].MediaSource = "net\xfe"
	if err := s.Append(ctx, unmogrowp.Batch{Events: []unmogrowp.Event{e}, Touchpoints: []unmogrowp.Touchpoint{tp}, Installs: []unmogrowp.Install{in}}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	got, err := s.Events(ctx, unmogrowp.EventFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("Events = %d events, %v; want 1", len(got), err)
	}
	want := e
	want.DeviceID, want.Campaign = "dev\uFFFD-1", "\uFFFD"
	want.EventData = json.RawMessage("{\"k\":\"v\uFFFD\"}")
	if d := storetest.Diff(want, got[0]); d != "" {
		t.Errorf("event differs: %s", d)
	}

	var gotTP []unmogrowp.Touchpoint
	if err := s.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{}, func(tp *unmogrowp.Touchpoint) error {
		gotTP = append(gotTP, *tp)
		return nil
	}); err != nil || len(gotTP) != 1 {
		t.Fatalf("ScanTouchpoints = %d touchpoints, %v; want 1", len(gotTP), err)
	}
	wantTP := tp
	wantTP.UserAgent, wantTP.Sub[4] = "Mozilla\uFFFD/5.0", "\uFFFD"
	if d := storetest.DiffTouchpoint(wantTP, gotTP[0]); d != "" {
		t.Errorf("touchpoint differs: %s", d)
	}

	gotIn, err := s.Attribution(ctx, in.AppID, "dev\uFFFD-1")
	if err != nil {
		t.Fatalf("Attribution: %v", err)
	}
	wantIn := in
	wantIn.DeviceID, wantIn.Campaign = "dev\uFFFD-1", "\uFFFD"
	wantIn.Rejected = slices.Clone(in.Rejected)
	wantIn.Rejected[1].MediaSource = "net\uFFFD"
	if d := storetest.DiffInstall(wantIn, *gotIn); d != "" {
		t.Errorf("install differs: %s", d)
	}
}

// TestCheckColumns checks that Open refuses a table whose columns are not the ones its
// appender writes.
func TestCheckColumns(t *testing.T) {
	t.Parallel()
	for _, tbl := range tables {
		t.Run(tbl.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.duckdb")
			s, err := Open(context.Background(), path, Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			db, err := sql.Open("duckdb", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`ALTER TABLE ` + tbl.name + ` ADD COLUMN surprise VARCHAR`); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = Open(context.Background(), path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tbl.name+" table has columns") {
				t.Errorf("Open = %v, want an error about the %s table's columns", err, tbl.name)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(context.Background(), "", Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	_, errW := s.Watermarks(ctx)
	_, errE := s.Events(ctx, unmogrowp.EventFilter{})
	_, errC := s.CountEvents(ctx, unmogrowp.EventFilter{})
	_, errA := s.Attribution(ctx, "app-full", "device-1")
	_, _, errI := s.Installs(ctx, unmogrowp.InstallFilter{AppID: "app-full"})
	for name, err := range map[string]error{
		"Append":          s.Append(ctx, mixedAt(0, 1, 1)),
		"Watermarks":      errW,
		"Events":          errE,
		"CountEvents":     errC,
		"ScanTouchpoints": s.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{}, func(*unmogrowp.Touchpoint) error { return nil }),
		"Attribution":     errA,
		"Installs":        errI,
		"ScanDevices":     s.ScanDevices(ctx, func(unmogrowp.Install) error { return nil }),
		"Ping":            s.Ping(ctx),
	} {
		if code := unmogrowp.ErrorCode(err); code != unmogrowp.EUNAVAILABLE {
			t.Errorf("%s after Close = %v (code %q), want code %q", name, err, code, unmogrowp.EUNAVAILABLE)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Run("applied", func(t *testing.T) {
		for _, tt := range []struct {
			opts              Options
			memory, threads   string
			memoryDescription string
		}{
			{Options{}, "427.2 MiB", "", "default 448MB"},
			{Options{MemoryLimit: "256MB", Threads: 1}, "244.1 MiB", "1", "256MB"},
		} {
			t.Run(tt.memoryDescription, func(t *testing.T) {
				s, err := Open(context.Background(), "", tt.opts)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer s.Close()
				var memory, threads string
				if err := s.db.QueryRow(`SELECT current_setting('memory_limit'), current_setting('threads')::VARCHAR`).Scan(&memory, &threads); err != nil {
					t.Fatal(err)
				}
				if memory != tt.memory {
					t.Errorf("memory_limit = %q, want %q", memory, tt.memory)
				}
				if tt.threads != "" && threads != tt.threads {
					t.Errorf("threads = %q, want %q", threads, tt.threads)
				}
			})
		}
	})
	t.Run("rejected", func(t *testing.T) {
		for name, tt := range map[string]struct {
			path string
			opts Options
		}{
			"bad memory limit": {"", Options{MemoryLimit: "lots"}},
			"negative threads": {"", Options{Threads: -1}},
			"question mark":    {filepath.Join(t.TempDir(), "a?b.duckdb"), Options{}},
		} {
			if s, err := Open(context.Background(), tt.path, tt.opts); err == nil {
				s.Close()
				t.Errorf("%s: Open succeeded, want an error", name)
			}
		}
	})
}

// TestWALDirectorySync follows the WAL files DuckDB creates after each checkpoint: the
// store must notice each new one and sync the directory (strace shows the directory's
// fsync right after the commit that created the file).
func TestWALDirectorySync(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.duckdb")
	s := openAt(t, path)
	syncs, offset := 0, int64(0)
	s.wal.onSync = func() { syncs++ }
	step := func(name string, appendBatch bool, wantSyncs int) {
		t.Helper()
		if appendBatch {
			if err := s.Append(ctx, unmogrowp.Batch{Events: batchAt(0, offset, 10)}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			offset += 10
		} else if err := s.checkpoint(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if syncs != wantSyncs {
			t.Fatalf("%s: %d directory syncs, want %d", name, syncs, wantSyncs)
		}
	}
	// Open synced the directory with the WAL the migrations wrote in it.
	step("append to the WAL of the migrations", true, 0)
	step("append again", true, 0)
	step("checkpoint deletes the WAL", false, 0)
	step("append to a new WAL", true, 1)
	step("append again", true, 1)
	step("checkpoint", false, 1)
	step("append to a new WAL", true, 2)
}

// TestAttributionUsesIndex checks that Attribution's query is a lookup in the
// installs_device_id index rather than a scan of every install: DuckDB takes the index
// only for a lone equality on device_id, which a change to the query can lose silently.
func TestAttributionUsesIndex(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "events.duckdb"))
	ctx := context.Background()
	installs := make([]unmogrowp.Install, 3000)
	for i := range installs {
		installs[i] = storetest.OrganicInstall(0, int64(i), "app-1", fmt.Sprintf("device-%d", i), 0)
	}
	if err := s.Append(ctx, unmogrowp.Batch{Installs: installs}); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := s.db.QueryContext(ctx, "EXPLAIN ANALYZE "+attributionQuery, "device-7")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, text string
		if err := rows.Scan(&kind, &text); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(text)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "Index Scan") {
		t.Errorf("Attribution's query does not use the index:\n%s", plan.String())
	}
	in, err := s.Attribution(ctx, "app-1", "device-7")
	if err != nil || in.Offset != 7 {
		t.Fatalf("Attribution = %+v, %v; want the install at offset 7", in, err)
	}
}

func TestSubject(t *testing.T) {
	t.Parallel()
	storetest.RunSubject(t, func(t *testing.T) storetest.SubjectEventStore {
		return openAt(t, filepath.Join(t.TempDir(), "events.duckdb"))
	})
}
