package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// The shared suite of unmogrowp.Reports: every analytics store runs it, so that they all
// give the same answers, byte for byte in their JSON form.

// ReportStore is an analytics store with its reports: what RunReports tests.
type ReportStore interface {
	unmogrowp.EventStore
	unmogrowp.Reports
}

// RunReports runs the report suite: every report over a small fixture counted by hand,
// compared with the golden files in storetest's testdata/reports (shared by all stores),
// and the reports of generated realistic data checked against each other. open must return
// a fresh, empty store for each call, isolated from the others (the subtests run in
// parallel), and arrange for it to be closed when the test ends
// (t.Cleanup); closing it twice must be harmless.
//
// The test binary's -update flag, when the calling package declares it
// (flag.Bool("update", ...)), rewrites the golden files from this store's answers instead
// of comparing: the golden files are the contract of every store, so rewrite them only
// from the store whose answers were checked by hand (DuckDB's, so far).
func RunReports(t *testing.T, open func(t *testing.T) ReportStore) {
	t.Run("Fixture", func(t *testing.T) { t.Parallel(); testReportsFixture(t, open) })
	t.Run("Agree", func(t *testing.T) { t.Parallel(); testReportsAgree(t, open) })
	t.Run("ActiveDevices", func(t *testing.T) { t.Parallel(); testActiveDevices(t, open) })
	t.Run("ExtremeRevenue", func(t *testing.T) { t.Parallel(); testExtremeRevenue(t, open) })
	t.Run("MoneyInLosAngeles", func(t *testing.T) { t.Parallel(); testMoney(t, open) })
	t.Run("Tokyo", func(t *testing.T) { t.Parallel(); testTokyo(t, open) })
	t.Run("TouchpointCosts", func(t *testing.T) { t.Parallel(); testTouchpointCosts(t, open) })
	t.Run("Breakdown", func(t *testing.T) { t.Parallel(); testBreakdown(t, open) })
	t.Run("RetentionBreakdown", func(t *testing.T) { t.Parallel(); testRetentionBreakdown(t, open) })
}

// updating reports whether the test binary runs with -update.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// goldenDir is storetest's testdata/reports, wherever the calling test runs from.
func goldenDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate storetest's source directory")
	}
	return filepath.Join(filepath.Dir(file), "testdata", "reports")
}

// reportDay0 is the first day of the report fixture's range [reportDay0, reportDay0+3
// days).
var reportDay0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// reportAt is reportDay0 plus days, hours and minutes.
func reportAt(days, hours, minutes int) time.Time {
	return reportDay0.Add(time.Duration(days)*24*time.Hour + time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute)
}

// reportFixture builds the store of the report tests: app-a with every case the reports
// count, and app-b, whose rows must never show in app-a's reports. Over
// [reportDay0, reportDay0+3d) app-a has, counted by hand (see the golden files):
//
//	new installs   day 0: o1 organic, o2 rejected (fb click injection: not an install), n1 fb/fb_c1
//	               day 1: n2 fb/fb_c1, n3 gg/gg_c1 (view-through; an fb touchpoint rejected)
//	               day 2: o3 organic (web)
//	also           day 2: o1 reinstalls (a gg touchpoint rejected), n1 re-attributed to
//	               gg/gg_c2; before the range: old (fb/fb_c1); after it: late (organic)
//	touchpoints    8 clicks and 2 impressions in range, 1 click before it
//	events         23 in range (8 install events), revenue 1.99 + 4.99 + 10.00,
//	               9 sessions, 8 devices; o3 has a session on day 3, after the range
type reportFixture struct {
	s       ReportStore
	from    time.Time
	to      time.Time
	offset  int64
	b       unmogrowp.Batch
	devices map[string]*unmogrowp.Install // the device's latest decision
}

