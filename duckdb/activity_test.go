package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// checkDeviceDays checks device_days after events were appended to an empty store: it
// holds each (app, UTC day, device) of the events, computed in Go, and nothing else, and
// its keys are what SQL computes from the stored device ids.
func checkDeviceDays(t *testing.T, s *Store, events []unmogrowp.Event) {
	t.Helper()
	want := map[string]bool{}
	for _, e := range events {
		want[fmt.Sprintf("%s|%d|%d", validUTF8(e.AppID), dayOf(e.Timestamp)*24*3600*1e6, deviceKey(e.DeviceID))] = true
	}
	got := map[string]bool{}
	for _, q := range []string{
		`SELECT DISTINCT app_id, epoch_us(day), device_key FROM device_days`,
		`SELECT DISTINCT app_id, epoch_us(date_trunc('day', event_time)), device_key(device_id) FROM events`,
	} {
		clear(got)
		rows, err := s.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var app string
			var day, key int64
			if err := rows.Scan(&app, &day, &key); err != nil {
				t.Fatal(err)
			}
			got[fmt.Sprintf("%s|%d|%d", app, day, key)] = true
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for k := range want {
			if !got[k] {
				t.Errorf("%s: lacks %s", q, k)
			}
		}
		for k := range got {
			if !want[k] {
				t.Errorf("%s: has %s, which no event made", q, k)
			}
		}
	}
}

// reopen closes s and opens the store at path again, as a restarted process does.
func reopen(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return openAt(t, path)
}

// deviceDayRows returns how many rows device_days holds, and how many distinct ones.
func deviceDayRows(t *testing.T, s *Store) (rows, distinct int) {
	t.Helper()
	err := s.db.QueryRow(`SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT * FROM device_days)) FROM device_days`).Scan(&rows, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

// TestDeviceDaysRecent checks that Append stores a recent device-day once, across
// batches and across a reopen, and that a failed Append leaves nothing behind that keeps
// the next one from storing its device-days.
func TestDeviceDaysRecent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.duckdb")
	s := openAt(t, path)
	now := time.Now().UTC()
	off := int64(0)
	batch := func(devices ...string) unmogrowp.Batch {
		var b unmogrowp.Batch
		for _, d := range devices {
			off++
			b.Events = append(b.Events, unmogrowp.Event{Partition: 0, Offset: off, EventID: fmt.Sprint("e", off),
				AppID: "app", EventType: "session", DeviceID: d, Timestamp: now, ReceivedAt: now})
		}
		return b
	}
	mustAppend := func(b unmogrowp.Batch) {
		t.Helper()
		if err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(batch("a", "b", "a"))
	mustAppend(batch("b", "c"))
	if rows, distinct := deviceDayRows(t, s); rows != 3 || distinct != 3 {
		t.Errorf("after two batches: %d rows (%d distinct), want 3", rows, distinct)
	}

	// A batch that fails at COMMIT time: its device-day "d" must be stored by the next.
	s.beforeCommit = func(context.Context, *sql.Conn) error { return fmt.Errorf("injected") }
	if err := s.Append(ctx, batch("d")); err == nil {
		t.Fatal("Append succeeded despite the injected failure")
	}
	s.beforeCommit = nil
	off--
	mustAppend(batch("d"))
	if rows, distinct := deviceDayRows(t, s); rows != 4 || distinct != 4 {
		t.Errorf("after a failed batch and its retry: %d rows (%d distinct), want 4", rows, distinct)
	}

	s = reopen(t, s, path)
	mustAppend(batch("a", "d", "e"))
	if rows, distinct := deviceDayRows(t, s); rows != 5 || distinct != 5 {
		t.Errorf("after a reopen: %d rows (%d distinct), want 5", rows, distinct)
	}
	st, err := s.Stats(ctx, "app", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.ActiveDevices != 5 {
		t.Errorf("Stats: %d active devices, want 5", st.ActiveDevices)
	}
}

// TestDeviceDaysMigration checks that the migration that adds device_days fills it from
// the events already stored: a store whose table is dropped and migration forgotten gets
// the same device-days back on open.
func TestDeviceDaysMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.duckdb")
	s := openAt(t, path)
	var events []unmogrowp.Event
	err := storetest.GenerateFixture(20_000, 5, 3_000, func(b unmogrowp.Batch) error {
		events = append(events, b.Events...)
		return s.Append(ctx, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	checkDeviceDays(t, s, events)
	for _, q := range []string{`DROP TABLE device_days`, `DELETE FROM schema_migrations WHERE name LIKE '%device_days%'`} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s = reopen(t, s, path)
	checkDeviceDays(t, s, events)
	if rows, distinct := deviceDayRows(t, s); rows != distinct {
		t.Errorf("the migration stored %d rows, %d distinct", rows, distinct)
	}
}
