package unmogrowp

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCostCheck(t *testing.T) {
	good := Cost{Date: "2026-03-02", MediaSource: "fb", Cost: 1, Currency: "eur"}
	if col, err := good.Check(); err != nil || col != "" || good.Currency != "EUR" {
		t.Fatalf("good row: %q %v, currency %q", col, err, good.Currency)
	}
	long := strings.Repeat("x", MaxTouchpointFieldLen+1)
	for name, c := range map[string]struct {
		row    Cost
		column string
	}{
		"no date":      {Cost{MediaSource: "fb", Cost: 1, Currency: "USD"}, "date"},
		"bad date":     {Cost{Date: "2026-3-2", MediaSource: "fb", Cost: 1, Currency: "USD"}, "date"},
		"no source":    {Cost{Date: "2026-03-02", Cost: 1, Currency: "USD"}, "media_source"},
		"long ad":      {Cost{Date: "2026-03-02", MediaSource: "fb", Ad: long, Cost: 1, Currency: "USD"}, "ad"},
		"country ctl":  {Cost{Date: "2026-03-02", MediaSource: "fb", Country: "D\nE", Cost: 1, Currency: "USD"}, "country"},
		"negative":     {Cost{Date: "2026-03-02", MediaSource: "fb", Cost: -0.01, Currency: "USD"}, "cost"},
		"too much":     {Cost{Date: "2026-03-02", MediaSource: "fb", Cost: MaxCost * 2, Currency: "USD"}, "cost"},
		"no currency":  {Cost{Date: "2026-03-02", MediaSource: "fb", Cost: 1}, "currency"},
		"bad currency": {Cost{Date: "2026-03-02", MediaSource: "fb", Cost: 1, Currency: "€"}, "currency"},
		"impressions":  {Cost{Date: "2026-03-02", MediaSource: "fb", Cost: 1, Currency: "USD", Impressions: -1}, "impressions"},
	} {
		col, err := c.row.Check()
		if col != c.column || ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), c.column) {
			t.Errorf("%s: column %q, err %v; want %q", name, col, err, c.column)
		}
	}
}

func TestLastOfEachKey(t *testing.T) {
	a := Cost{Date: "2026-03-02", MediaSource: "fb", Cost: 1}
	b := Cost{Date: "2026-03-02", MediaSource: "fb", Country: "DE", Cost: 2}
	a2 := a
	a2.Cost = 3
	in := []Cost{a, b, a2}
	if got := LastOfEachKey(in); !reflect.DeepEqual(got, []Cost{a2, b}) {
		t.Errorf("LastOfEachKey = %+v", got)
	}
	if in[0].Cost != 1 {
		t.Errorf("LastOfEachKey changed its argument")
	}
	// In key order whatever the input's, the last of each key however many there are.
	c := Cost{Date: "2026-03-01", MediaSource: "tiktok", Cost: 4}
	a3 := a
	a3.Cost = 5
	if got := LastOfEachKey([]Cost{b, a, a2, c, a3}); !reflect.DeepEqual(got, []Cost{c, a3, b}) {
		t.Errorf("LastOfEachKey = %+v", got)
	}
}

// Imported cost of a day, source and campaign replaces the touchpoints' cost of it, in
// whatever currency either is; other days and campaigns keep theirs.
func TestMergeCosts(t *testing.T) {
	imported := []Cost{
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c1", Adset: "a", Cost: 10, Currency: "USD"},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c1", Adset: "b", Cost: 0.1, Currency: "USD"},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c1", Country: "JP", Cost: 500, Currency: "JPY"},
	}
	touch := []DailyCost{
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c1", Currency: "EUR", Amount: 7},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c2", Currency: "USD", Amount: 0.2},
		{Date: "2026-03-01", MediaSource: "fb", Campaign: "c1", Currency: "USD", Amount: 1},
	}
	want := []DailyCost{
		{Date: "2026-03-01", MediaSource: "fb", Campaign: "c1", Currency: "USD", Amount: 1},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c1", Currency: "JPY", Amount: 500},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c1", Currency: "USD", Amount: 10.1},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c2", Currency: "USD", Amount: 0.2},
	}
	if got := MergeCosts(imported, touch); !reflect.DeepEqual(got, want) {
		t.Errorf("MergeCosts =\n%+v\nwant\n%+v", got, want)
	}
}

