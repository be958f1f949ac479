package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/migrate"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// testOptions returns the Options of the test server (testenv.ClickHouseEnv) with a new
// database of the test's own, unmogrowp_test_<random>, dropped when the test ends.
func testOptions(t testing.TB) Options {
	t.Helper()
	raw := testenv.Server(t, testenv.ClickHouseEnv, "apt-get install clickhouse-server")
	opts, err := ParseURL(raw)
	if err != nil {
		t.Fatalf("%s: %v", testenv.ClickHouseEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	opts.Database = "unmogrowp_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { dropDatabase(t, opts) })
	return opts
}

// dropDatabase drops the test's database, over a connection of its own.
func dropDatabase(t testing.TB, opts Options) {
	t.Helper()
	conn, err := connect(opts.withDefaults(), "default")
	if err != nil {
		t.Errorf("drop database %s: %v", opts.Database, err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+opts.Database); err != nil {
		t.Errorf("drop database %s: %v", opts.Database, err)
	}
}

// openTest opens a store on a fresh database of the test server, closed (and the database
// dropped) when the test ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	return openWith(t, testOptions(t))
}

// openWith opens a store with opts, closed when the test ends.
func openWith(t testing.TB, opts Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, "", opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
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
	testOptions(t) // skip the whole suite with one line when there is no server
	t.Run("default scan chunks", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) unmogrowp.EventStore { return openTest(t) })
	})
	// Scans of a few rows at a time: every fixture of the suite spans many chunks.
	t.Run("small scan chunks", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) unmogrowp.EventStore {
			s := openTest(t)
			s.scanChunk = 2
			return s
		})
	})
}

func TestParseURL(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want Options
	}{
		{"clickhouse://default:@127.0.0.1:9000", Options{Addr: []string{"127.0.0.1:9000"}, Username: "default"}},
		{"clickhouse://u:p%40ss@ch1:9440,ch2/analytics", Options{Addr: []string{"ch1:9440", "ch2:9000"}, Username: "u", Password: "p@ss", Database: "analytics"}},
		{"clickhouse://localhost", Options{Addr: []string{"localhost:9000"}}},
	} {
		got, err := ParseURL(tt.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.url, err)
			continue
		}
		if !slices.Equal(got.Addr, tt.want.Addr) || got.Username != tt.want.Username ||
			got.Password != tt.want.Password || got.Database != tt.want.Database {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tt.url, got, tt.want)
		}
	}
	for _, bad := range []string{"", "postgres://localhost:5432/db", "clickhouse:localhost", "clickhouse://", "://x"} {
		if _, err := ParseURL(bad); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("ParseURL(%q) = %v, want EINVALID", bad, err)
		}
	}
}

// TestOpenRefused checks that Open reports a server that does not answer as
// EUNAVAILABLE, within the dial timeout, and refuses a database name it would have to
// quote.
func TestOpenRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	start := time.Now()
	_, err = Open(context.Background(), "", Options{Addr: []string{addr}, DialTimeout: time.Second})
	if code := unmogrowp.ErrorCode(err); code != unmogrowp.EUNAVAILABLE {
		t.Errorf("Open on a closed port = %v (code %q), want %q", err, code, unmogrowp.EUNAVAILABLE)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open took %v to fail", d)
	}
	for _, name := range []string{"a-b", "x; DROP DATABASE y", "1abc", "`q`"} {
		if _, err := Open(context.Background(), "", Options{Addr: []string{addr}, Database: name}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("Open with database %q = %v, want EINVALID", name, err)
		}
	}
}

