package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// testTouchpointCosts runs Reports.TouchpointCosts on a fixture counted by hand, and the
// media_sources report with that cost and imported cost merged (MediaSourceReport.AddCost),
// and compares both with golden files. Over [reportDay0, reportDay0+3d) app-a has:
//
//	day 0  fb/fb_c1 two cpc clicks of 0.50 USD; gg/gg_c1 three cpm impressions of 2 USD;
//	       a click without cost
//	day 1  fb/fb_c1 a cpc click of 0.40 EUR; fb/fb_cpi cpi touches of 3 USD: i1 won the
//	       install of n1 (counts), i2 the reinstall of r1 (does not)
//	day 2  fb/fb_cpi cpi touches of 3 USD: i3 won a re-attribution (does not count), i4
//	       nothing (does not), i5 won an install on day 3, after the range (counts: cost
//	       is on the touch's day)
//	also   a cpc click before the range, a cpi touch before the range that won an install
//	       on day 0 (neither counts); app-b's cpc click (never app-a's)
func testTouchpointCosts(t *testing.T, open func(*testing.T) ReportStore) {
	f := &reportFixture{s: open(t), from: reportDay0, to: reportAt(3, 0, 0), devices: map[string]*unmogrowp.Install{}}
	ctx := context.Background()
	cost := func(model string, value float64, currency string) {
		tp := &f.b.Touchpoints[len(f.b.Touchpoints)-1]
		tp.CostModel, tp.CostValue, tp.CostCurrency = model, value, currency
	}
	won := func(in *unmogrowp.Install, touchpoint string) *unmogrowp.Install {
		for _, tp := range f.b.Touchpoints {
			if tp.ID == touchpoint {
				in.TouchpointID, in.TouchTime = tp.ID, tp.Time
			}
		}
		return in
	}
	f.touch("app-a", "tp-c1", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(0, 1, 0))
	cost(unmogrowp.CostCPC, 0.5, "USD")
	f.touch("app-a", "tp-c2", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(0, 5, 0))
	cost(unmogrowp.CostCPC, 0.5, "USD")
	for _, id := range []string{"tp-m1", "tp-m2", "tp-m3"} {
		f.touch("app-a", id, unmogrowp.TouchImpression, "gg", "gg_c1", reportAt(0, 6, 0))
		cost(unmogrowp.CostCPM, 2, "USD")
	}
	f.touch("app-a", "tp-free", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(0, 7, 0))
	f.touch("app-a", "tp-c3", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(1, 2, 0))
	cost(unmogrowp.CostCPC, 0.4, "EUR")
	for _, tc := range []struct {
		id   string
		days int
		hour int
	}{{"tp-i0", -1, 20}, {"tp-i1", 1, 10}, {"tp-i2", 1, 11}, {"tp-i3", 2, 1}, {"tp-i4", 2, 2}, {"tp-i5", 2, 23}} {
		f.touch("app-a", tc.id, unmogrowp.TouchClick, "fb", "fb_cpi", reportAt(tc.days, tc.hour, 0))
		cost(unmogrowp.CostCPI, 3, "USD")
	}
	f.touch("app-a", "tp-before", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(-1, 23, 0))
	cost(unmogrowp.CostCPC, 100, "USD")
	f.touch("app-b", "tp-b", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(0, 1, 0))
	cost(unmogrowp.CostCPC, 100, "USD")

	won(f.install("app-a", "n0", "ios", reportAt(0, 2, 0), "fb", "fb_cpi", nil), "tp-i0")
	won(f.install("app-a", "n1", "ios", reportAt(1, 10, 30), "fb", "fb_cpi", nil), "tp-i1")
	f.event("app-a", "n1", "purchase", reportAt(1, 12, 0), 6)
	f.install("app-a", "r1", "android", reportAt(0, 3, 0), "fb", "fb_c1", nil)
	won(f.install("app-a", "r1", "android", reportAt(1, 11, 30), "fb", "fb_cpi", nil), "tp-i2").IsReinstall = true
	won(f.install("app-a", "n0", "ios", reportAt(2, 1, 30), "fb", "fb_cpi", nil), "tp-i3").IsReattribution = true
	won(f.install("app-a", "n5", "ios", reportAt(3, 0, 30), "fb", "fb_cpi", nil), "tp-i5")
	won(f.install("app-b", "b1", "ios", reportAt(0, 2, 0), "fb", "fb_c1", nil), "tp-b")
	if err := f.s.Append(ctx, f.b); err != nil {
		t.Fatalf("Append: %v", err)
	}

	t.Run("touchpoint_costs", func(t *testing.T) {
		got, err := f.s.TouchpointCosts(ctx, "app-a", f.from, f.to)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "touchpoint_costs", got)
		want := []unmogrowp.DailyCost{
			{Date: "2026-03-02", MediaSource: "fb", Campaign: "fb_c1", Currency: "USD", Amount: 1},
			{Date: "2026-03-02", MediaSource: "gg", Campaign: "gg_c1", Currency: "USD", Amount: 0.006},
			{Date: "2026-03-03", MediaSource: "fb", Campaign: "fb_c1", Currency: "EUR", Amount: 0.4},
			{Date: "2026-03-03", MediaSource: "fb", Campaign: "fb_cpi", Currency: "USD", Amount: 3},
			{Date: "2026-03-04", MediaSource: "fb", Campaign: "fb_cpi", Currency: "USD", Amount: 3},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("TouchpointCosts =\n%+v\nwant\n%+v", got, want)
		}
		none, err := f.s.TouchpointCosts(ctx, "app-none", f.from, f.to)
		if err != nil || none == nil || len(none) != 0 {
			t.Errorf("an app without cost: %v, %v; want an empty, non-nil slice", none, err)
		}
		if _, err := f.s.TouchpointCosts(ctx, "", f.from, f.to); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("no app id: err = %v, want EINVALID", err)
		}
	})

	// In Los Angeles (UTC-8 until 8 March) the same touches fall on the local days before:
	// day 0's morning is the evening of 1 March, i5 (day 2, 23:00 UTC) still 4 March.
	t.Run("touchpoint_costs_los_angeles", func(t *testing.T) {
		la, err := unmogrowp.LoadZone("America/Los_Angeles")
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.s.TouchpointCosts(ctx, "app-a", f.from, f.to, unmogrowp.ReportScope{Location: la})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "touchpoint_costs_la", got)
		want := []unmogrowp.DailyCost{
			{Date: "2026-03-01", MediaSource: "fb", Campaign: "fb_c1", Currency: "USD", Amount: 1},
			{Date: "2026-03-01", MediaSource: "gg", Campaign: "gg_c1", Currency: "USD", Amount: 0.006},
			{Date: "2026-03-02", MediaSource: "fb", Campaign: "fb_c1", Currency: "EUR", Amount: 0.4},
			{Date: "2026-03-03", MediaSource: "fb", Campaign: "fb_cpi", Currency: "USD", Amount: 3},
			{Date: "2026-03-04", MediaSource: "fb", Campaign: "fb_cpi", Currency: "USD", Amount: 3},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("TouchpointCosts in Los Angeles =\n%+v\nwant\n%+v", got, want)
		}
	})

	t.Run("media_sources_cost", func(t *testing.T) {
		rep, err := f.s.MediaSourceReport(ctx, "app-a", f.from, f.to)
		if err != nil {
			t.Fatal(err)
		}
		touch, err := f.s.TouchpointCosts(ctx, "app-a", f.from, f.to)
		if err != nil {
			t.Fatal(err)
		}
		imported := []unmogrowp.Cost{
			// Imported cost of fb/fb_c1 on day 1: the touchpoints' 0.40 EUR is not added.
			{Date: "2026-03-03", MediaSource: "fb", Campaign: "fb_c1", Adset: "a", Cost: 10, Currency: "USD"},
			{Date: "2026-03-03", MediaSource: "fb", Campaign: "fb_c1", Adset: "b", Country: "DE", Cost: 5, Currency: "USD"},
			// A source without touchpoints or installs gets a row of its own.
			{Date: "2026-03-02", MediaSource: "tt", Campaign: "tt_c1", Cost: 7, Currency: "USD"},
			// No rate from JPY without a converter: left out, and counted.
			{Date: "2026-03-04", MediaSource: "gg", Campaign: "gg_c1", Cost: 1000, Currency: "JPY"},
		}
		costs, unconverted := unmogrowp.ConvertCosts(unmogrowp.MergeCosts(imported, touch), unmogrowp.ReportScope{Currency: "USD"})
		rep.AddCost(costs, "USD", unconverted)
		golden(t, "media_sources_cost", rep)
		if rep.Currency != "USD" || rep.UnconvertedAmounts != 1 {
			t.Errorf("currency %q, unconverted_amounts %d; want USD and 1", rep.Currency, rep.UnconvertedAmounts)
		}
		byRow := map[string]unmogrowp.MediaSourceRow{}
		for _, r := range rep.Rows {
			byRow[r.MediaSource+"/"+r.Campaign] = r
		}
		for key, want := range map[string]struct {
			cost       float64
			ecpi, roas *float64
		}{
			"fb/fb_c1":   {16, ptr(16.0), ptr(0.0)}, // 1.00 of day 0, 15 imported of day 1; one install (r1)
			"fb/fb_cpi":  {6, ptr(3.0), ptr(1.0)},   // n0 and n1 installed in range; 6 of revenue
			"gg/gg_c1":   {0.006, nil, ptr(0.0)},
			"tt/tt_c1":   {7, nil, ptr(0.0)},
			"fb/missing": {},
		} {
			r, ok := byRow[key]
			if key == "fb/missing" {
				if ok {
					t.Errorf("row %s should not exist", key)
				}
				continue
			}
			if !ok || r.Cost != want.cost || !reflect.DeepEqual(r.ECPI, want.ecpi) || !reflect.DeepEqual(r.ROAS, want.roas) {
				t.Errorf("row %s = %+v (ecpi %v, roas %v), want cost %v ecpi %v roas %v", key, r, deref(r.ECPI), deref(r.ROAS), want.cost, deref(want.ecpi), deref(want.roas))
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

// deref shows a pointer's value, or nil.
func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
