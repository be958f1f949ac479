package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/fx"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
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
	Name  string // "stats", "chart=installs/day", "report=retention", ...
	Run   func() (any, error)
	Limit time.Duration // the median it must stay under; 0: a second
}

// ScaleScope is the scope of the scale test's zoned queries (their names end in "@zone"):
// America/Los_Angeles and EUR, the fixture's USD revenue converted at ECB-like rates of
// every weekday of its span (weekends take Friday's), so that every amount converts.
func ScaleScope() unmogrowp.ReportScope {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		panic(err) // the time zone database is in Go's (tests import time/tzdata)
	}
	var rates []unmogrowp.FXRates
	for d := FixtureStart.AddDate(0, 0, -7); d.Before(FixtureStart.Add(FixtureSpan + 200*24*time.Hour)); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		rates = append(rates, unmogrowp.FXRates{Date: d.Format(time.DateOnly), Base: "EUR",
			Rates: map[string]float64{"USD": 1.05 + float64(d.YearDay()%10)/100, "JPY": 160}})
	}
	t, err := fx.NewTable(rates)
	if err != nil {
		panic(err)
	}
	return unmogrowp.ReportScope{Location: la, Currency: "EUR", Rates: t, Now: FixtureStart.Add(FixtureSpan + 365*24*time.Hour)}
}

// ScaleQueries returns every report the dashboard asks for, bound to s, the biggest app of
// GenerateFixture and ScaleRange: what TimeReports and the stores' BenchmarkReports time.
func ScaleQueries(ctx context.Context, s ReportStore) []ScaleQuery {
	app := FixtureApps[0]
	from, to := ScaleRange()
	chart := func(c, interval string) func() (any, error) {
		return func() (any, error) { return s.Chart(ctx, app, c, from, to, interval) }
	}
	sc := ScaleScope()
	zoned := func(c, interval string) func() (any, error) {
		return func() (any, error) { return s.Chart(ctx, app, c, from, to, interval, sc) }
	}
	breakdown := func(q unmogrowp.BreakdownQuery, scopes ...unmogrowp.ReportScope) func() (any, error) {
		return func() (any, error) { return s.Breakdown(ctx, app, from, to, q, scopes...) }
	}
	purchases := unmogrowp.BreakdownQuery{EventType: "purchase",
		Metrics: []string{unmogrowp.MetricEvents, unmogrowp.MetricUniqueDevices, unmogrowp.MetricRevenue}}
	withCompare := func(q unmogrowp.BreakdownQuery) unmogrowp.BreakdownQuery {
		q.Compare = true
		return q
	}
	qs := []ScaleQuery{
		{Name: "stats", Run: func() (any, error) { return s.Stats(ctx, app, from, to) }},
		// The dashboard's "last 7 days" ends at the next minute: both ends are partial days.
		{Name: "stats/rolling", Run: func() (any, error) { return s.Stats(ctx, app, from.Add(-11*time.Hour), to.Add(-11*time.Hour)) }},
		{Name: "chart=installs/day", Run: chart(unmogrowp.ChartInstalls, unmogrowp.IntervalDay)},
		{Name: "chart=installs/hour", Run: chart(unmogrowp.ChartInstalls, unmogrowp.IntervalHour)},
		{Name: "chart=media_sources", Run: chart(unmogrowp.ChartMediaSources, "")},
		{Name: "chart=events/hour", Run: chart(unmogrowp.ChartEvents, unmogrowp.IntervalHour)},
		{Name: "chart=revenue/day", Run: chart(unmogrowp.ChartRevenue, unmogrowp.IntervalDay)},
		{Name: "chart=platforms", Run: chart(unmogrowp.ChartPlatforms, "")},
		{Name: "report=media_sources", Run: func() (any, error) { return s.MediaSourceReport(ctx, app, from, to) }},
		{Name: "report=retention", Run: func() (any, error) { return s.RetentionReport(ctx, app, from, to) }},
		{Name: "report=fraud", Run: func() (any, error) { return s.FraudReport(ctx, app, from, to) }},
		// In America/Los_Angeles, converting the USD revenue to EUR.
		{Name: "stats@zone", Run: func() (any, error) { return s.Stats(ctx, app, from, to, sc) }},
		{Name: "chart=installs/day@zone", Run: zoned(unmogrowp.ChartInstalls, unmogrowp.IntervalDay)},
		{Name: "chart=events/day@zone", Run: zoned(unmogrowp.ChartEvents, unmogrowp.IntervalDay)},
		{Name: "chart=revenue/day@zone", Run: zoned(unmogrowp.ChartRevenue, unmogrowp.IntervalDay)},
		{Name: "report=media_sources@zone", Run: func() (any, error) { return s.MediaSourceReport(ctx, app, from, to, sc) }},
		{Name: "report=retention@zone", Run: func() (any, error) { return s.RetentionReport(ctx, app, from, to, sc) }},
		// In-app events by source (docs/breakdown.md): purchases' count, devices and revenue.
		{Name: "breakdown=media_source/purchases", Run: breakdown(purchases)},
		{Name: "breakdown=media_source/purchases@zone+compare", Run: breakdown(withCompare(purchases), sc)},
	}
	// Single-level breakdowns with one filter (docs/breakdown.md), the media_sources
	// report's metrics, by every dimension, each with and without compare=previous_period
	// and with and without the zone: under 1 s.
	for _, b := range scaleBreakdowns() {
		name := "breakdown=" + b.By[0] + "?" + filterDim(b)
		qs = append(qs,
			ScaleQuery{Name: name, Run: breakdown(b)},
			ScaleQuery{Name: name + "+compare", Run: breakdown(withCompare(b))},
			ScaleQuery{Name: name + "@zone", Run: breakdown(b, sc)},
			ScaleQuery{Name: name + "@zone+compare", Run: breakdown(withCompare(b), sc)})
	}
	return append(qs, []ScaleQuery{
		// Retention by source (docs/breakdown.md): report=retention's query grouped by the
		// media source too; in the zone, by campaign of one source.
		{Name: "report=retention?by=media_source", Run: func() (any, error) {
			return s.RetentionBreakdown(ctx, app, from, to, unmogrowp.RetentionQuery{By: []string{unmogrowp.DimMediaSource}})
		}},
		{Name: "report=retention?by=campaign&filter[media_source]@zone", Run: func() (any, error) {
			return s.RetentionBreakdown(ctx, app, from, to, unmogrowp.RetentionQuery{
				By: []string{unmogrowp.DimCampaign}, Filters: map[string][]string{unmogrowp.DimMediaSource: {"facebook_ads"}}}, sc)
		}},
		// 30 days of cohorts (the whole fixture) by media source, days 0 to 90: under 2 s.
		{Name: "report=ltv@zone", Limit: 2 * time.Second, Run: func() (any, error) {
			return s.LTVReport(ctx, app, FixtureStart, FixtureStart.Add(FixtureSpan), unmogrowp.LTVQuery{}, sc)
		}},
	}...)
}

