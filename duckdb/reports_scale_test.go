package duckdb

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// TestReportsAtScale times every report on a store of realistic data, for the biggest app
// over the last 7 days of the data, and logs the median of 5 runs of each. It runs only
// when UNMOGROWP_REPORTS_EVENTS is set to the number of events (10000000 for the target:
// each report under 1 s on 2 cores). The store is filled once with storetest.GenerateFixture
// through Append, in batches of 100k events; with UNMOGROWP_REPORTS_DB set to a file path
// it is kept there and reused by the next run when it already holds events;
// UNMOGROWP_REPORTS_MEMORY_LIMIT sets DuckDB's memory_limit (default DefaultMemoryLimit);
// UNMOGROWP_REPORTS_ONLY times only the reports whose name contains it ("breakdown=").
//
//	UNMOGROWP_REPORTS_EVENTS=10000000 UNMOGROWP_REPORTS_DB=/tmp/reports10m.duckdb \
//	    go test -run TestReportsAtScale -v -timeout 60m ./duckdb/
//
// With UNMOGROWP_REPORTS_REPLICATE set to a number of copies, the events are filled through
// Append into the store at UNMOGROWP_REPORTS_SOURCE instead (reused when it holds events),
// and the store is filled with that many copies of its rows in SQL (replicate says how, and
// how that differs from an Append fill): the 100M-event store in minutes from a 10M one,
// where Append takes hours on a shared machine (the figures of docs/performance-analysis.md):
//
//	UNMOGROWP_REPORTS_EVENTS=10000000 UNMOGROWP_REPORTS_SOURCE=/tmp/reports10m.duckdb \
//	    UNMOGROWP_REPORTS_REPLICATE=10 UNMOGROWP_REPORTS_DB=/tmp/reports100m.duckdb \
//	    go test -run TestReportsAtScale -v -timeout 90m ./duckdb/
func TestReportsAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("UNMOGROWP_REPORTS_EVENTS"))
	if n <= 0 {
		t.Skip("set UNMOGROWP_REPORTS_EVENTS to the number of events to run it")
	}
	path := os.Getenv("UNMOGROWP_REPORTS_DB")
	if path == "" {
		path = filepath.Join(t.TempDir(), "reports.duckdb")
	}
	s, err := Open(context.Background(), path, Options{MemoryLimit: os.Getenv("UNMOGROWP_REPORTS_MEMORY_LIMIT")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	have, err := s.CountEvents(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if have == 0 {
		fillScaleStore(t, s, n, replicateCopies(t), os.Getenv("UNMOGROWP_REPORTS_SOURCE"))
	} else {
		t.Logf("reusing %s with %d events", path, have)
	}
	for _, tbl := range []string{"events", "touchpoints", "installs"} {
		var c int64
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+tbl).Scan(&c); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d rows", tbl, c)
	}
	storetest.TimeReports(t, s)

	// The API's lookup of one device's install decision, for a device that has one.
	var device string
	if err := s.db.QueryRowContext(ctx, "SELECT device_id FROM installs WHERE app_id = ? LIMIT 1", storetest.FixtureApps[0]).Scan(&device); err != nil {
		t.Fatal(err)
	}
	storetest.TimeQuery(t, storetest.ScaleQuery{Name: "attribution", Run: func() (any, error) {
		return s.Attribution(ctx, storetest.FixtureApps[0], device)
	}})
}
