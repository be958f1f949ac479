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

// TimeReports runs every report 5 times (after one warm-up run) for the biggest app of
// GenerateFixture over the last 7 days of its data, and logs each median; it
// fails a report whose median is over a second.
func TimeReports(t *testing.T, s ReportStore) {
	ctx := context.Background()
	app := FixtureApps[0]
	from, to := ScaleRange()
	reports := []struct {
		name string
		run  func() (any, error)
	}{
		{"stats", func() (any, error) { return s.Stats(ctx, app, from, to) }},
		{"chart installs/day", func() (any, error) {
			return s.Chart(ctx, app, unmogrowp.ChartInstalls, from, to, unmogrowp.IntervalDay)
		}},
		{"chart installs/hour", func() (any, error) {
			return s.Chart(ctx, app, unmogrowp.ChartInstalls, from, to, unmogrowp.IntervalHour)
		}},
		{"chart media_sources", func() (any, error) {
			return s.Chart(ctx, app, unmogrowp.ChartMediaSources, from, to, "")
		}},
		{"chart events/hour", func() (any, error) {
			return s.Chart(ctx, app, unmogrowp.ChartEvents, from, to, unmogrowp.IntervalHour)
		}},
		{"chart revenue/day", func() (any, error) {
			return s.Chart(ctx, app, unmogrowp.ChartRevenue, from, to, unmogrowp.IntervalDay)
		}},
		{"chart platforms", func() (any, error) {
			return s.Chart(ctx, app, unmogrowp.ChartPlatforms, from, to, "")
		}},
		{"media_sources report", func() (any, error) { return s.MediaSourceReport(ctx, app, from, to) }},
		{"retention report", func() (any, error) { return s.RetentionReport(ctx, app, from, to) }},
		{"fraud report", func() (any, error) { return s.FraudReport(ctx, app, from, to) }},
	}
	for _, r := range reports {
		first, err := r.run()
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		var ds []time.Duration
		for range 5 {
			start := time.Now()
			if _, err := r.run(); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			ds = append(ds, time.Since(start))
		}
		m := median(ds)
		t.Logf("%-22s median %7.1f ms (runs %v)", r.name, float64(m.Microseconds())/1000, roundAll(ds))
		if st, ok := first.(*unmogrowp.Stats); ok {
			t.Logf("  %+v", *st)
		}
		if m > time.Second {
			t.Errorf("%s: median %v, over 1s", r.name, m)
		}
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
