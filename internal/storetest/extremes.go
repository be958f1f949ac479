package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Reports over stored extremes. Ingestion bounds revenue (unmogrowp.MaxRevenue), but a
// store may hold what was stored before the bound, or what came in by another way: every
// report must still answer finite numbers that JSON can carry, never an error and never a
// sum that overflowed to an infinity or NaN (which encoding/json refuses, a 500).

// ExtremeRevenues are stored revenues that ingestion refuses today, and their neighbours:
// the largest and smallest float64, the infinities, NaN, a subnormal, values beyond and
// at the bound.
var ExtremeRevenues = []float64{
	math.MaxFloat64, -math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN(),
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 1e303, -1e303,
	unmogrowp.MaxRevenue, -unmogrowp.MaxRevenue, math.Nextafter(unmogrowp.MaxRevenue, math.Inf(1)),
}

// CountedRevenue is what the reports count of a stored revenue r: r within
// ±unmogrowp.MaxRevenue, the bound for r beyond it (the infinities too), and 0 for NaN.
func CountedRevenue(r float64) float64 {
	if math.IsNaN(r) {
		return 0
	}
	return max(-unmogrowp.MaxRevenue, min(r, unmogrowp.MaxRevenue))
}

// CheckFiniteReports runs every report of the app over [from, to), every chart at both
// intervals, and returns an error naming the first one that fails, or whose answer
// encoding/json cannot encode (an infinity or NaN in it).
func CheckFiniteReports(ctx context.Context, s unmogrowp.Reports, app string, from, to time.Time) error {
	check := func(name string, v any, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := json.Marshal(v); err != nil {
			return fmt.Errorf("%s: the answer is not JSON: %w", name, err)
		}
		return nil
	}
	st, err := s.Stats(ctx, app, from, to)
	if err := check("stats", st, err); err != nil {
		return err
	}
	for _, c := range unmogrowp.ChartTypes {
		for _, interval := range []string{unmogrowp.IntervalDay, unmogrowp.IntervalHour} {
			ch, err := s.Chart(ctx, app, c, from, to, interval)
			if err := check("chart "+c+" by "+interval, ch, err); err != nil {
				return err
			}
		}
	}
	ms, err := s.MediaSourceReport(ctx, app, from, to)
	if err := check("media_sources", ms, err); err != nil {
		return err
	}
	ret, err := s.RetentionReport(ctx, app, from, to)
	if err := check("retention", ret, err); err != nil {
		return err
	}
	fr, err := s.FraudReport(ctx, app, from, to)
	return check("fraud", fr, err)
}

