package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/fx"
)

// The reports in an app's zone and reporting currency (ReportScope): the report fixture
// read in Asia/Tokyo, and a fixture of payments in several currencies across
// America/Los_Angeles's change to daylight saving time (2026-03-08, 02:00 PST becomes
// 03:00 PDT: a day of 23 hours), with the ECB's kind of rates (base EUR, none at the
// weekend), read in that zone and converted to USD.

// moneyFixture builds app-z: four new installs and their payments (times UTC; LA dates):
//
//	z1 fb/c1  03-07 07:30 (03-06 23:30 PST)  pays 10 EUR at 03-07 08:00 (03-07, day 1)
//	                                          and 1000 JPY at 03-08 10:30 (03-08 03:30 PDT, day 2)
//	z2 gg/c2  03-08 09:30 (03-08 01:30 PST)  pays 5 USD at 03-08 09:45 (day 0)
//	z3 fb/c1  03-09 06:30 (03-08 23:30 PDT)  pays 2 GBP at 06:45 (day 0; no GBP rate)
//	                                          and 3 EUR at 03-10 06:59 (03-09 23:59 PDT, day 1)
//	z4 organic 03-09 07:30 (03-09 00:30 PDT) a purchase of 0
//
// The rates: 03-06 (a Friday) 1 EUR = 1.25 USD = 160 JPY; 03-09 1 EUR = 1.10 USD = 150
// JPY. So, in USD: 12.5 (Friday's rate on Saturday), 7.8125 (Friday's on Sunday), 5,
// nothing for the GBP (one unconverted amount), 3.3.
func moneyFixture(t *testing.T, open func(*testing.T) ReportStore) (*reportFixture, unmogrowp.Converter) {
	t.Helper()
	f := &reportFixture{s: open(t), devices: map[string]*unmogrowp.Install{}}
	at := func(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, time.UTC) }
	pay := func(device string, t time.Time, amount float64, cur string) {
		f.event("app-z", device, "purchase", t, amount)
		e := &f.b.Events[len(f.b.Events)-1]
		e.Currency, e.Revenue, e.HasRevenue = cur, amount, true
	}
	f.install("app-z", "z1", "ios", at(7, 7, 30), "fb", "c1", nil)
	pay("z1", at(7, 8, 0), 10, "EUR")
	pay("z1", at(8, 10, 30), 1000, "JPY")
	f.install("app-z", "z2", "android", at(8, 9, 30), "gg", "c2", nil)
	pay("z2", at(8, 9, 45), 5, "USD")
	f.install("app-z", "z3", "android", at(9, 6, 30), "fb", "c1", nil)
	pay("z3", at(9, 6, 45), 2, "GBP")
	pay("z3", at(10, 6, 59), 3, "EUR")
	f.install("app-z", "z4", "ios", at(9, 7, 30), "", "", nil)
	pay("z4", at(9, 8, 0), 0, "USD")
	if err := f.s.Append(context.Background(), f.b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	rates, err := fx.NewTable([]unmogrowp.FXRates{
		{Date: "2026-03-06", Base: "EUR", Rates: map[string]float64{"USD": 1.25, "JPY": 160}},
		{Date: "2026-03-09", Base: "EUR", Rates: map[string]float64{"USD": 1.10, "JPY": 150}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, rates
}

// testMoney reads the money fixture in Los Angeles and USD, and compares the answers with
// the golden files and the numbers counted by hand above.
func testMoney(t *testing.T, open func(*testing.T) ReportStore) {
	f, rates := moneyFixture(t, open)
	ctx := context.Background()
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	// The LA days 03-06 to 03-09, as the API reads from=2026-03-06&to=2026-03-09; now is
	// 03-09 13:00 PDT: 03-09 has not ended.
	from, to := time.Date(2026, 3, 6, 0, 0, 0, 0, la), time.Date(2026, 3, 10, 0, 0, 0, 0, la)
	sc := unmogrowp.ReportScope{Location: la, Currency: "USD", Rates: rates, Now: time.Date(2026, 3, 9, 20, 0, 0, 0, time.UTC)}
	const app = "app-z"

	t.Run("stats", func(t *testing.T) {
		st, err := f.s.Stats(ctx, app, from, to, sc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "la_stats", st)
		if st.Revenue != 28.6125 || st.UnconvertedAmounts != 1 || st.Currency != "USD" || st.Installs != 4 {
			t.Errorf("Stats = %+v; want revenue 28.6125 USD, 1 unconverted, 4 installs", st)
		}
	})
	t.Run("charts", func(t *testing.T) {
		ch, err := f.s.Chart(ctx, app, unmogrowp.ChartRevenue, from, to, unmogrowp.IntervalDay, sc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "la_chart_revenue_day", ch)
		days := []string{"2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09"}
		checkSeries(t, ch, days, map[string][]float64{"revenue": {0, 12.5, 12.8125, 3.3}})
		if ch.Currency != "USD" || ch.UnconvertedAmounts == nil || *ch.UnconvertedAmounts != 1 || ch.Timezone != "America/Los_Angeles" {
			t.Errorf("revenue chart says %q, %v unconverted, zone %q", ch.Currency, ch.UnconvertedAmounts, ch.Timezone)
		}
		ch, err = f.s.Chart(ctx, app, unmogrowp.ChartInstalls, from, to, unmogrowp.IntervalDay, sc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "la_chart_installs_day", ch)
		checkSeries(t, ch, days, map[string][]float64{"organic": {0, 0, 0, 1}, "non_organic": {1, 0, 2, 0}, "rejected": {0, 0, 0, 0}})
		ch, err = f.s.Chart(ctx, app, unmogrowp.ChartEvents, from, to, unmogrowp.IntervalDay, sc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "la_chart_events_day", ch)
	})
	t.Run("media_sources", func(t *testing.T) {
		rep, err := f.s.MediaSourceReport(ctx, app, from, to, sc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "la_media_sources", rep)
		want := map[string]float64{"fb/c1": 23.6125, "gg/c2": 5, "organic/": 0}
		for _, r := range rep.Rows {
			if w := want[r.MediaSource+"/"+r.Campaign]; math.Abs(r.Revenue-w) > 1e-9 {
				t.Errorf("%s/%s revenue %v, want %v", r.MediaSource, r.Campaign, r.Revenue, w)
			}
		}
		if rep.UnconvertedAmounts != 1 || rep.Currency != "USD" {
			t.Errorf("media_sources: %d unconverted in %q, want 1 in USD", rep.UnconvertedAmounts, rep.Currency)
		}
	})
	t.Run("retention", func(t *testing.T) {
		rep, err := f.s.RetentionReport(ctx, app, from, to, sc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "la_retention", rep)
		// 03-06's days 0 to 2 have ended (03-09 began at 07:00 UTC), 03-08's day 0 only,
		// 03-09's none: a day under way is absent, not 0.
		want := map[string][]int64{"2026-03-06": {1, 1, 1}, "2026-03-08": {2}, "2026-03-09": {}}
		for _, c := range rep.Cohorts {
			if w, ok := want[c.InstallDate]; !ok || !equalInts(c.Retained, w) {
				t.Errorf("cohort %s retained %v, want %v", c.InstallDate, c.Retained, w)
			}
		}
		if len(rep.Cohorts) != len(want) || rep.Timezone != "America/Los_Angeles" {
			t.Errorf("cohorts %+v in %q, want 3 in America/Los_Angeles", rep.Cohorts, rep.Timezone)
		}
	})
	t.Run("ltv", func(t *testing.T) {
		rep, err := f.s.LTVReport(ctx, app, from, to, unmogrowp.LTVQuery{Days: []int{7, 0, 1, 2}}, sc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "la_ltv_media_source", rep)
		type want struct {
			revenue map[string]float64
			paying  map[string]int64
		}
		wants := map[string]want{
			"2026-03-06/fb":      {map[string]float64{"0": 0, "1": 12.5, "2": 20.3125}, map[string]int64{"0": 0, "1": 1, "2": 1}},
			"2026-03-08/fb":      {map[string]float64{"0": 0}, map[string]int64{"0": 1}}, // the GBP: paid, unconverted
			"2026-03-08/gg":      {map[string]float64{"0": 5}, map[string]int64{"0": 1}},
			"2026-03-09/organic": {map[string]float64{}, map[string]int64{}}, // day 0 under way
		}
		for _, c := range rep.Cohorts {
			w, ok := wants[c.InstallDate+"/"+c.MediaSource]
			if !ok || !equalMap(c.Revenue, w.revenue) || !equalMap(c.PayingUsers, w.paying) || c.Installs != 1 || c.Campaign != "" {
				t.Errorf("cohort %+v, want %+v", c, w)
			}
		}
		if len(rep.Cohorts) != len(wants) || rep.UnconvertedAmounts != 1 || rep.Currency != "USD" || rep.Timezone != "America/Los_Angeles" {
			t.Errorf("report %+v", rep)
		}
		for _, q := range []unmogrowp.LTVQuery{{GroupBy: unmogrowp.GroupByCampaign}, {GroupBy: unmogrowp.GroupByNone, Days: []int{0, 1, 2}}} {
			rep, err := f.s.LTVReport(ctx, app, from, to, q, sc)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "la_ltv_"+q.GroupBy, rep)
		}
		none, _ := f.s.LTVReport(ctx, app, from, to, unmogrowp.LTVQuery{GroupBy: unmogrowp.GroupByNone, Days: []int{0, 1, 2}}, sc)
		if c := none.Cohorts[1]; c.InstallDate != "2026-03-08" || c.Installs != 2 || c.Revenue["0"] != 5 || c.ARPU["0"] != 2.5 || c.PayingUsers["0"] != 2 {
			t.Errorf("03-08 of every source: %+v, want 2 installs, revenue 5, ARPU 2.5, 2 paying", c)
		}
	})
	t.Run("ltv invalid", func(t *testing.T) {
		for _, q := range []unmogrowp.LTVQuery{{GroupBy: "country"}, {Days: []int{366}}, {Days: []int{-1}}, {Days: []int{}}} {
			if _, err := f.s.LTVReport(ctx, app, from, to, q, sc); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Errorf("LTVReport(%+v): %v, want EINVALID", q, err)
			}
		}
	})
}

// testTokyo reads the report fixture in Asia/Tokyo (UTC+9, no daylight saving): its
// three UTC days become four Tokyo days, each report compared with its golden file.
func testTokyo(t *testing.T, open func(*testing.T) ReportStore) {
	f := newReportFixture(t, open)
	ctx := context.Background()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	sc := unmogrowp.ReportScope{Location: tokyo, Currency: "USD", Now: f.to.AddDate(0, 2, 0)}
	const app = "app-a"
	st, err := f.s.Stats(ctx, app, f.from, f.to, sc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tokyo_stats", st)
	for _, c := range []string{unmogrowp.ChartInstalls, unmogrowp.ChartEvents, unmogrowp.ChartRevenue} {
		ch, err := f.s.Chart(ctx, app, c, f.from, f.to, unmogrowp.IntervalDay, sc)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "tokyo_chart_"+c+"_day", ch)
		if c == unmogrowp.ChartInstalls {
			// 03-02 01:00, 02:00 and 10:30 UTC are Tokyo's 03-02; 03-03 05:00 and 06:00 are
			// 03-03 (14:00, 15:00); 03-04 23:00 is Tokyo's 03-05 08:00. One of 03-02's
			// installs not attributed is rejected (every candidate rejected), not organic.
			checkSeries(t, ch, []string{"2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"},
				map[string][]float64{"organic": {1, 0, 0, 1}, "non_organic": {1, 2, 0, 0}, "rejected": {1, 0, 0, 0}})
		}
	}
	ms, err := f.s.MediaSourceReport(ctx, app, f.from, f.to, sc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tokyo_media_sources", ms)
	ret, err := f.s.RetentionReport(ctx, app, f.from, f.to, sc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tokyo_retention", ret)
	ltv, err := f.s.LTVReport(ctx, app, f.from, f.to, unmogrowp.LTVQuery{GroupBy: unmogrowp.GroupByCampaign}, sc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tokyo_ltv_campaign", ltv)
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalMap[V int64 | float64](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || math.Abs(float64(v-w)) > 1e-9 {
			return false
		}
	}
	return true
}