// scaleBreakdowns are the single-level breakdowns of the scale test: one by each
// dimension of unmogrowp.BreakdownDimensions with the default metrics and one filter on
// another dimension, a value of GenerateFixture's biggest app as a marketer would pick it
// (the campaign's source, the country's platform...).
func scaleBreakdowns() []unmogrowp.BreakdownQuery {
	filters := map[string][2]string{
		unmogrowp.DimMediaSource: {unmogrowp.DimCountry, "US"},
		unmogrowp.DimCampaign:    {unmogrowp.DimMediaSource, "facebook_ads"},
		unmogrowp.DimAdset:       {unmogrowp.DimCampaign, "face_campaign_0"},
		unmogrowp.DimAd:          {unmogrowp.DimCampaign, "face_campaign_0"},
		unmogrowp.DimSiteID:      {unmogrowp.DimMediaSource, "facebook_ads"},
		unmogrowp.DimChannel:     {unmogrowp.DimMediaSource, "facebook_ads"},
		unmogrowp.DimCountry:     {unmogrowp.DimPlatform, unmogrowp.PlatformIOS},
		unmogrowp.DimPlatform:    {unmogrowp.DimCountry, "US"},
		unmogrowp.DimAppVersion:  {unmogrowp.DimPlatform, unmogrowp.PlatformIOS},
		unmogrowp.DimOSVersion:   {unmogrowp.DimPlatform, unmogrowp.PlatformAndroid},
	}
	var qs []unmogrowp.BreakdownQuery
	for _, d := range unmogrowp.BreakdownDimensions {
		f := filters[d]
		qs = append(qs, unmogrowp.BreakdownQuery{By: []string{d}, Filters: map[string][]string{f[0]: {f[1]}}})
	}
	return qs
}

// filterDim returns the dimension of the query's one filter ("" without one).
func filterDim(q unmogrowp.BreakdownQuery) string {
	for d := range q.Filters {
		return d
	}
	return ""
}

// TimeReports runs TimeQuery on every report of ScaleQueries, or with
// UNMOGROWP_REPORTS_ONLY set on those whose name contains it ("breakdown=": the
// breakdowns).
func TimeReports(t *testing.T, s ReportStore) {
	only := os.Getenv("UNMOGROWP_REPORTS_ONLY")
	for _, r := range ScaleQueries(context.Background(), s) {
		if strings.Contains(r.Name, only) {
			TimeQuery(t, r)
		}
	}
}

