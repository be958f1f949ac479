package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// checkDeviceDays checks device_days after events were appended to an empty store: it
// holds each (app, UTC day, device) of the events, computed in Go, with the UTC hours of
// its events (its rows' masks together), and nothing else, and its keys are what SQL
// computes from the stored device ids.
func checkDeviceDays(t *testing.T, s *Store, events []unmogrowp.Event) {
	t.Helper()
	want := map[string]int32{}
	for _, e := range events {
		want[fmt.Sprintf("%s|%d|%d", validUTF8(e.AppID), dayOf(e.Timestamp)*24*3600*1e6, deviceKey(e.DeviceID))] |= hourBit(e.Timestamp)
	}
	got := map[string]int32{}
	for _, q := range []string{
		`SELECT app_id, epoch_us(day), device_key, bit_or(hours) FROM device_days GROUP BY ALL`,
		`SELECT app_id, epoch_us(date_trunc('day', event_time)), device_key(device_id), bit_or((1 << hour(event_time))::INTEGER) FROM events GROUP BY ALL`,
	} {
		clear(got)
		rows, err := s.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var app string
			var day, key int64
			var hours int32
			if err := rows.Scan(&app, &day, &key, &hours); err != nil {
				t.Fatal(err)
			}
			got[fmt.Sprintf("%s|%d|%d", app, day, key)] = hours
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for k, h := range want {
			if g, ok := got[k]; !ok {
				t.Errorf("%s: lacks %s", q, k)
			} else if g != h {
				t.Errorf("%s: %s has hours %024b, want %024b", q, k, g, h)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: has %s, which no event made", q, k)
			}
		}
	}
}

// checkDeviceRevenue checks that device_revenue holds the stored events' revenues, each
// once, with their devices' keys as SQL computes them from the stored device ids and
// their events' type and dimensions.
func checkDeviceRevenue(t *testing.T, s *Store) {
	t.Helper()
	var missing, extra, rows int64
	err := s.db.QueryRow(`WITH want AS (
		SELECT app_id, event_time, device_key(device_id) AS device_key, currency, revenue,
		       event_type, media_source, campaign, country, platform, app_version, os_version
		FROM events WHERE revenue IS NOT NULL
	) SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM device_revenue)),
	         (SELECT count(*) FROM (SELECT * FROM device_revenue EXCEPT ALL SELECT * FROM want)),
	         (SELECT count(*) FROM want)`).Scan(&missing, &extra, &rows)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || extra != 0 || rows == 0 {
		t.Errorf("device_revenue lacks %d and has %d rows too many, of %d events with revenue", missing, extra, rows)
	}
}

// execAll runs each statement on s's database file in turn (its tables, not the stage's
// views), failing the test at the first error: the tests' way of changing a store behind
// its back (a constraint it lacks, a migration undone).
func execAll(t *testing.T, s *Store, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = c.Raw(func(any) error { return driver.ErrBadConn }) // not back to the pool
		_ = c.Close()
	}()
	for _, q := range append([]string{"SET search_path = " + quoteLiteral(quoteIdent(s.fileCatalog)+".main")}, stmts...) {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
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

	// Another hour of a stored device-day: a row for it, with that hour.
	other := now.Truncate(time.Hour).Add(-time.Minute)
	if now.Hour() == 0 {
		other = now.Add(time.Hour)
	}
	b := batch("a")
	b.Events[0].Timestamp = other
	mustAppend(b)
	mustAppend(batch("a"))
	var hours int32
	if err := s.db.QueryRow(`SELECT bit_or(hours) FROM device_days WHERE device_key = device_key('a')`).Scan(&hours); err != nil {
		t.Fatal(err)
	}
	if rows, _ := deviceDayRows(t, s); rows != 6 || hours != hourBit(now)|hourBit(other) {
		t.Errorf("after another hour of a device-day: %d rows, hours %024b, want 6 rows, hours %024b", rows, hours, hourBit(now)|hourBit(other))
	}
	st, err := s.Stats(ctx, "app", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.ActiveDevices != 5 {
		t.Errorf("Stats: %d active devices, want 5", st.ActiveDevices)
	}
}

// TestDeviceDaysMigration checks that the migrations that add device_days (0003, and 0011
// with its hours) and device_revenue (0011, and 0012 with the events' dimensions) fill them
// from the events already stored: a
// store whose tables are dropped and migrations forgotten gets the same rows back on open.
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
	checkDeviceRevenue(t, s)
	execAll(t, s, `DROP TABLE device_days`, `DROP TABLE device_revenue`,
		`DELETE FROM schema_migrations WHERE name LIKE '%device_days%' OR name LIKE '%device_hours%' OR name LIKE '%revenue_dimensions%'`)
	s = reopen(t, s, path)
	checkDeviceDays(t, s, events)
	checkDeviceRevenue(t, s)
	if rows, distinct := deviceDayRows(t, s); rows != distinct {
		t.Errorf("the migration stored %d rows, %d distinct", rows, distinct)
	}
}

// TestRetentionActiveDays checks that the retention reports in a zone answer the same
// from device_days' hours as from the events, in zones of whole hours (which take the
// hours) and of half and quarter hours (which read the events), by cohort and by source.
// It replaces activeDaysFor, so it does not run in parallel.
func TestRetentionActiveDays(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "events.duckdb"))
	err := storetest.GenerateFixture(30_000, 7, 2_000, func(b unmogrowp.Batch) error { return s.Append(ctx, b) })
	if err != nil {
		t.Fatal(err)
	}
	app := storetest.FixtureApps[0]
	from, to := storetest.FixtureStart.Add(3*24*time.Hour+5*time.Hour), storetest.FixtureStart.Add(12*24*time.Hour)
	byEvents := func(sc unmogrowp.ReportScope, from, to time.Time) (activeDays, []unmogrowp.ZoneShift) {
		_, shifts := activeDaysOf(sc, from, to)
		return activeEvents, shifts
	}
	for _, zone := range []struct {
		name string
		want activeDays
	}{{"Asia/Tokyo", activeHours}, {"America/Los_Angeles", activeHours}, {"Asia/Kolkata", activeEvents}, {"Asia/Kathmandu", activeEvents}} {
		loc, err := time.LoadLocation(zone.name)
		if err != nil {
			t.Fatal(err)
		}
		sc := unmogrowp.ReportScope{Location: loc, Now: storetest.FixtureStart.Add(60 * 24 * time.Hour)}
		if got, _ := activeDaysOf(sc, from, to); got != zone.want {
			t.Errorf("%s: active days from %d, want %d", zone.name, got, zone.want)
		}
		q := unmogrowp.RetentionQuery{By: []string{unmogrowp.DimMediaSource}}
		retained := int64(0)
		report := func() string {
			ret, err := s.RetentionReport(ctx, app, from, to, sc)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range ret.Cohorts {
				for _, n := range c.Retained[1:] {
					retained += n
				}
			}
			br, err := s.RetentionBreakdown(ctx, app, from, to, q, sc)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%+v\n%+v", *ret, *br)
		}
		got := report()
		activeDaysFor = byEvents
		want := report()
		activeDaysFor = activeDaysOf
		if got != want {
			t.Errorf("%s: the reports from device_days:\n%s\nfrom the events:\n%s", zone.name, got, want)
		}
		if retained == 0 {
			t.Errorf("%s: no device retained after its install day:\n%s", zone.name, got)
		}
	}
}
