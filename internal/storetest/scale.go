package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// ScaleRange is the range the scale test asks about: the last 7 days of the fixture.
func ScaleRange() (from, to time.Time) {
	to = FixtureStart.Add(FixtureSpan)
	return to.Add(-7 * 24 * time.Hour), to
}

// median returns the median of the durations.
func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// ScaleQuery is one of the dashboard's reports, asked of a store for the biggest app of
// GenerateFixture over ScaleRange.
type ScaleQuery struct {
	Name string // "stats", "chart=installs/day", "report=retention", ...
	Run  func() (any, error)
}

// ScaleQueries returns every report the dashboard asks for, bound to s, the biggest app of
// GenerateFixture and ScaleRange: what TimeReports and the stores' BenchmarkReports time.
func ScaleQueries(ctx context.Context, s ReportStore) []ScaleQuery {
	app := FixtureApps[0]
	from, to := ScaleRange()
	chart := func(c, interval string) func() (any, error) {
		return func() (any, error) { return s.Chart(ctx, app, c, from, to, interval) }
	}
	return []ScaleQuery{
		{"stats", func() (any, error) { return s.Stats(ctx, app, from, to) }},
		// The dashboard's "last 7 days" ends at the next minute: both ends are partial days.
		{"stats/rolling", func() (any, error) { return s.Stats(ctx, app, from.Add(-11*time.Hour), to.Add(-11*time.Hour)) }},
		{"chart=installs/day", chart(unmogrowp.ChartInstalls, unmogrowp.IntervalDay)},
		{"chart=installs/hour", chart(unmogrowp.ChartInstalls, unmogrowp.IntervalHour)},
		{"chart=media_sources", chart(unmogrowp.ChartMediaSources, "")},
		{"chart=events/hour", chart(unmogrowp.ChartEvents, unmogrowp.IntervalHour)},
		{"chart=revenue/day", chart(unmogrowp.ChartRevenue, unmogrowp.IntervalDay)},
		{"chart=platforms", chart(unmogrowp.ChartPlatforms, "")},
		{"report=media_sources", func() (any, error) { return s.MediaSourceReport(ctx, app, from, to) }},
		{"report=retention", func() (any, error) { return s.RetentionReport(ctx, app, from, to) }},
		{"report=fraud", func() (any, error) { return s.FraudReport(ctx, app, from, to) }},
	}
}

// TimeReports runs TimeQuery on every report of ScaleQueries.
func TimeReports(t *testing.T, s ReportStore) {
	for _, r := range ScaleQueries(context.Background(), s) {
		TimeQuery(t, r)
	}
}

// TimeQuery runs q 5 times (after one warm-up run) and logs the median, and the answer
// when it is Stats; it fails q when the median is over a second.
func TimeQuery(t *testing.T, q ScaleQuery) {
	first, err := q.Run()
	if err != nil {
		t.Fatalf("%s: %v", q.Name, err)
	}
	var ds []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := q.Run(); err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		ds = append(ds, time.Since(start))
	}
	m := median(ds)
	t.Logf("%-20s median %7.1f ms (runs %v)", q.Name, float64(m.Microseconds())/1000, roundAll(ds))
	if st, ok := first.(*unmogrowp.Stats); ok {
		t.Logf("  %+v", *st)
	}
	if m > time.Second {
		t.Errorf("%s: median %v, over 1s", q.Name, m)
	}
}

// roundAll rounds each duration to a millisecond, for the log.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