// TimeQuery runs q 5 times (after one warm-up run) and logs the median, the median CPU
// time the process used during a run (the store's threads are the process's: on a shared
// machine the wall time grows with the load, the CPU time much less), and the answer
// when it is Stats; it fails q when the median is over its Limit (a second by default).
func TimeQuery(t *testing.T, q ScaleQuery) {
	first, err := q.Run()
	if err != nil {
		t.Fatalf("%s: %v", q.Name, err)
	}
	var ds, cpus []time.Duration
	for range 5 {
		start, cpu := time.Now(), testenv.ProcessCPU()
		if _, err := q.Run(); err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		ds = append(ds, time.Since(start))
		cpus = append(cpus, testenv.ProcessCPU()-cpu)
	}
	m := median(ds)
	t.Logf("%-20s median %7.1f ms, cpu %7.1f ms (runs %v)", q.Name, float64(m.Microseconds())/1000,
		float64(median(cpus).Microseconds())/1000, roundAll(ds))
	if st, ok := first.(*unmogrowp.Stats); ok {
		t.Logf("  %+v", *st)
	}
	limit := cmp.Or(q.Limit, time.Second)
	if m > limit {
		t.Errorf("%s: median %v, over %v", q.Name, m, limit)
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

// GenerateExportScale streams n events of one app over FixtureSpan from
// FixtureStart, in event-time order, to fn in batches of batchEvents: one device in 40 is
// new, its first event an install with a decision (a third of them attributed to a click
// with adset and channel), and the other events are sessions and purchases of earlier
// devices, with the fields an SDK sends (ids, versions, JSON event_data). It is what the
// export's scale figure reads: every row of the biggest export one request may ask for.
// fn must not keep the batch.
func GenerateExportScale(app string, n, batchEvents int, fn func(unmogrowp.Batch) error) error {
	r := rand.New(rand.NewPCG(uint64(n), 23))
	step := FixtureSpan / time.Duration(n)
	var b unmogrowp.Batch
	devices := 0
	for i := range n {
		at := FixtureStart.Add(time.Duration(i) * step).Truncate(time.Microsecond)
		e := unmogrowp.Event{
			Partition: int32(i % 4), Offset: int64(i), EventID: fmt.Sprintf("ev%012d", i), AppID: app,
			EventType: unmogrowp.EventSession, Timestamp: at, ReceivedAt: at.Add(1500 * time.Millisecond),
			Platform: unmogrowp.PlatformAndroid, OSVersion: "14", AppVersion: "2.3.1", DeviceModel: "Pixel 8",
			Country: "DE", Language: "de-DE", IP: "203.0.113.7", UserAgent: "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)",
			MediaSource: unmogrowp.MediaSourceOrganic,
		}
		if devices == 0 || i%40 == 0 {
			devices++
			e.EventType = unmogrowp.EventInstall
		}
		d := devices - 1
		if e.EventType != unmogrowp.EventInstall {
			d = r.IntN(devices)
		}
		e.DeviceID = fmt.Sprintf("device-%09d", d)
		e.GAID = fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", d)
		if d%3 == 0 {
			e.MediaSource, e.Campaign = "googleadwords_int", fmt.Sprintf("campaign_%d", d%7)
		}
		if i%10 == 9 {
			e.EventType, e.Revenue, e.HasRevenue, e.Currency = "purchase", float64(d%50)+0.99, true, "EUR"
			e.EventData = json.RawMessage(fmt.Sprintf(`{"sku":"sku-%d","qty":%d}`, d%100, 1+i%3))
		}
		b.Events = append(b.Events, e)
		if e.EventType == unmogrowp.EventInstall {
			in := unmogrowp.Install{Partition: e.Partition, Offset: e.Offset, FirstInstallTime: at, Attribution: unmogrowp.Attribution{
				AppID: app, DeviceID: e.DeviceID, InstallEventID: e.EventID, InstallTime: at,
				MatchType: unmogrowp.MatchOrganic, MediaSource: unmogrowp.MediaSourceOrganic,
			}}
			if d%3 == 0 {
				in.Attributed, in.MatchType, in.TouchType = true, unmogrowp.MatchDeviceID, unmogrowp.TouchClick
				in.MediaSource, in.Campaign, in.Adset, in.Channel = e.MediaSource, e.Campaign, "adset_1", "youtube"
			}
			b.Installs = append(b.Installs, in)
		}
		if len(b.Events) == batchEvents || i == n-1 {
			if err := fn(b); err != nil {
				return err
			}
			b.Events, b.Installs = b.Events[:0], b.Installs[:0]
		}
	}
	return nil
}
