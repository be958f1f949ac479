package duckdb

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// replicatedIDs are, per table, the columns of ids that name one device, event, touchpoint
// or click: each copy but the first suffixes them with "~" and its number (an empty id stays
// empty), so that the copies' devices and events are distinct ones.
var replicatedIDs = map[string][]string{
	"events":      {"event_id", "device_id", "user_id", "session_id", "idfa", "gaid", "idfv", "android_id"},
	"touchpoints": {"touchpoint_id", "click_id", "device_id", "idfa", "gaid", "android_id"},
	"installs":    {"device_id", "install_event_id", "touchpoint_id", "click_id"},
}

// replicatedTime is the column each replicated table is copied in the order of.
var replicatedTime = map[string]string{"events": "event_time", "touchpoints": "touch_time", "installs": "install_time"}

// replicaOffset is how far each copy's log offsets are from the previous copy's: more than
// any fixture's offsets, so that (partition, offset) stays unique and installs still join
// their install events.
const replicaOffset = 1_000_000_000_000

// fillScaleStore fills the empty store s for a scale test with n events of
// storetest.GenerateFixture, through Append in batches of 100k events, and returns how
// many events it holds. With copies > 1 (UNMOGROWP_REPORTS_REPLICATE) it fills n events
// into the store at source instead (reused when it already holds events; a temporary file
// when source is empty) and stores copies copies of them in s with replicate: n × copies
// events.
func fillScaleStore(t *testing.T, s *Store, n, copies int, source string) int64 {
	t.Helper()
	ctx := context.Background()
	fill := func(s *Store) {
		start := time.Now()
		err := storetest.GenerateFixture(n, 1, 100_000, func(b unmogrowp.Batch) error { return s.Append(ctx, b) })
		if err != nil {
			t.Fatal(err)
		}
		if err := s.checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("filled %d events through Append in %v", n, time.Since(start).Round(time.Second))
	}
	if copies <= 1 {
		fill(s)
		return int64(n)
	}
	if source == "" {
		source = t.TempDir() + "/source.duckdb"
	}
	src, err := Open(ctx, source, Options{})
	if err != nil {
		t.Fatal(err)
	}
	have, err := src.CountEvents(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if have == 0 {
		fill(src)
	} else {
		t.Logf("replicating %s with %d events", source, have)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := replicate(ctx, s, source, copies, t.Logf); err != nil {
		t.Fatal(err)
	}
	have, err = s.CountEvents(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replicated %d copies into %d events in %v", copies, have, time.Since(start).Round(time.Second))
	return have
}

// replicate stores in the empty store s copies copies of every row of the store at source
// (a file this code's migrations have brought up to date; attached read-only), in SQL
// inside DuckDB. It is how the scale tests get a 100M-event store in minutes where Append
// takes hours on a shared machine: fill 10M events through Append, then replicate them 10
// times.
//
// Each copy has the source's apps, times, sources, amounts and shape, so the biggest app's
// last 7 days hold copies times the events and devices; copy 0 is the source's rows as they
// are, and each other copy k suffixes the ids of replicatedIDs with "~k" (the touchpoint ids
// inside installs.rejected too) and adds k × replicaOffset to the log offsets, so its
// devices, events, touchpoints and installs are distinct ones. device_days and
// device_revenue are computed from the stored events, as migrations 0011 and 0012 fill them (one
// device_days row per app, UTC day and device, with its hours; Append may store a
// device-day more than once), log_watermarks from the stored offsets. skan_postbacks are not copied (GenerateFixture makes none).
//
// How the result differs from an Append fill of the same rows: the rows are inserted one
// UTC day of event (touch, install) time at a time, in the order DuckDB's cross join makes
// them (the copies of a chunk of source rows together), so a row group (122,880 rows)
// holds the copies of about 12,300 consecutive source rows, some 53 minutes of the
// fixture, as a row group of a 100M store filled by Append (in time order) holds 53
// minutes: the time zone maps prune alike, but within a row group times step back at
// each copy of a chunk, and the row groups are full where Append's are cut by its
// checkpoints. The ART index on installs.device_id is maintained by the inserts as by
// Append's. device_days is made by one statement per day with each device-day once, where
// Append writes a row per batch that brings a device-day (or an hour of it) it has not
// stored. DuckDB compresses each row group at the checkpoint either way, so sizes are
// close (dictionary choices may differ).
func replicate(ctx context.Context, s *Store, source string, copies int, logf func(string, ...any)) error {
	db := s.db
	if _, err := db.ExecContext(ctx, "ATTACH '"+strings.ReplaceAll(source, "'", "''")+"' AS src (READ_ONLY)"); err != nil {
		return fmt.Errorf("attach %s: %w", source, err)
	}
	defer db.ExecContext(context.Background(), "DETACH src") //nolint:errcheck // the test ends with the store
	for _, tbl := range []string{"events", "touchpoints", "installs"} {
		cols, err := s.tableColumns(ctx, tbl)
		if err != nil {
			return err
		}
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = `"` + c + `"`
			switch {
			case c == "offset":
				sel[i] = fmt.Sprintf(`"offset" + k * %d`, replicaOffset)
			case c == "rejected":
				sel[i] = `CASE WHEN k = 0 THEN rejected ELSE regexp_replace(rejected, '("touchpoint_id":"[^"]+)"', '\1~' || k || '"', 'g') END`
			case slices.Contains(replicatedIDs[tbl], c):
				sel[i] = fmt.Sprintf(`CASE WHEN k = 0 OR "%[1]s" = '' THEN "%[1]s" ELSE "%[1]s" || '~' || k END`, c)
			}
		}
		tc := replicatedTime[tbl]
		var lo, hi time.Time
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT min(%[1]s), max(%[1]s) FROM src.%[2]s", tc, tbl)).Scan(&lo, &hi); err != nil {
			return fmt.Errorf("range of %s: %w", tbl, err)
		}
		q := fmt.Sprintf(`INSERT INTO %[5]s SELECT %[2]s FROM src.%[1]s, range(%[3]d) AS r(k) WHERE %[4]s >= ? AND %[4]s < ?`,
			tbl, strings.Join(sel, ", "), copies, tc, s.fileTable(tbl))
		for d := lo.Truncate(24 * time.Hour); !d.After(hi); d = d.Add(24 * time.Hour) {
			if _, err := db.ExecContext(ctx, q, d, d.Add(24*time.Hour)); err != nil {
				return fmt.Errorf("replicate %s of %v: %w", tbl, d, err)
			}
			logf("replicated %s of %s", tbl, d.Format(time.DateOnly))
		}
	}
	var lo, hi time.Time
	if err := db.QueryRowContext(ctx, "SELECT min(event_time), max(event_time) FROM events").Scan(&lo, &hi); err != nil {
		return fmt.Errorf("range of events: %w", err)
	}
	for d := lo.Truncate(24 * time.Hour); !d.After(hi); d = d.Add(24 * time.Hour) {
		if _, err := db.ExecContext(ctx, `INSERT INTO `+s.fileTable("device_days")+` SELECT app_id, ?::TIMESTAMP, device_key(device_id), bit_or((1 << hour(event_time))::INTEGER)
			FROM events WHERE event_time >= ? AND event_time < ? GROUP BY app_id, device_id ORDER BY app_id`, d, d, d.Add(24*time.Hour)); err != nil {
			return fmt.Errorf("device_days of %v: %w", d, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO `+s.fileTable("device_revenue")+` SELECT app_id, event_time, device_key(device_id), currency, revenue,
			event_type, media_source, campaign, country, platform, app_version, os_version
			FROM events WHERE event_time >= ? AND event_time < ? AND revenue IS NOT NULL`, d, d.Add(24*time.Hour)); err != nil {
			return fmt.Errorf("device_revenue of %v: %w", d, err)
		}
	}
	for _, tbl := range []string{"events", "touchpoints", "installs"} {
		var have, want int64
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT (SELECT count(*) FROM %[1]s), (SELECT count(*) FROM src.%[1]s)", tbl)).Scan(&have, &want); err != nil {
			return err
		}
		if have != want*int64(copies) {
			return fmt.Errorf("replicate: %d rows in %s, want %d copies of %d", have, tbl, copies, want)
		}
	}
	for _, q := range []string{
		`INSERT OR REPLACE INTO log_watermarks SELECT "partition", max("offset") FROM
		 (SELECT "partition", "offset" FROM events UNION ALL SELECT "partition", "offset" FROM touchpoints)
		 GROUP BY "partition"`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("replicate: %w", err)
		}
	}
	if err := s.checkpoint(ctx); err != nil {
		return fmt.Errorf("replicate: %w", err)
	}
	return nil
}

// replicateCopies is UNMOGROWP_REPORTS_REPLICATE, 1 when unset.
func replicateCopies(t *testing.T) int {
	v := os.Getenv("UNMOGROWP_REPORTS_REPLICATE")
	if v == "" {
		return 1
	}
	k, err := strconv.Atoi(v)
	if err != nil || k < 1 {
		t.Fatalf("UNMOGROWP_REPORTS_REPLICATE=%q: want a number of copies, 1 or more", v)
	}
	return k
}
