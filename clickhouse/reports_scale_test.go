package clickhouse

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// TestReportsAtScale times every report on a store of realistic data, for the biggest app
// over the last 7 days of the data, and logs the median of 5 runs of each, as package
// duckdb's test of the same name does. It runs only when UNMOGROWP_REPORTS_EVENTS is set
// to the number of events (10000000 for the target: each report under 1 s on 2 cores),
// against the test server. The store is filled once with storetest.GenerateFixture through
// Append, in batches of 100k events, into a database of its own that is dropped at the
// end; with UNMOGROWP_REPORTS_CLICKHOUSE_DB set to a database name, it is kept there and
// reused by the next run when it already holds events.
//
//	UNMOGROWP_TEST_CLICKHOUSE_URL=clickhouse://default:@127.0.0.1:9000 \
//	UNMOGROWP_REPORTS_EVENTS=10000000 UNMOGROWP_REPORTS_CLICKHOUSE_DB=reports10m \
//	    go test -run TestReportsAtScale -v -timeout 60m ./clickhouse/
func TestReportsAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("UNMOGROWP_REPORTS_EVENTS"))
	if n <= 0 {
		t.Skip("set UNMOGROWP_REPORTS_EVENTS to the number of events to run it")
	}
	var s *Store
	if db := os.Getenv("UNMOGROWP_REPORTS_CLICKHOUSE_DB"); db != "" {
		opts := testOptions(t) // the server, and a database dropped at the end: unused
		opts.Database = db
		s = openWith(t, opts)
	} else {
		s = openTest(t)
	}
	ctx := context.Background()
	have, err := s.CountEvents(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if have == 0 {
		start := time.Now()
		var rows int
		err := storetest.GenerateFixture(n, 1, 100_000, func(b unmogrowp.Batch) error {
			rows += b.Len()
			return s.Append(ctx, b)
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("filled %d events (%d rows) in %v", n, rows, time.Since(start).Round(time.Second))
	} else {
		t.Logf("reusing database with %d events", have)
	}
	for _, tbl := range []string{"events", "touchpoints", "installs"} {
		var c, parts uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+tbl).Scan(&c); err != nil {
			t.Fatal(err)
		}
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = $1 AND active", tbl).Scan(&parts); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d rows in %d parts", tbl, c, parts)
	}
	storetest.TimeReports(t, s)
}
