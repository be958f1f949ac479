package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// testRetentionBreakdown runs Reports.RetentionBreakdown on the report fixture (UTC and
// Asia/Tokyo) and the money fixture in Los Angeles: golden files for the answers, the
// cohorts counted by hand (reportFixture's and moneyFixture's comments), and the
// answers without By against RetentionReport's.
//
// The report fixture's new installs in range and their devices' active days after
// install: o1 organic ios 03-02 (days 0, 1, 2), n1 fb/fb_c1 ios 03-02 (days 0, 2),
// n2 fb/fb_c1 android 03-03 (0, 1), n3 gg/gg_c1 android 03-03 (0), o3 organic web 03-04
// (0, 1: after the range).
func testRetentionBreakdown(t *testing.T, open func(*testing.T) ReportStore) {
	f := newReportFixture(t, open)
	ctx := context.Background()
	const app = "app-a"
	full := unmogrowp.RetentionDays + 1
	run := func(t *testing.T, s ReportStore, app string, q unmogrowp.RetentionQuery, from, to time.Time, sc ...unmogrowp.ReportScope) *unmogrowp.RetentionBreakdown {
		t.Helper()
		rep, err := s.RetentionBreakdown(ctx, app, from, to, q, sc...)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}

	t.Run("media_source", func(t *testing.T) {
		rep := run(t, f.s, app, unmogrowp.RetentionQuery{By: []string{unmogrowp.DimMediaSource}}, f.from, f.to)
		golden(t, "retention_media_source", rep)
		checkRetentionRows(t, rep, []wantRetentionRow{
			{[]string{"fb"}, []wantCohort{{"2026-03-02", 1, []int64{1, 0, 1}, full}, {"2026-03-03", 1, []int64{1, 1}, full}}},
			{[]string{"organic"}, []wantCohort{{"2026-03-02", 1, []int64{1, 1, 1}, full}, {"2026-03-04", 1, []int64{1, 1}, full}}},
			{[]string{"gg"}, []wantCohort{{"2026-03-03", 1, []int64{1}, full}}},
		})
	})

	// A dimension of the install event (platform) and a filter on the decision's.
	t.Run("platform filtered", func(t *testing.T) {
		q := unmogrowp.RetentionQuery{By: []string{unmogrowp.DimPlatform}, Filters: map[string][]string{unmogrowp.DimMediaSource: {"fb", "organic"}}}
		rep := run(t, f.s, app, q, f.from, f.to)
		golden(t, "retention_platform_filtered", rep)
		checkRetentionRows(t, rep, []wantRetentionRow{
			{[]string{"ios"}, []wantCohort{{"2026-03-02", 2, []int64{2, 1, 2}, full}}},
			{[]string{"android"}, []wantCohort{{"2026-03-03", 1, []int64{1, 1}, full}}},
			{[]string{"web"}, []wantCohort{{"2026-03-04", 1, []int64{1, 1}, full}}},
		})
	})

	t.Run("two dimensions, filter on the install event", func(t *testing.T) {
		q := unmogrowp.RetentionQuery{By: []string{unmogrowp.DimMediaSource, unmogrowp.DimCampaign}, Filters: map[string][]string{unmogrowp.DimPlatform: {"ios"}}}
		rep := run(t, f.s, app, q, f.from, f.to)
		checkRetentionRows(t, rep, []wantRetentionRow{
			{[]string{"fb", "fb_c1"}, []wantCohort{{"2026-03-02", 1, []int64{1, 0, 1}, full}}},
			{[]string{"organic", ""}, []wantCohort{{"2026-03-02", 1, []int64{1, 1, 1}, full}}},
		})
		if b, _ := json.Marshal(rep.Rows[0]); string(b[:40]) != `{"media_source":"fb","campaign":"fb_c1",` {
			t.Errorf("row JSON %s: want the dimensions first, in by order", b)
		}
	})

	// Without By, one row: with filters, the cohorts of the installs they keep; without,
	// RetentionReport's, in UTC and in Tokyo.
	t.Run("without by", func(t *testing.T) {
		q := unmogrowp.RetentionQuery{Filters: map[string][]string{unmogrowp.DimMediaSource: {"organic"}}}
		rep := run(t, f.s, app, q, f.from, f.to)
		checkRetentionRows(t, rep, []wantRetentionRow{
			{[]string{}, []wantCohort{{"2026-03-02", 1, []int64{1, 1, 1}, full}, {"2026-03-04", 1, []int64{1, 1}, full}}},
		})
		tokyo, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range []unmogrowp.ReportScope{{}, {Location: tokyo, Now: f.to.AddDate(0, 0, 2)}} {
			whole := run(t, f.s, app, unmogrowp.RetentionQuery{}, f.from, f.to, sc).Whole()
			ret, err := f.s.RetentionReport(ctx, app, f.from, f.to, sc)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(whole)
			want, _ := json.Marshal(ret)
			if string(got) != string(want) {
				t.Errorf("in %s, without by or filters:\n%s\nRetentionReport:\n%s", sc.Zone(), got, want)
			}
		}
	})

	// Los Angeles across daylight saving, now 03-09 13:00 PDT: per row, a day that has
	// not ended is absent, not 0 (testMoney's retention, split by media source).
	t.Run("Los Angeles", func(t *testing.T) {
		mf, _ := moneyFixture(t, open)
		la, err := time.LoadLocation("America/Los_Angeles")
		if err != nil {
			t.Fatal(err)
		}
		from, to := time.Date(2026, 3, 6, 0, 0, 0, 0, la), time.Date(2026, 3, 10, 0, 0, 0, 0, la)
		sc := unmogrowp.ReportScope{Location: la, Now: time.Date(2026, 3, 9, 20, 0, 0, 0, time.UTC)}
		rep := run(t, mf.s, "app-z", unmogrowp.RetentionQuery{By: []string{unmogrowp.DimMediaSource}}, from, to, sc)
		golden(t, "la_retention_media_source", rep)
		checkRetentionRows(t, rep, []wantRetentionRow{
			{[]string{"fb"}, []wantCohort{{"2026-03-06", 1, []int64{1, 1, 1}, 3}, {"2026-03-08", 1, []int64{1}, 1}}},
			{[]string{"gg"}, []wantCohort{{"2026-03-08", 1, []int64{1}, 1}}},
			{[]string{"organic"}, []wantCohort{{"2026-03-09", 1, nil, 0}}},
		})
		if rep.Timezone != "America/Los_Angeles" {
			t.Errorf("timezone %q", rep.Timezone)
		}
	})

	t.Run("app without data", func(t *testing.T) {
		rep := run(t, f.s, "app-none", unmogrowp.RetentionQuery{By: []string{unmogrowp.DimCampaign}, Filters: map[string][]string{unmogrowp.DimCountry: {"FR"}}}, f.from, f.to)
		if b, _ := json.Marshal(rep); string(b) != `{"rows":[],"timezone":"UTC"}` {
			t.Errorf("app without data: %s", b)
		}
		if b, _ := json.Marshal(run(t, f.s, "app-none", unmogrowp.RetentionQuery{}, f.from, f.to).Whole()); string(b) != `{"cohorts":[],"timezone":"UTC"}` {
			t.Errorf("app without data, without by: %s", b)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		for _, q := range []unmogrowp.RetentionQuery{
			{By: []string{"os"}},
			{By: []string{unmogrowp.DimCampaign, unmogrowp.DimCampaign}},
			{Filters: map[string][]string{"region": {"x"}}},
			{Filters: map[string][]string{unmogrowp.DimCountry: {}}},
		} {
			if _, err := f.s.RetentionBreakdown(ctx, app, f.from, f.to, q); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Errorf("RetentionBreakdown(%+v): %v, want EINVALID", q, err)
			}
		}
		if _, err := f.s.RetentionBreakdown(ctx, app, f.to, f.from, unmogrowp.RetentionQuery{}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("to before from: %v, want EINVALID", err)
		}
	})
}

