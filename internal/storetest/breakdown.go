package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// testBreakdown runs Reports.Breakdown on the report fixture and the money fixture in Los
// Angeles: golden files for the answers (as BreakdownCounts.Report lays them out, without
// cost), the media_sources report's rows for the same dimensions and metrics, and key
// numbers counted by hand (reportFixture's comment).
func testBreakdown(t *testing.T, open func(*testing.T) ReportStore) {
	f := newReportFixture(t, open)
	ctx := context.Background()
	const app = "app-a"
	run := func(t *testing.T, q unmogrowp.BreakdownQuery, from, to time.Time, sc ...unmogrowp.ReportScope) *unmogrowp.Breakdown {
		t.Helper()
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		c, err := f.s.Breakdown(ctx, app, from, to, q, sc...)
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := c.Report(q, nil, unmogrowp.Scope(sc...))
		return rep
	}
	// value returns the metric of the row whose dimensions are dims (nil: null).
	value := func(t *testing.T, rep *unmogrowp.Breakdown, metric string, dims ...any) float64 {
		t.Helper()
		for _, r := range append(rep.Rows, rep.Totals) {
			if len(r.Dims) != len(dims) {
				continue
			}
			match := true
			for i, d := range dims {
				switch v := d.(type) {
				case nil:
					match = match && r.Dims[i] == nil
				case string:
					match = match && r.Dims[i] != nil && *r.Dims[i] == v
				}
			}
			if i := slices.Index(r.Metrics, metric); match && i >= 0 && r.Values[i] != nil {
				return *r.Values[i]
			}
		}
		t.Errorf("no %s in the row %v", metric, dims)
		return 0
	}

	t.Run("default", func(t *testing.T) {
		rep := run(t, unmogrowp.BreakdownQuery{}, f.from, f.to)
		golden(t, "breakdown_default", rep)
	})

	// The media_sources report is the breakdown by media source and campaign.
	t.Run("media_sources", func(t *testing.T) {
		q := unmogrowp.BreakdownQuery{
			By: []string{unmogrowp.DimMediaSource, unmogrowp.DimCampaign},
			Metrics: []string{unmogrowp.MetricClicks, unmogrowp.MetricImpressions, unmogrowp.MetricInstalls,
				unmogrowp.MetricEvents, unmogrowp.MetricRevenue, unmogrowp.MetricRejectedInstalls, unmogrowp.MetricConversionRate,
				unmogrowp.MetricReengagements},
			Limit: unmogrowp.MaxBreakdownLimit,
		}
		rep := run(t, q, f.from, f.to)
		golden(t, "breakdown_media_sources", rep)
		ms, err := f.s.MediaSourceReport(ctx, app, f.from, f.to)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != len(ms.Rows) {
			t.Fatalf("%d rows, the media_sources report %d", len(rep.Rows), len(ms.Rows))
		}
		for _, r := range ms.Rows {
			got := []float64{}
			for _, m := range q.Metrics {
				got = append(got, value(t, rep, m, r.MediaSource, r.Campaign))
			}
			want := []float64{float64(r.Clicks), float64(r.Impressions), float64(r.Installs), float64(r.Events), r.Revenue, float64(r.RejectedInstalls), r.ConversionRate,
				float64(r.Reengagements)}
			if !slices.Equal(got, want) {
				t.Errorf("%s/%s: %v, the media_sources report %v", r.MediaSource, r.Campaign, got, want)
			}
		}
	})

	t.Run("platform filtered", func(t *testing.T) {
		q := unmogrowp.BreakdownQuery{
			By:      []string{unmogrowp.DimPlatform},
			Metrics: []string{unmogrowp.MetricInstalls, unmogrowp.MetricClicks, unmogrowp.MetricEvents, unmogrowp.MetricUniqueDevices},
			Filters: map[string][]string{unmogrowp.DimMediaSource: {"fb", "organic"}},
		}
		rep := run(t, q, f.from, f.to)
		golden(t, "breakdown_platform_filtered", rep)
		// Installs of fb and organic by their install event's platform; clicks have no
		// platform: fb's 6 are in the null row.
		for _, c := range []struct {
			platform any
			metric   string
			want     float64
		}{
			{"ios", unmogrowp.MetricInstalls, 2}, {"android", unmogrowp.MetricInstalls, 1}, {"web", unmogrowp.MetricInstalls, 1},
			{nil, unmogrowp.MetricClicks, 6},
		} {
			if got := value(t, rep, c.metric, c.platform); got != c.want {
				t.Errorf("%s of %v = %v, want %v", c.metric, c.platform, got, c.want)
			}
		}
	})

	t.Run("purchases by campaign", func(t *testing.T) {
		q := unmogrowp.BreakdownQuery{
			By:        []string{unmogrowp.DimCampaign},
			Metrics:   []string{unmogrowp.MetricEvents, unmogrowp.MetricUniqueDevices, unmogrowp.MetricRevenue, unmogrowp.MetricSessions},
			EventType: "purchase",
		}
		rep := run(t, q, f.from, f.to)
		golden(t, "breakdown_purchases", rep)
		for _, c := range []struct {
			campaign       string
			events, amount float64
		}{{"", 1, 1.99}, {"fb_c1", 1, 4.99}, {"gg_c2", 1, 10}} {
			if e, r := value(t, rep, unmogrowp.MetricEvents, c.campaign), value(t, rep, unmogrowp.MetricRevenue, c.campaign); e != c.events || r != c.amount {
				t.Errorf("campaign %q: %v purchases of %v, want %v of %v", c.campaign, e, r, c.events, c.amount)
			}
		}
		if n := value(t, rep, unmogrowp.MetricUniqueDevices); n != 2 {
			t.Errorf("%v unique purchasing devices in all, want 2 (o1, n1)", n)
		}
		if n := value(t, rep, unmogrowp.MetricSessions); n != 9 {
			t.Errorf("%v sessions in all, want 9: the event type does not narrow them", n)
		}
	})

	// Day 1 against day 0.
	t.Run("compare", func(t *testing.T) {
		q := unmogrowp.BreakdownQuery{
			Metrics: []string{unmogrowp.MetricInstalls, unmogrowp.MetricClicks, unmogrowp.MetricEvents},
			Compare: true,
		}
		rep := run(t, q, reportAt(1, 0, 0), reportAt(2, 0, 0))
		golden(t, "breakdown_compare", rep)
		for _, r := range rep.Rows {
			if r.Previous == nil || r.Change == nil {
				t.Fatalf("row %v has no previous or change", r.Dims)
			}
		}
		row := func(src string) unmogrowp.BreakdownRow {
			for _, r := range rep.Rows {
				if *r.Dims[0] == src {
					return r
				}
			}
			t.Fatalf("no row %s", src)
			return unmogrowp.BreakdownRow{}
		}
		if r := row("fb"); *r.Values[0] != 1 || *r.Previous[0] != 1 || *r.Change[0] != 0 {
			t.Errorf("fb installs %v, previous %v, change %v; want 1, 1, 0", *r.Values[0], *r.Previous[0], *r.Change[0])
		}
		if r := row("gg"); *r.Values[0] != 1 || *r.Previous[0] != 0 || r.Change[0] != nil {
			t.Errorf("gg installs %v, previous %v, change %v; want 1, 0, null", *r.Values[0], *r.Previous[0], r.Change[0])
		}
		if r := row("organic"); *r.Values[0] != 0 || *r.Previous[0] != 1 || *r.Change[0] != -1 {
			t.Errorf("organic installs %v, previous %v, change %v; want 0, 1, -1", *r.Values[0], *r.Previous[0], *r.Change[0])
		}
	})

	t.Run("filter on a dimension touchpoints lack", func(t *testing.T) {
		q := unmogrowp.BreakdownQuery{
			By:      []string{unmogrowp.DimMediaSource, unmogrowp.DimAdset},
			Metrics: []string{unmogrowp.MetricClicks, unmogrowp.MetricInstalls, unmogrowp.MetricEvents},
			Filters: map[string][]string{unmogrowp.DimPlatform: {"ios"}},
		}
		rep := run(t, q, f.from, f.to)
		golden(t, "breakdown_ios_adset", rep)
		if n := value(t, rep, unmogrowp.MetricClicks); n != 0 {
			t.Errorf("%v clicks on ios: touchpoints have no platform, want 0", n)
		}
		if n := value(t, rep, unmogrowp.MetricInstalls); n != 2 {
			t.Errorf("%v ios installs, want 2 (o1, n1)", n)
		}
	})

	t.Run("Los Angeles", func(t *testing.T) {
		mf, rates := moneyFixture(t, open)
		la, err := time.LoadLocation("America/Los_Angeles")
		if err != nil {
			t.Fatal(err)
		}
		from, to := time.Date(2026, 3, 6, 0, 0, 0, 0, la), time.Date(2026, 3, 10, 0, 0, 0, 0, la)
		sc := unmogrowp.ReportScope{Location: la, Currency: "USD", Rates: rates}
		q := unmogrowp.BreakdownQuery{
			By:      []string{unmogrowp.DimMediaSource, unmogrowp.DimCampaign},
			Metrics: []string{unmogrowp.MetricInstalls, unmogrowp.MetricRevenue, unmogrowp.MetricUniqueDevices},
		}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		c, err := mf.s.Breakdown(ctx, "app-z", from, to, q, sc)
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := c.Report(q, nil, sc)
		golden(t, "la_breakdown", rep)
		if *rep.Totals.Values[1] != 28.6125 || rep.UnconvertedAmounts != 1 || rep.Timezone != "America/Los_Angeles" || rep.Currency != "USD" {
			t.Errorf("revenue %v %s, %d unconverted, zone %s; want 28.6125 USD, 1, America/Los_Angeles",
				*rep.Totals.Values[1], rep.Currency, rep.UnconvertedAmounts, rep.Timezone)
		}
	})

	t.Run("app without data", func(t *testing.T) {
		q := unmogrowp.BreakdownQuery{Metrics: slices.Clone(unmogrowp.BreakdownMetrics), Compare: true}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		c, err := f.s.Breakdown(ctx, "app-none", f.from, f.to, q)
		if err != nil || len(c.Rows) != 0 || c.Totals != [2]unmogrowp.BreakdownTotals{} {
			t.Errorf("Breakdown = %+v, %v; want no rows and zero totals", c, err)
		}
	})
}