// halfRate converts EUR to USD at 2 from March 2 on, and nothing else.
type halfRate struct{}

func (halfRate) Convert(v float64, from, to string, date time.Time) (float64, bool) {
	if from == to {
		return v, true
	}
	if from == "EUR" && to == "USD" && date.Format(time.DateOnly) >= "2026-03-02" {
		return v * 2, true
	}
	return 0, false
}

func TestConvertCosts(t *testing.T) {
	costs := []DailyCost{
		{Date: "2026-03-01", MediaSource: "fb", Campaign: "c", Currency: "EUR", Amount: 1},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c", Currency: "EUR", Amount: 1.5},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c", Currency: "USD", Amount: 0.1},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "d", Currency: "GBP", Amount: 9},
	}
	got, unconverted := ConvertCosts(costs, ReportScope{Currency: "USD", Rates: halfRate{}})
	want := map[CampaignDay]float64{{"2026-03-02", "fb", "c"}: 3.1}
	if !reflect.DeepEqual(got, want) || unconverted != 2 {
		t.Errorf("ConvertCosts = %v, %d; want %v, 2", got, unconverted, want)
	}
	got, unconverted = ConvertCosts(costs, ReportScope{Currency: "USD"})
	if want := (map[CampaignDay]float64{{"2026-03-02", "fb", "c"}: 0.1}); !reflect.DeepEqual(got, want) || unconverted != 3 {
		t.Errorf("ConvertCosts without a converter = %v, %d", got, unconverted)
	}
	got, unconverted = ConvertCosts(costs, ReportScope{})
	if want := (map[CampaignDay]float64{{"2026-03-01", "fb", "c"}: 1, {"2026-03-02", "fb", "c"}: 1.6, {"2026-03-02", "fb", "d"}: 9}); !reflect.DeepEqual(got, want) || unconverted != 0 {
		t.Errorf("ConvertCosts without a currency = %v, %d; want the amounts as stored", got, unconverted)
	}
}

func TestCostDates(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		from, to    time.Time
		first, last string
		ok          bool
	}{
		{day, day.Add(72 * time.Hour), "2026-03-02", "2026-03-04", true},
		{day.Add(time.Hour), day.Add(72 * time.Hour), "2026-03-03", "2026-03-04", true},
		{day, day.Add(49 * time.Hour), "2026-03-02", "2026-03-04", true},
		{day.Add(time.Hour), day.Add(2 * time.Hour), "", "", false},
		{day, day, "", "", false},
	} {
		first, last, ok := CostDates(c.from, c.to, nil)
		if first != c.first || last != c.last || ok != c.ok {
			t.Errorf("CostDates(%v, %v) = %q %q %v, want %q %q %v", c.from, c.to, first, last, ok, c.first, c.last, c.ok)
		}
	}
	// In Los Angeles (UTC-8 in March until the 8th): the local days that start in range.
	la, err := LoadZone("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	laDay := time.Date(2026, 3, 2, 0, 0, 0, 0, la)
	for _, c := range []struct {
		from, to    time.Time
		first, last string
		ok          bool
	}{
		{laDay, laDay.AddDate(0, 0, 3), "2026-03-02", "2026-03-04", true},
		{day, day.Add(72 * time.Hour), "2026-03-02", "2026-03-04", true}, // 16:00 of 1 March to 16:00 of the 4th
		{laDay.Add(time.Hour), laDay.AddDate(0, 0, 1), "", "", false},
		// Across the change to summer time: 8 March has 23 hours.
		{time.Date(2026, 3, 8, 0, 0, 0, 0, la), time.Date(2026, 3, 9, 0, 0, 0, 0, la), "2026-03-08", "2026-03-08", true},
	} {
		first, last, ok := CostDates(c.from, c.to, la)
		if first != c.first || last != c.last || ok != c.ok {
			t.Errorf("CostDates(%v, %v, Los Angeles) = %q %q %v, want %q %q %v", c.from, c.to, first, last, ok, c.first, c.last, c.ok)
		}
	}
}