// wantRetentionRow is a row of a RetentionBreakdown as a test expects it.
type wantRetentionRow struct {
	dims    []string
	cohorts []wantCohort
}

// wantCohort is a cohort as a test expects it: its first retained days (the rest 0) and
// how many days it has (those ended).
type wantCohort struct {
	date     string
	installs int64
	first    []int64
	days     int
}

// checkRetentionRows checks the rows of rep, in order, against want.
func checkRetentionRows(t *testing.T, rep *unmogrowp.RetentionBreakdown, want []wantRetentionRow) {
	t.Helper()
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rep.Rows), len(want), rep.Rows)
	}
	for i, w := range want {
		r := rep.Rows[i]
		if !slices.Equal(r.Dims, w.dims) || len(r.Cohorts) != len(w.cohorts) {
			t.Errorf("row %d = %v with %d cohorts, want %v with %d", i, r.Dims, len(r.Cohorts), w.dims, len(w.cohorts))
			continue
		}
		for j, wc := range w.cohorts {
			c := r.Cohorts[j]
			retained := make([]int64, wc.days)
			copy(retained, wc.first)
			if c.InstallDate != wc.date || c.Installs != wc.installs || !equalInts(c.Retained, retained) {
				t.Errorf("row %v cohort %s: %d installs, retained %v; want %s, %d, %v",
					r.Dims, c.InstallDate, c.Installs, c.Retained, wc.date, wc.installs, retained)
			}
		}
	}
}