// testExtremeRevenue stores events whose revenues are ExtremeRevenues and ordinary ones,
// straight into the store (ingestion would refuse most), and checks that every report
// answers, finite, with the revenue counted as CountedRevenue says: the golden files
// extreme_*.golden hold the answers.
func testExtremeRevenue(t *testing.T, open func(*testing.T) ReportStore) {
	s := open(t)
	ctx := context.Background()
	const app = "app-x"
	from, to := reportDay0, reportAt(2, 0, 0)
	// Per media source: fb's sum overflows to +Inf unless bounded, organic's to -Inf, and
	// gg's is +Inf + NaN + -Inf.
	type ev struct {
		source, campaign string
		at               time.Time
		revenue          float64
	}
	evs := []ev{
		{"fb", "fb_c1", reportAt(0, 1, 0), math.MaxFloat64},
		{"fb", "fb_c1", reportAt(0, 2, 0), math.MaxFloat64},
		{"fb", "fb_c1", reportAt(1, 3, 0), 1e303},
		{unmogrowp.MediaSourceOrganic, "", reportAt(0, 4, 0), -math.MaxFloat64},
		{unmogrowp.MediaSourceOrganic, "", reportAt(1, 5, 0), math.SmallestNonzeroFloat64},
		{unmogrowp.MediaSourceOrganic, "", reportAt(1, 6, 0), 12.5},
		{unmogrowp.MediaSourceOrganic, "", reportAt(1, 7, 0), -3.25},
		{"gg", "gg_c1", reportAt(0, 8, 0), math.Inf(1)},
		{"gg", "gg_c1", reportAt(0, 9, 0), math.NaN()},
		{"gg", "gg_c1", reportAt(1, 10, 0), math.Inf(-1)},
	}
	var b unmogrowp.Batch
	var want float64
	for i, e := range evs {
		b.Events = append(b.Events, unmogrowp.Event{
			Offset: int64(i + 1), EventID: fmt.Sprint("x", i), AppID: app, EventType: "purchase",
			DeviceID: fmt.Sprint("d", i%4), Timestamp: e.at, ReceivedAt: e.at,
			Revenue: e.revenue, HasRevenue: true, Currency: "USD", MediaSource: e.source, Campaign: e.campaign,
		})
		want += CountedRevenue(e.revenue)
	}
	if err := s.Append(ctx, b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := CheckFiniteReports(ctx, s, app, from, to); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "extreme_stats", st)
	if st.Revenue != want || want != 2*unmogrowp.MaxRevenue+9.25 {
		t.Errorf("stats revenue = %v, want %v", st.Revenue, want)
	}
	ch, err := s.Chart(ctx, app, unmogrowp.ChartRevenue, from, to, unmogrowp.IntervalDay)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "extreme_chart_revenue_day", ch)
	checkSeries(t, ch, []string{"2026-03-02", "2026-03-03"}, map[string][]float64{
		"revenue": {2*unmogrowp.MaxRevenue - unmogrowp.MaxRevenue + unmogrowp.MaxRevenue, unmogrowp.MaxRevenue + 9.25 - unmogrowp.MaxRevenue},
	})
	ms, err := s.MediaSourceReport(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "extreme_media_sources", ms)
	got := map[string]float64{}
	for _, r := range ms.Rows {
		got[r.MediaSource] = r.Revenue
	}
	if w := map[string]float64{"fb": 3 * unmogrowp.MaxRevenue, unmogrowp.MediaSourceOrganic: -unmogrowp.MaxRevenue + 9.25, "gg": 0}; fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("media_sources revenue by source = %v, want %v", got, w)
	}
}

// FuzzReportArithmetic is the body of a fuzz target of a store's report arithmetic: each
// input is three revenues, stored as events of a fresh app in s (one day apart, under
// two media sources), and every report of that app must answer finite, JSON-encodable
// numbers, Stats' revenue the sum of their CountedRevenue.
func FuzzReportArithmetic(f *testing.F, s ReportStore) {
	for i, r := range ExtremeRevenues {
		f.Add(r, ExtremeRevenues[(i+1)%len(ExtremeRevenues)], -r)
		f.Add(r, r, r)
	}
	f.Add(1.99, 0.0, -0.5)
	var n int64
	f.Fuzz(func(t *testing.T, a, b, c float64) {
		ctx := context.Background()
		n++
		app := fmt.Sprint("fuzz-", n)
		var batch unmogrowp.Batch
		var want float64
		for i, r := range []float64{a, b, c} {
			at := reportAt(i/2, i, 0)
			batch.Events = append(batch.Events, unmogrowp.Event{
				Offset: n*3 + int64(i), EventID: fmt.Sprint(app, "-", i), AppID: app, EventType: "purchase",
				DeviceID: fmt.Sprint("d", i), Timestamp: at, ReceivedAt: at, Revenue: r, HasRevenue: true,
				Currency: "USD", MediaSource: []string{"fb", unmogrowp.MediaSourceOrganic}[i%2],
			})
			want += CountedRevenue(r)
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatalf("Append: %v", err)
		}
		from, to := reportDay0, reportAt(2, 0, 0)
		if err := CheckFiniteReports(ctx, s, app, from, to); err != nil {
			t.Fatalf("revenues %v, %v, %v: %v", a, b, c, err)
		}
		st, err := s.Stats(ctx, app, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(st.Revenue-want) > 1e-6+1e-12*math.Abs(want) {
			t.Errorf("revenues %v, %v, %v: stats revenue %v, want %v", a, b, c, st.Revenue, want)
		}
	})
}
