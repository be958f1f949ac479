package clickhouse

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// update rewrites the shared golden files of storetest.RunReports from this store's
// answers. Don't: they are the contract both stores meet, checked by hand on DuckDB's.
var update = flag.Bool("update", false, "rewrite the golden files of the report tests")

// TestReports runs the shared report suite: the hand-counted fixture against the golden
// files DuckDB's answers wrote, and generated data whose reports must agree.
func TestReports(t *testing.T) {
	t.Parallel()
	_ = update // read by storetest through flag.Lookup
	testOptions(t)
	storetest.RunReports(t, func(t *testing.T) storetest.ReportStore { return openTest(t) })
}

// TestReportsMatchDuckDB stores the same generated realistic data in ClickHouse and in
// package duckdb's store, and checks that every report of every app gives the same JSON
// in both, over several ranges: a month, a week, a day with hours, and bounds that fall
// inside hours.
func TestReportsMatchDuckDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	d, err := duckdb.Open(context.Background(), "", duckdb.Options{Threads: 2, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = storetest.GenerateFixture(100_000, 7, 20_000, func(b unmogrowp.Batch) error {
		return errors.Join(s.Append(ctx, b), d.Append(ctx, b))
	})
	if err != nil {
		t.Fatal(err)
	}
	start, end := storetest.FixtureStart, storetest.FixtureStart.Add(storetest.FixtureSpan)
	ranges := []struct {
		name     string
		from, to time.Time
		interval string
	}{
		{"all", start.Add(-24 * time.Hour), end.Add(24 * time.Hour), unmogrowp.IntervalDay},
		{"last week", end.Add(-7 * 24 * time.Hour), end, unmogrowp.IntervalDay},
		{"a day", start.Add(10 * 24 * time.Hour), start.Add(11 * 24 * time.Hour), unmogrowp.IntervalHour},
		{"unaligned", start.Add(3*24*time.Hour + 90*time.Minute + 7*time.Second), start.Add(5*24*time.Hour + 13*time.Minute), unmogrowp.IntervalHour},
	}
	type store interface {
		unmogrowp.EventStore
		unmogrowp.Reports
	}
	answers := func(st store, app string, from, to time.Time, interval string) map[string]any {
		out := map[string]any{}
		put := func(name string, v any, err error) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out[name] = v
		}
		v, err := st.Stats(ctx, app, from, to)
		put("stats", v, err)
		for _, c := range []string{unmogrowp.ChartInstalls, unmogrowp.ChartMediaSources, unmogrowp.ChartEvents, unmogrowp.ChartRevenue, unmogrowp.ChartPlatforms} {
			ch, err := st.Chart(ctx, app, c, from, to, interval)
			put("chart "+c, ch, err)
		}
		ms, err := st.MediaSourceReport(ctx, app, from, to)
		put("media_sources", ms, err)
		ret, err := st.RetentionReport(ctx, app, from, to)
		put("retention", ret, err)
		rb, err := st.RetentionBreakdown(ctx, app, from, to, unmogrowp.RetentionQuery{By: []string{unmogrowp.DimMediaSource, unmogrowp.DimCampaign}})
		put("retention by media_source, campaign", rb, err)
		rb, err = st.RetentionBreakdown(ctx, app, from, to, unmogrowp.RetentionQuery{
			By: []string{unmogrowp.DimCountry}, Filters: map[string][]string{unmogrowp.DimPlatform: {unmogrowp.PlatformIOS}}})
		put("retention by country of ios", rb, err)
		fr, err := st.FraudReport(ctx, app, from, to)
		put("fraud", fr, err)
		n, err := st.CountEvents(ctx, unmogrowp.EventFilter{AppID: app, From: from, To: to})
		put("count events", n, err)
		marks, err := st.Watermarks(ctx)
		put("watermarks", marks, err)
		return out
	}
	for _, app := range storetest.FixtureApps {
		for _, r := range ranges {
			got, want := answers(s, app, r.from, r.to, r.interval), answers(d, app, r.from, r.to, r.interval)
			for name := range want {
				g, _ := json.Marshal(got[name])
				w, _ := json.Marshal(want[name])
				if string(g) != string(w) {
					t.Errorf("%s, %s, %s: ClickHouse says\n%s\nDuckDB says\n%s", app, r.name, name, g, w)
				}
			}
		}
	}
}