func TestAddCost(t *testing.T) {
	rep := MediaSourceReport{Rows: []MediaSourceRow{
		{MediaSource: "organic", Installs: 5, Revenue: 3},
		{MediaSource: "fb", Campaign: "c", Installs: 3, Clicks: 10, Revenue: 9},
		{MediaSource: "gg", Campaign: "g", Clicks: 4},
	}}
	rep.AddCost(map[CampaignDay]float64{
		{"2026-03-02", "fb", "c"}: 1, {"2026-03-03", "fb", "c"}: 2, {"2026-03-02", "tt", "t"}: 0.5,
	}, "USD", 4)
	f := func(v float64) *float64 { return &v }
	want := MediaSourceReport{Currency: "USD", UnconvertedAmounts: 4, Rows: []MediaSourceRow{
		{MediaSource: "organic", Installs: 5, Revenue: 3, ECPI: f(0)},
		{MediaSource: "fb", Campaign: "c", Installs: 3, Clicks: 10, Revenue: 9, Cost: 3, ECPI: f(1), ROAS: f(3)},
		{MediaSource: "gg", Campaign: "g", Clicks: 4},
		{MediaSource: "tt", Campaign: "t", Cost: 0.5, ROAS: f(0)},
	}}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("AddCost =\n%+v\nwant\n%+v", rep, want)
	}
}

// costStub is a CostSources backend of fixed rows, for ByCohort.
type costStub struct {
	touch    []DailyCost
	imported []Cost
}

func (s costStub) TouchpointCosts(context.Context, string, time.Time, time.Time, ...ReportScope) ([]DailyCost, error) {
	return s.touch, nil
}
func (s costStub) PutCosts(context.Context, string, []Cost) error { return nil }
func (s costStub) Costs(_ context.Context, _, from, to string) ([]Cost, error) {
	var out []Cost
	for _, c := range s.imported {
		if c.Date >= from && c.Date <= to {
			out = append(out, c)
		}
	}
	return out, nil
}

func TestCostSourcesByCohort(t *testing.T) {
	stub := costStub{
		touch: []DailyCost{
			{Date: "2026-03-02", MediaSource: "fb", Campaign: "c1", Currency: "USD", Amount: 1},
			{Date: "2026-03-02", MediaSource: "fb", Campaign: "c2", Currency: "USD", Amount: 2},
			{Date: "2026-03-02", MediaSource: "gg", Campaign: "g", Currency: "EUR", Amount: 4},
		},
		imported: []Cost{
			{Date: "2026-03-02", MediaSource: "fb", Campaign: "c2", Cost: 5, Currency: "USD"},
			{Date: "2026-03-03", MediaSource: "gg", Campaign: "g", Cost: 0.5, Currency: "USD"},
			{Date: "2026-03-04", MediaSource: "gg", Campaign: "g", Cost: 99, Currency: "USD"}, // after the range
		},
	}
	src := CostSources{Touchpoints: stub, Imported: stub}
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	to := from.Add(48 * time.Hour)
	for groupBy, want := range map[string]map[CampaignDay]float64{
		GroupByCampaign: {
			{"2026-03-02", "fb", "c1"}: 1, {"2026-03-02", "fb", "c2"}: 5, {"2026-03-03", "gg", "g"}: 0.5,
		},
		GroupByMediaSource: {{"2026-03-02", "fb", ""}: 6, {"2026-03-03", "gg", ""}: 0.5},
		GroupByNone:        {{"2026-03-02", "", ""}: 6, {"2026-03-03", "", ""}: 0.5},
	} {
		got, unconverted, err := src.ByCohort(context.Background(), "app", from, to, groupBy, ReportScope{Currency: "USD"})
		if err != nil || unconverted != 1 || !reflect.DeepEqual(got, want) {
			t.Errorf("ByCohort(%s) = %v, %d, %v; want %v, 1 (the EUR amount)", groupBy, got, unconverted, err, want)
		}
	}
	if _, _, err := src.ByCohort(context.Background(), "app", from, to, "country", ReportScope{Currency: "USD"}); ErrorCode(err) != EINVALID {
		t.Errorf("unknown group_by: %v", err)
	}
}