// TestReopen appends, closes, opens the database again and reads everything back: the
// migrations ran once, and the reopened store takes appends.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := testOptions(t)
	s := openWith(t, opts)
	want := []unmogrowp.Event{storetest.FullEvent(0, 1, 1), storetest.FullEvent(4, 9, 3), storetest.MinimalEvent(0, 3, "app-min", time.Hour)}
	in := storetest.FullInstall(0, 1, 1)
	if err := s.Append(ctx, unmogrowp.Batch{Events: want, Touchpoints: []unmogrowp.Touchpoint{storetest.FullTouchpoint(4, 7, 1)},
		Installs: []unmogrowp.Install{in}}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openWith(t, opts)
	got, err := s.Events(ctx, unmogrowp.EventFilter{})
	if err != nil || len(got) != len(want) {
		t.Fatalf("after reopen: %d events, %v; want %d", len(got), err, len(want))
	}
	for i := range want {
		if d := storetest.Diff(want[i], got[i]); d != "" {
			t.Errorf("after reopen, event %d differs: %s", i, d)
		}
	}
	a, err := s.Attribution(ctx, in.AppID, in.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.DiffInstall(in, *a); d != "" {
		t.Errorf("after reopen, install differs: %s", d)
	}
	var applied uint64
	if err := s.conn.QueryRow(ctx, `SELECT count() FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if ms, _ := migrate.Load(migrations); applied != uint64(len(ms)) {
		t.Errorf("schema_migrations has %d rows, there are %d migrations", applied, len(ms))
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: []unmogrowp.Event{storetest.FullEvent(0, 4, 4)}}); err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	if wm, err := s.Watermarks(ctx); err != nil || len(wm) != 2 || wm[0] != 4 || wm[4] != 9 {
		t.Errorf("Watermarks = %v, %v; want map[0:4 4:9]", wm, err)
	}
}

// TestCheckColumns checks that Open refuses a table whose columns are not the ones the
// store writes.
func TestCheckColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tbl := range []string{"events", "touchpoints", "installs"} {
		t.Run(tbl, func(t *testing.T) {
			opts := testOptions(t)
			s := openWith(t, opts)
			if err := s.conn.Exec(ctx, `ALTER TABLE `+tbl+` ADD COLUMN surprise String`); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(ctx, "", opts)
			if err == nil {
				s2.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tbl+" table has columns") {
				t.Errorf("Open = %v, want an error about the %s table's columns", err, tbl)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
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
	_, errS := s.Stats(ctx, "app-full", time.Unix(0, 0), time.Now())
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
		"Stats":           errS,
	} {
		if code := unmogrowp.ErrorCode(err); code != unmogrowp.EUNAVAILABLE {
			t.Errorf("%s after Close = %v (code %q), want code %q", name, err, code, unmogrowp.EUNAVAILABLE)
		}
	}
}

// TestInvalidUTF8 checks that invalid UTF-8 is stored with U+FFFD in place of the bad
// bytes, as package duckdb stores it, and the batch goes through.
func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	e := storetest.FullEvent(0, 1, 1)
	e.DeviceID, e.Campaign = "dev\xff-1", "\xc3"
	e.EventData = json.RawMessage("{\"k\":\"v\xfe\"}")
	in := storetest.FullInstall(0, 1, 1)
	in.DeviceID = "dev\xff-1"
	in.Rejected[1].MediaSource = "net\xfe"
	if err := s.Append(ctx, unmogrowp.Batch{Events: []unmogrowp.Event{e}, Installs: []unmogrowp.Install{in}}); err != nil {
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
	gotIn, err := s.Attribution(ctx, in.AppID, "dev\uFFFD-1")
	if err != nil {
		t.Fatalf("Attribution: %v", err)
	}
	if gotIn.Rejected[1].MediaSource != "net\uFFFD" {
		t.Errorf("rejected media source = %q, want %q", gotIn.Rejected[1].MediaSource, "net\uFFFD")
	}
}

func TestSubject(t *testing.T) {
	t.Parallel()
	testOptions(t)
	storetest.RunSubject(t, func(t *testing.T) storetest.SubjectEventStore { return openTest(t) })
}

// TestAppendOnePart checks that a batch of more rows than an INSERT sends a block is one
// part all the same (the server squashes the INSERT's blocks before it writes), with
// merges stopped so that only the INSERT can have made it one, and every row once.
func TestAppendOnePart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	if err := s.conn.Exec(ctx, "SYSTEM STOP MERGES events"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	es := make([]unmogrowp.Event, 3*insertBlockRows+5)
	for i := range es {
		es[i] = storetest.FullEvent(0, int64(i), i)
		es[i].Timestamp = at.Add(time.Duration(i) * time.Second)
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: es}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	var parts, rows uint64
	if err := s.conn.QueryRow(ctx, "SELECT count(), sum(rows) FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active").Scan(&parts, &rows); err != nil {
		t.Fatal(err)
	}
	if parts != 1 || rows != uint64(len(es)) {
		t.Errorf("events has %d parts of %d rows, want 1 of %d", parts, rows, len(es))
	}
	got, err := s.Events(ctx, unmogrowp.EventFilter{Limit: len(es) + 1})
	if err != nil || len(got) != len(es) {
		t.Fatalf("Events: %d, %v; want %d", len(got), err, len(es))
	}
	for i := range es {
		if d := storetest.Diff(es[i], got[i]); d != "" {
			t.Fatalf("event %d differs: %s", i, d)
		}
	}
}