func newReportFixture(t *testing.T, open func(*testing.T) ReportStore) *reportFixture {
	t.Helper()
	f := &reportFixture{s: open(t), from: reportDay0, to: reportAt(3, 0, 0), devices: map[string]*unmogrowp.Install{}}

	// app-a's touchpoints.
	f.touch("app-a", "tp-fb1", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(0, 1, 30))
	f.touch("app-a", "tp-fb2", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(1, 4, 0))
	f.touch("app-a", "tp-fb3", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(1, 4, 10))
	f.touch("app-a", "tp-fb4", unmogrowp.TouchClick, "fb", "fb_c2", reportAt(0, 20, 0))
	f.touch("app-a", "tp-rej1", unmogrowp.TouchClick, "fb", "fb_c2", reportAt(0, 10, 29))
	f.touch("app-a", "tp-rej2", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(1, 5, 30))
	f.touch("app-a", "tp-rej3", unmogrowp.TouchClick, "gg", "gg_c1", reportAt(2, 7, 59))
	f.touch("app-a", "tp-gg1", unmogrowp.TouchImpression, "gg", "gg_c1", reportAt(1, 5, 0))
	f.touch("app-a", "tp-gg3", unmogrowp.TouchImpression, "gg", "gg_c1", reportAt(2, 3, 0))
	f.touch("app-a", "tp-gg2", unmogrowp.TouchClick, "gg", "gg_c2", reportAt(2, 8, 30))
	f.touch("app-a", "tp-out", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(-1, 11, 0))

	// app-a's installs and events, in time order per device.
	f.install("app-a", "old", "ios", reportAt(-1, 12, 0), "fb", "fb_c1", nil)
	f.event("app-a", "old", "session", reportAt(0, 0, 30), 0)

	f.install("app-a", "o1", "ios", reportAt(0, 1, 0), "", "", nil)
	f.event("app-a", "o1", "session", reportAt(0, 1, 5), 0)
	f.event("app-a", "o1", "session", reportAt(1, 9, 0), 0)
	f.event("app-a", "o1", "purchase", reportAt(1, 9, 5), 1.99)
	in := f.install("app-a", "o1", "ios", reportAt(2, 8, 0), "", "", []unmogrowp.Rejection{{TouchpointID: "tp-rej3", MediaSource: "gg", Reason: unmogrowp.RejectClickInjection}})
	in.IsReinstall, in.ReattributionKind = true, unmogrowp.ReattributionReinstall
	in.MatchType, in.MediaSource = unmogrowp.MatchOrganic, unmogrowp.MediaSourceOrganic // a reinstall keeps its attribution
	f.event("app-a", "o1", "session", reportAt(2, 8, 30), 0)

	f.install("app-a", "o2", "android", reportAt(0, 10, 30), "", "", []unmogrowp.Rejection{{TouchpointID: "tp-rej1", MediaSource: "fb", Reason: unmogrowp.RejectClickInjection}})

	f.install("app-a", "n1", "ios", reportAt(0, 2, 0), "fb", "fb_c1", nil)
	f.event("app-a", "n1", "session", reportAt(0, 2, 10), 0)
	f.event("app-a", "n1", "purchase", reportAt(0, 2, 20), 4.99)
	in = f.install("app-a", "n1", "ios", reportAt(2, 9, 0), "gg", "gg_c2", nil)
	in.IsReattribution, in.ReattributionKind = true, unmogrowp.ReattributionReinstall
	f.event("app-a", "n1", "level_complete", reportAt(2, 10, 0), 0)
	f.event("app-a", "n1", "purchase", reportAt(2, 10, 5), 10)

	f.install("app-a", "n2", "android", reportAt(1, 5, 0), "fb", "fb_c1", nil)
	f.event("app-a", "n2", "session", reportAt(1, 5, 10), 0)
	// A re-engagement (as if n2 had been dormant) at its next session, by gg_c2's click:
	// not an install anywhere, one reengagement of gg_c2, and the session counts there.
	f.reengage("app-a", "n2", reportAt(2, 12, 0), "gg", "gg_c2")

	f.install("app-a", "n3", "android", reportAt(1, 6, 0), "gg", "gg_c1", []unmogrowp.Rejection{{TouchpointID: "tp-rej2", MediaSource: "fb", Reason: unmogrowp.RejectBlockedIP}})
	f.event("app-a", "n3", "session", reportAt(1, 6, 5), 0)

	f.install("app-a", "o3", "web", reportAt(2, 23, 0), "", "", nil)
	f.event("app-a", "o3", "session", reportAt(3, 0, 30), 0) // after the range: retention only

	// A device without install: its events are organic, one stored with media source "".
	f.event("app-a", "nox", "session", reportAt(0, 12, 0), 0)
	f.b.Events[len(f.b.Events)-1].MediaSource = ""
	f.event("app-a", "nox", "custom_x", reportAt(0, 12, 1), 0)
	f.event("app-a", "nox", "ad_view", reportAt(1, 12, 0), 0)

	f.install("app-a", "late", "ios", reportAt(3, 1, 0), "", "", nil)

	// app-b: in range, never in app-a's reports.
	f.touch("app-b", "tp-b1", unmogrowp.TouchClick, "fb", "fb_c1", reportAt(0, 3, 0))
	f.install("app-b", "b1", "android", reportAt(0, 3, 0), "", "", []unmogrowp.Rejection{{TouchpointID: "tp-b1", MediaSource: "fb", Reason: unmogrowp.RejectClickInjection}})
	f.event("app-b", "b1", "purchase", reportAt(0, 3, 5), 100)

	// Two appends, to read across batches.
	ctx := context.Background()
	half := unmogrowp.Batch{Events: f.b.Events[:10], Touchpoints: f.b.Touchpoints[:5]}
	rest := unmogrowp.Batch{Events: f.b.Events[10:], Touchpoints: f.b.Touchpoints[5:], Installs: f.b.Installs}
	for _, b := range []unmogrowp.Batch{half, rest} {
		if err := f.s.Append(ctx, b); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	return f
}

func (f *reportFixture) pos() (int32, int64) {
	f.offset++
	return int32(f.offset % 3), f.offset
}

func (f *reportFixture) touch(app, id, typ, source, campaign string, t time.Time) {
	p, o := f.pos()
	f.b.Touchpoints = append(f.b.Touchpoints, unmogrowp.Touchpoint{
		Partition: p, Offset: o, ID: id, AppID: app, Type: typ, MediaSource: source, Campaign: campaign,
		Time: t, ReceivedAt: t,
	})
}

// install adds an install event and its decision: organic when source is "". It returns
// the decision, to be made a reinstall or a re-attribution. The install event and the
// device's later events carry the decision's media source and campaign.
func (f *reportFixture) install(app, device, platform string, t time.Time, source, campaign string, rejected []unmogrowp.Rejection) *unmogrowp.Install {
	f.event(app, device, unmogrowp.EventInstall, t, 0)
	e := &f.b.Events[len(f.b.Events)-1]
	e.Platform = platform
	in := unmogrowp.Install{Partition: e.Partition, Offset: e.Offset, FirstInstallTime: t, Attribution: unmogrowp.Attribution{
		AppID: app, DeviceID: device, InstallEventID: e.EventID, InstallTime: t, MatchType: unmogrowp.MatchOrganic,
		MediaSource: unmogrowp.MediaSourceOrganic, Rejected: rejected,
	}}
	if source != "" {
		in.Attributed, in.MatchType, in.TouchType, in.MediaSource, in.Campaign = true, unmogrowp.MatchDeviceID, unmogrowp.TouchClick, source, campaign
	} else if len(rejected) > 0 {
		in.MatchType, in.MediaSource = unmogrowp.MatchRejected, unmogrowp.MediaSourceRejected
	}
	e.MediaSource, e.Campaign = in.MediaSource, in.Campaign
	f.b.Installs = append(f.b.Installs, in)
	last := &f.b.Installs[len(f.b.Installs)-1]
	f.devices[app+"/"+device] = &unmogrowp.Install{Attribution: in.Attribution}
	return last
}

// reengage adds a session of the device that re-engaged it to source and campaign (a
// decision at the session, reattribution_kind "reengagement"), the session stored with
// that source.
func (f *reportFixture) reengage(app, device string, t time.Time, source, campaign string) {
	prev := f.devices[app+"/"+device]
	f.event(app, device, unmogrowp.EventSession, t, 0)
	e := &f.b.Events[len(f.b.Events)-1]
	in := unmogrowp.Install{Partition: e.Partition, Offset: e.Offset, FirstInstallTime: prev.InstallTime, Attribution: unmogrowp.Attribution{
		AppID: app, DeviceID: device, InstallEventID: e.EventID, InstallTime: t, Attributed: true,
		MatchType: unmogrowp.MatchDeviceID, TouchType: unmogrowp.TouchClick, MediaSource: source, Campaign: campaign,
		IsReattribution: true, ReattributionKind: unmogrowp.ReattributionReengagement,
	}, OriginalMediaSource: prev.MediaSource, OriginalCampaign: prev.Campaign}
	e.MediaSource, e.Campaign = source, campaign
	f.b.Installs = append(f.b.Installs, in)
	f.devices[app+"/"+device] = &unmogrowp.Install{Attribution: in.Attribution}
}

// event adds an event of the device with its latest attribution ("organic" without one).
func (f *reportFixture) event(app, device, typ string, t time.Time, revenue float64) {
	p, o := f.pos()
	e := unmogrowp.Event{
		Partition: p, Offset: o, EventID: device + "-" + typ + "-" + t.Format("0102T1504"), AppID: app,
		EventType: typ, DeviceID: device, Timestamp: t, ReceivedAt: t, MediaSource: unmogrowp.MediaSourceOrganic,
	}
	if in := f.devices[app+"/"+device]; in != nil {
		e.MediaSource, e.Campaign = in.MediaSource, in.Campaign
	}
	if revenue != 0 {
		e.Revenue, e.HasRevenue, e.Currency = revenue, true, "USD"
	}
	f.b.Events = append(f.b.Events, e)
}

// golden compares v's indented JSON with storetest's testdata/reports/name.golden, or
// rewrites the file when the test binary runs with -update (a flag the calling test
// package declares: see RunReports).
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	goldenFile(t, filepath.Join(goldenDir(t), name+".golden"), got)
}

// goldenFile compares got with the file at path, or rewrites the file with got when the
// test binary runs with -update.
func goldenFile(t *testing.T, path string, got []byte) {
	t.Helper()
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// testReportsFixture runs every report on the hand-counted fixture and compares the
// answers with the golden files and with the key numbers counted by hand.
func testReportsFixture(t *testing.T, open func(*testing.T) ReportStore) {
	f := newReportFixture(t, open)
	ctx := context.Background()
	const app = "app-a"

	t.Run("stats", func(t *testing.T) {
		st, err := f.s.Stats(ctx, app, f.from, f.to)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "stats", st)
		want := unmogrowp.Stats{
			Installs: 5, OrganicInstalls: 2, NonOrganicInstalls: 3, Reinstalls: 1, RejectedInstalls: 1,
			Clicks: 8, Impressions: 2, ConversionRate: 0.375, Events: 23, Revenue: 16.98,
			ActiveDevices: 8, Sessions: 9,
		}
		if *st != want {
			t.Errorf("Stats = %+v, want %+v", *st, want)
		}
	})

	charts := []struct {
		name, chart, interval string
		from, to              time.Time
	}{
		{"chart_installs_day", unmogrowp.ChartInstalls, unmogrowp.IntervalDay, f.from, f.to},
		{"chart_installs_hour", unmogrowp.ChartInstalls, unmogrowp.IntervalHour, f.from, reportAt(0, 3, 0)},
		// Unaligned bounds: the first category is the day from falls in.
		{"chart_installs_unaligned", unmogrowp.ChartInstalls, "", reportAt(0, 1, 30), reportAt(1, 5, 30)},
		{"chart_media_sources", unmogrowp.ChartMediaSources, "", f.from, f.to},
		{"chart_events_day", unmogrowp.ChartEvents, unmogrowp.IntervalDay, f.from, f.to},
		{"chart_revenue_day", unmogrowp.ChartRevenue, unmogrowp.IntervalDay, f.from, f.to},
		{"chart_platforms", unmogrowp.ChartPlatforms, "", f.from, f.to},
	}
	for _, c := range charts {
		t.Run(c.name, func(t *testing.T) {
			ch, err := f.s.Chart(ctx, app, c.chart, c.from, c.to, c.interval)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, ch)
		})
	}

	t.Run("chart key numbers", func(t *testing.T) {
		ch, err := f.s.Chart(ctx, app, unmogrowp.ChartInstalls, f.from, f.to, unmogrowp.IntervalDay)
		if err != nil {
			t.Fatal(err)
		}
		checkSeries(t, ch, []string{"2026-03-02", "2026-03-03", "2026-03-04"},
			map[string][]float64{"organic": {1, 0, 1}, "non_organic": {1, 2, 0}, "rejected": {1, 0, 0}})
		ch, err = f.s.Chart(ctx, app, unmogrowp.ChartEvents, f.from, f.to, unmogrowp.IntervalDay)
		if err != nil {
			t.Fatal(err)
		}
		// Six types: the five most frequent (ties by name), level_complete in "other".
		checkSeries(t, ch, []string{"2026-03-02", "2026-03-03", "2026-03-04"}, map[string][]float64{
			"session": {4, 3, 2}, "install": {3, 2, 3}, "purchase": {1, 1, 1}, "ad_view": {0, 1, 0},
			"custom_x": {1, 0, 0}, "other": {0, 0, 1},
		})
		if ch.Series[0].Name != "session" || ch.Series[len(ch.Series)-1].Name != "other" {
			t.Errorf("events series not in rank order: %+v", ch.Series)
		}
		ch, err = f.s.Chart(ctx, app, unmogrowp.ChartInstalls, f.from, reportAt(0, 3, 0), unmogrowp.IntervalHour)
		if err != nil {
			t.Fatal(err)
		}
		checkSeries(t, ch, []string{"2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z", "2026-03-02T02:00:00Z"},
			map[string][]float64{"organic": {0, 1, 0}, "non_organic": {0, 0, 1}, "rejected": {0, 0, 0}})
	})

	t.Run("media_sources", func(t *testing.T) {
		rep, err := f.s.MediaSourceReport(ctx, app, f.from, f.to)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "media_sources", rep)
		want := []unmogrowp.MediaSourceRow{
			{MediaSource: "fb", Campaign: "fb_c1", Clicks: 4, Installs: 2, ConversionRate: 0.5, Events: 6, Revenue: 4.99},
			{MediaSource: "organic", Installs: 2, Events: 8, Revenue: 1.99},
			{MediaSource: "gg", Campaign: "gg_c1", Clicks: 1, Impressions: 2, Installs: 1, ConversionRate: 1, Events: 2},
			{MediaSource: "fb", Campaign: "fb_c2", Clicks: 2, RejectedInstalls: 1},
			{MediaSource: "gg", Campaign: "gg_c2", Clicks: 1, Events: 4, Revenue: 10, Reengagements: 1},
			// o2's events, stored with its decision's media source.
			{MediaSource: "rejected", Events: 3},
		}
		if len(rep.Rows) != len(want) {
			t.Fatalf("got %d rows, want %d: %+v", len(rep.Rows), len(want), rep.Rows)
		}
		for i := range want {
			if rep.Rows[i] != want[i] {
				t.Errorf("row %d = %+v, want %+v", i, rep.Rows[i], want[i])
			}
		}
	})

	t.Run("retention", func(t *testing.T) {
		rep, err := f.s.RetentionReport(ctx, app, f.from, f.to)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "retention", rep)
		want := []struct {
			date     string
			installs int64
			first    []int64 // retained[0:3]
		}{
			{"2026-03-02", 2, []int64{2, 1, 2}}, // o2, rejected, is in no cohort
			{"2026-03-03", 2, []int64{2, 1, 0}},
			{"2026-03-04", 1, []int64{1, 1, 0}}, // o3's day 1 is after the range: it counts
		}
		if len(rep.Cohorts) != len(want) {
			t.Fatalf("got %d cohorts, want %d", len(rep.Cohorts), len(want))
		}
		for i, w := range want {
			c := rep.Cohorts[i]
			if c.InstallDate != w.date || c.Installs != w.installs || len(c.Retained) != unmogrowp.RetentionDays+1 {
				t.Errorf("cohort %d = %s %d (%d days), want %s %d", i, c.InstallDate, c.Installs, len(c.Retained), w.date, w.installs)
				continue
			}
			for d, n := range c.Retained {
				if wn := int64(0); d < len(w.first) && n != w.first[d] || d >= len(w.first) && n != wn {
					t.Errorf("cohort %s retained = %v, want %v then zeros", c.InstallDate, c.Retained, w.first)
					break
				}
			}
		}
	})

	t.Run("fraud", func(t *testing.T) {
		rep, err := f.s.FraudReport(ctx, app, f.from, f.to)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "fraud", rep)
		want := []unmogrowp.FraudRow{
			{MediaSource: "fb", Reason: unmogrowp.RejectBlockedIP, Touchpoints: 1, Installs: 1, Count: 1},
			{MediaSource: "fb", Reason: unmogrowp.RejectClickInjection, Touchpoints: 1, Installs: 1, Count: 1},
			{MediaSource: "gg", Reason: unmogrowp.RejectClickInjection, Touchpoints: 1, Installs: 1, Count: 1},
		}
		if rep.RejectedInstalls != 1 {
			t.Errorf("rejected installs %d, want 1 (o2)", rep.RejectedInstalls)
		}
		if len(rep.Rows) != len(want) {
			t.Fatalf("got %+v, want %+v", rep.Rows, want)
		}
		for i := range want {
			if rep.Rows[i] != want[i] {
				t.Errorf("row %d = %+v, want %+v", i, rep.Rows[i], want[i])
			}
		}
	})

	// An app with no data: zeros and empty lists (never null), zero-filled time charts.
	t.Run("empty app", func(t *testing.T) {
		st, err := f.s.Stats(ctx, "app-none", f.from, f.to)
		if err != nil || *st != (unmogrowp.Stats{}) {
			t.Errorf("Stats = %+v, %v; want zeros", st, err)
		}
		type result struct {
			Stats  *unmogrowp.Stats
			Charts map[string]*unmogrowp.Chart
			Media  *unmogrowp.MediaSourceReport
			Ret    *unmogrowp.RetentionReport
			Fraud  *unmogrowp.FraudReport
		}
		r := result{Stats: st, Charts: map[string]*unmogrowp.Chart{}}
		for _, c := range []string{unmogrowp.ChartInstalls, unmogrowp.ChartMediaSources, unmogrowp.ChartEvents, unmogrowp.ChartRevenue, unmogrowp.ChartPlatforms} {
			if r.Charts[c], err = f.s.Chart(ctx, "app-none", c, f.from, f.to, unmogrowp.IntervalDay); err != nil {
				t.Fatal(err)
			}
		}
		if r.Media, err = f.s.MediaSourceReport(ctx, "app-none", f.from, f.to); err != nil {
			t.Fatal(err)
		}
		if r.Ret, err = f.s.RetentionReport(ctx, "app-none", f.from, f.to); err != nil {
			t.Fatal(err)
		}
		if r.Fraud, err = f.s.FraudReport(ctx, "app-none", f.from, f.to); err != nil {
			t.Fatal(err)
		}
		golden(t, "empty", r)
	})

	t.Run("invalid", func(t *testing.T) {
		for name, fn := range map[string]func() error{
			"unknown chart": func() error {
				_, err := f.s.Chart(ctx, app, "funnels", f.from, f.to, "")
				return err
			},
			"unknown interval": func() error {
				_, err := f.s.Chart(ctx, app, unmogrowp.ChartInstalls, f.from, f.to, "week")
				return err
			},
			"too many points": func() error {
				_, err := f.s.Chart(ctx, app, unmogrowp.ChartEvents, f.from.AddDate(-2, 0, 0), f.to, unmogrowp.IntervalHour)
				return err
			},
			"no app": func() error {
				_, err := f.s.Stats(ctx, "", f.from, f.to)
				return err
			},
			"no from": func() error {
				_, err := f.s.MediaSourceReport(ctx, app, time.Time{}, f.to)
				return err
			},
			"to before from": func() error {
				_, err := f.s.FraudReport(ctx, app, f.to, f.from)
				return err
			},
			"retention to before from": func() error {
				_, err := f.s.RetentionReport(ctx, app, f.to, f.from)
				return err
			},
		} {
			if err := fn(); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Errorf("%s: error %v, want EINVALID", name, err)
			}
		}
	})

	t.Run("closed", func(t *testing.T) {
		s := open(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stats(ctx, app, f.from, f.to); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
			t.Errorf("Stats on a closed store: %v, want EUNAVAILABLE", err)
		}
	})
}

// checkSeries checks a chart's categories and the data of its series by name.
func checkSeries(t *testing.T, ch *unmogrowp.Chart, categories []string, series map[string][]float64) {
	t.Helper()
	if len(ch.Categories) != len(categories) {
		t.Fatalf("categories = %v, want %v", ch.Categories, categories)
	}
	for i := range categories {
		if ch.Categories[i] != categories[i] {
			t.Fatalf("categories = %v, want %v", ch.Categories, categories)
		}
	}
	if len(ch.Series) != len(series) {
		t.Errorf("got %d series, want %d: %+v", len(ch.Series), len(series), ch.Series)
	}
	for _, s := range ch.Series {
		want, ok := series[s.Name]
		if !ok {
			t.Errorf("unexpected series %q", s.Name)
			continue
		}
		for i := range want {
			if math.Abs(s.Data[i]-want[i]) > 1e-9 {
				t.Errorf("series %q = %v, want %v", s.Name, s.Data, want)
				break
			}
		}
	}
}

// testReportsAgree checks, on generated realistic data, that the reports agree with each
// other: every chart and the media_sources report add up to the totals of Stats.
func testReportsAgree(t *testing.T, open func(*testing.T) ReportStore) {
	s := open(t)
	ctx := context.Background()
	err := GenerateFixture(60_000, 7, 7_000, func(b unmogrowp.Batch) error { return s.Append(ctx, b) })
	if err != nil {
		t.Fatal(err)
	}
	app := FixtureApps[0]
	to := FixtureStart.Add(FixtureSpan)
	from := to.Add(-10 * 24 * time.Hour)
	st, err := s.Stats(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if st.Installs == 0 || st.Reinstalls == 0 || st.RejectedInstalls == 0 || st.Clicks == 0 || st.Revenue == 0 {
		t.Fatalf("the generated data lacks a case: %+v", *st)
	}
	sum := func(ch *unmogrowp.Chart, err error) float64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var total float64
		for _, s := range ch.Series {
			for _, v := range s.Data {
				total += v
			}
		}
		return total
	}
	for _, c := range []struct {
		chart, interval string
		want            float64
	}{
		{unmogrowp.ChartInstalls, unmogrowp.IntervalHour, float64(st.Installs + st.RejectedInstalls)},
		{unmogrowp.ChartInstalls, unmogrowp.IntervalDay, float64(st.Installs + st.RejectedInstalls)},
		{unmogrowp.ChartMediaSources, "", float64(st.Installs + st.RejectedInstalls)},
		{unmogrowp.ChartPlatforms, "", float64(st.Installs)},
		{unmogrowp.ChartEvents, unmogrowp.IntervalDay, float64(st.Events)},
		{unmogrowp.ChartRevenue, unmogrowp.IntervalHour, st.Revenue},
	} {
		if got := sum(s.Chart(ctx, app, c.chart, from, to, c.interval)); math.Abs(got-c.want) > 1e-3 {
			t.Errorf("chart %s/%s adds up to %v, Stats says %v", c.chart, c.interval, got, c.want)
		}
	}
	ms, err := s.MediaSourceReport(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var row unmogrowp.MediaSourceRow
	for _, r := range ms.Rows {
		row.Clicks += r.Clicks
		row.Impressions += r.Impressions
		row.Installs += r.Installs
		row.Events += r.Events
		row.Revenue += r.Revenue
		row.RejectedInstalls += r.RejectedInstalls
	}
	// Half the generated rejected installs rejected touchpoints of two sources: each still
	// counts in one row.
	if row.Clicks != st.Clicks || row.Impressions != st.Impressions || row.Installs != st.Installs ||
		row.Events != st.Events || math.Abs(row.Revenue-st.Revenue) > 1e-3 || row.RejectedInstalls != st.RejectedInstalls {
		t.Errorf("media_sources adds up to %+v, Stats says %+v", row, *st)
	}
	ret, err := s.RetentionReport(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var cohorts int64
	for _, c := range ret.Cohorts {
		cohorts += c.Installs
		if c.Retained[0] == 0 || c.Retained[0] > c.Installs {
			t.Errorf("cohort %s: %d installs, %d on day 0", c.InstallDate, c.Installs, c.Retained[0])
		}
	}
	if cohorts != st.Installs {
		t.Errorf("retention cohorts hold %d installs, Stats says %d", cohorts, st.Installs)
	}
	fr, err := s.FraudReport(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var rejected int64
	for _, r := range fr.Rows {
		rejected += r.Count
		if r.Touchpoints != r.Count || r.Installs == 0 || r.Touchpoints == 0 {
			t.Errorf("fraud row %+v", r)
		}
	}
	if rejected < st.RejectedInstalls {
		t.Errorf("fraud report counts %d rejected touchpoints, fewer than %d rejected installs", rejected, st.RejectedInstalls)
	}
	testRejectedTotalsAgree(t, s, app, from, to, st, fr)
}

// testRejectedTotalsAgree checks that every total of rejected installs is Stats': the
// fraud report's, the installs chart's "rejected" series (by hour and by day), the
// media_sources chart's "rejected" category and the media_sources report's rows.
func testRejectedTotalsAgree(t *testing.T, s ReportStore, app string, from, to time.Time, st *unmogrowp.Stats, fr *unmogrowp.FraudReport) {
	t.Helper()
	ctx := context.Background()
	totals := map[string]int64{"fraud report": fr.RejectedInstalls}
	for _, interval := range []string{unmogrowp.IntervalHour, unmogrowp.IntervalDay} {
		ch, err := s.Chart(ctx, app, unmogrowp.ChartInstalls, from, to, interval)
		if err != nil {
			t.Fatal(err)
		}
		for _, ser := range ch.Series {
			if ser.Name == "rejected" {
				var n float64
				for _, v := range ser.Data {
					n += v
				}
				totals["installs chart by "+interval] = int64(n)
			}
		}
	}
	ch, err := s.Chart(ctx, app, unmogrowp.ChartMediaSources, from, to, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range ch.Categories {
		if c == unmogrowp.MediaSourceRejected {
			totals["media_sources chart"] = int64(ch.Series[0].Data[i])
		}
	}
	ms, err := s.MediaSourceReport(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range ms.Rows {
		n += r.RejectedInstalls
	}
	totals["media_sources report"] = n
	if len(totals) != 5 {
		t.Errorf("a total is missing: %v", totals)
	}
	for name, n := range totals {
		if n != st.RejectedInstalls {
			t.Errorf("%s: %d rejected installs, Stats says %d", name, n, st.RejectedInstalls)
		}
	}
}

// testActiveDevices checks Stats' active devices, on generated realistic data appended in
// several batches, against the distinct devices of the stored events, over ranges that hold
// whole UTC days, partial days at either end, or neither.
func testActiveDevices(t *testing.T, open func(*testing.T) ReportStore) {
	s := open(t)
	ctx := context.Background()
	if err := GenerateFixture(30_000, 3, 4_000, func(b unmogrowp.Batch) error { return s.Append(ctx, b) }); err != nil {
		t.Fatal(err)
	}
	app := FixtureApps[0]
	events, err := s.Events(ctx, unmogrowp.EventFilter{AppID: app})
	if err != nil {
		t.Fatal(err)
	}
	end := FixtureStart.Add(FixtureSpan)
	day, h := 24*time.Hour, time.Hour
	for _, r := range []struct {
		name     string
		from, to time.Time
	}{
		{"the whole span", FixtureStart, end},
		{"whole days", end.Add(-10 * day), end.Add(-2 * day)},
		{"partial days at both ends", end.Add(-10*day + 5*h + 13*time.Minute), end.Add(-2*day - 3*h - time.Microsecond)},
		{"a partial day at the start", end.Add(-3*day + 17*h), end.Add(-day)},
		{"a partial day at the end", end.Add(-3 * day), end.Add(-day + 7*h)},
		{"within one day", end.Add(-5*day + 2*h), end.Add(-5*day + 20*h)},
		{"across one midnight", end.Add(-5*day - 6*h), end.Add(-5*day + 6*h)},
		{"one whole day", end.Add(-4 * day), end.Add(-3 * day)},
		{"empty", end.Add(-4 * day), end.Add(-4 * day)},
	} {
		devices := map[string]bool{}
		for _, e := range events {
			if !e.Timestamp.Before(r.from) && e.Timestamp.Before(r.to) {
				devices[e.DeviceID] = true
			}
		}
		st, err := s.Stats(ctx, app, r.from, r.to)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if st.ActiveDevices != int64(len(devices)) {
			t.Errorf("%s [%v, %v): %d active devices, want %d", r.name, r.from, r.to, st.ActiveDevices, len(devices))
		}
		if r.name == "partial days at both ends" && len(devices) < 100 {
			t.Fatalf("%s: only %d devices: the data does not exercise the count", r.name, len(devices))
		}
	}
}
