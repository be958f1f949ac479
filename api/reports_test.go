package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestReports reads the dashboard and report routes over HTTP from a real DuckDB store
// holding a few known installs, clicks and a purchase; the numbers themselves are tested
// against golden files in package duckdb, so this checks the routes: the app and range
// they pass, the default of the last 7 days, the shapes, and the errors.
func TestReports(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	var b unmogrowp.Batch
	offset := int64(0)
	install := func(app *unmogrowp.App, device string, at time.Time, source string) {
		e := unmogrowp.Event{EventID: fmt.Sprint("ev", offset), AppID: app.ID, EventType: unmogrowp.EventInstall, DeviceID: device,
			Platform: "android", Timestamp: at, ReceivedAt: at, Offset: offset}
		a := unmogrowp.Attribution{AppID: app.ID, DeviceID: device, InstallEventID: e.EventID, InstallTime: at,
			MatchType: unmogrowp.MatchOrganic, MediaSource: unmogrowp.MediaSourceOrganic}
		if source != "" {
			a.Attributed, a.MatchType, a.MediaSource, a.Campaign, a.TouchType = true, unmogrowp.MatchDeviceID, source, "spring", unmogrowp.TouchClick
			e.MediaSource, e.Campaign = source, "spring"
		}
		b.Events = append(b.Events, e)
		b.Installs = append(b.Installs, unmogrowp.Install{Offset: offset, FirstInstallTime: at, Attribution: a})
		offset++
	}
	install(f.app, "d1", now.Add(-time.Hour), "")
	install(f.app, "d2", now.Add(-2*time.Hour), "")
	install(f.app, "d3", now.Add(-3*time.Hour), "facebook")
	install(f.app, "d4", now.Add(-8*24*time.Hour), "") // before the default range
	install(f.other, "o1", now.Add(-time.Hour), "")    // another app's
	for i := range 4 {
		b.Touchpoints = append(b.Touchpoints, unmogrowp.Touchpoint{Offset: offset, ID: fmt.Sprint("tp", i), AppID: f.app.ID, Type: unmogrowp.TouchClick,
			MediaSource: "facebook", Campaign: "spring", Time: now.Add(-4 * time.Hour), ReceivedAt: now})
		offset++
	}
	b.Events = append(b.Events, unmogrowp.Event{EventID: "buy", AppID: f.app.ID, EventType: "purchase", DeviceID: "d3", Timestamp: now.Add(-time.Minute),
		ReceivedAt: now, Revenue: 9.99, HasRevenue: true, Currency: "USD", MediaSource: "facebook", Campaign: "spring", Offset: offset})
	if err := f.store.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	app := "app_id=" + f.app.ID

	code, st := f.do("GET", "/api/dashboard/stats?"+app, f.key, "")
	if code != 200 || st["installs"] != 3.0 || st["organic_installs"] != 2.0 || st["non_organic_installs"] != 1.0 ||
		st["clicks"] != 4.0 || st["conversion_rate"] != 0.25 || st["revenue"] != 9.99 || st["events"] != 4.0 || st["active_devices"] != 3.0 {
		t.Errorf("stats over the last 7 days: %d %v", code, st)
	}
	from := url.QueryEscape(now.Add(-9 * 24 * time.Hour).Format(time.RFC3339))
	if code, st := f.do("GET", "/api/dashboard/stats?"+app+"&from="+from, f.key, ""); code != 200 || st["installs"] != 4.0 {
		t.Errorf("stats from 9 days ago: %d %v, want the older install too", code, st)
	}
	to := fmt.Sprint(now.Add(-150 * time.Minute).Unix())
	if code, st := f.do("GET", "/api/dashboard/stats?"+app+"&to="+to, f.key, ""); code != 200 || st["installs"] != 1.0 || st["revenue"] != 0.0 {
		t.Errorf("stats up to 2.5 hours ago: %d %v, want only d3's install", code, st)
	}

	code, c := f.do("GET", "/api/dashboard/charts/installs?"+app+"&interval=day", f.key, "")
	if cats, _ := c["categories"].([]any); code != 200 || len(cats) < 7 || len(cats) > 8 || len(c["series"].([]any)) != 3 {
		t.Errorf("installs chart by day over 7 days: %d %v", code, c)
	}
	code, c = f.do("GET", "/api/dashboard/charts/installs?"+app+"&interval=hour", f.key, "")
	if cats, _ := c["categories"].([]any); code != 200 || len(cats) < 168 || len(cats) > 169 {
		t.Errorf("installs chart by hour over 7 days: %d, %d categories", code, len(cats))
	}
	code, c = f.do("GET", "/api/dashboard/charts/media_sources?"+app, f.key, "")
	if cats, _ := c["categories"].([]any); code != 200 || len(cats) != 2 {
		t.Errorf("media sources chart: %d %v, want facebook and organic", code, c)
	}
	for _, chart := range []string{"events", "revenue", "platforms"} {
		if code, c := f.do("GET", "/api/dashboard/charts/"+chart+"?"+app, f.key, ""); code != 200 || c["categories"] == nil || c["series"] == nil {
			t.Errorf("%s chart: %d %v", chart, code, c)
		}
	}

	code, rep := f.do("GET", "/api/analytics/reports/media_sources?"+app, f.key, "")
	if rows, _ := rep["rows"].([]any); code != 200 || len(rows) != 2 {
		t.Errorf("media_sources report: %d %v, want facebook/spring and organic", code, rep)
	}
	code, rep = f.do("GET", "/api/analytics/reports/retention?"+app, f.key, "")
	// The installs of the last hours: at most day 0 has ended (the cohort is yesterday's
	// near midnight), the days still to come are absent.
	if cohorts, _ := rep["cohorts"].([]any); code != 200 || len(cohorts) == 0 || len(cohorts[len(cohorts)-1].(map[string]any)["retained"].([]any)) > 1 {
		t.Errorf("retention report: %d %v", code, rep)
	}
	if code, rep := f.do("GET", "/api/analytics/reports/fraud?"+app, f.key, ""); code != 200 || rep["rows"] == nil {
		t.Errorf("fraud report: %d %v", code, rep)
	}

	for _, tc := range []struct {
		path, key string
		want      int
	}{
		{"/api/dashboard/stats", f.key, 400},
		{"/api/dashboard/stats?" + app + "&from=yesterday", f.key, 400},
		{"/api/dashboard/stats?" + app + "&from=1772377200&to=1772373600", f.key, 400},
		{"/api/dashboard/charts/installs?" + app + "&interval=minute", f.key, 400},
		{"/api/dashboard/charts/installs?" + app + "&interval=hour&from=1000000000", f.key, 400}, // too many points
		{"/api/dashboard/charts/pie?" + app, f.key, 404},
		{"/api/analytics/reports/cohorts?" + app, f.key, 404},
		{"/api/dashboard/stats?" + app, f.okey, 404},
		{"/api/dashboard/stats?" + app, "", 401},
		{"/api/dashboard/stats?app_id=app_nosuch", f.key, 404},
	} {
		if code, body := f.do("GET", tc.path, tc.key, ""); code != tc.want || body["error"] == nil {
			t.Errorf("GET %s: %d %v, want %d with an error", tc.path, code, body, tc.want)
		}
	}
}

// TestReportsInZone reads the reports of an app in America/Los_Angeles reporting in EUR,
// with rates loaded in the metadata store: dates in from and to are the zone's days, and
// revenue converts at its local date's rate (the Friday's on a Sunday), a currency without
// rates counted in unconverted_amounts.
func TestReportsInZone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.app.Settings.Timezone, f.app.Settings.ReportingCurrency = "America/Los_Angeles", "EUR"
	if err := f.meta.UpdateApp(ctx, f.app); err != nil {
		t.Fatal(err)
	}
	if err := f.meta.PutFXRates(ctx, unmogrowp.FXRates{Date: "2026-03-06", Base: "EUR", Rates: map[string]float64{"USD": 1.1}}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 9, 6, 30, 0, 0, time.UTC) // 03-08 23:30 PDT
	in := unmogrowp.Event{EventID: "i", AppID: f.app.ID, EventType: unmogrowp.EventInstall, DeviceID: "d", Timestamp: at, ReceivedAt: at, MediaSource: "fb"}
	b := unmogrowp.Batch{
		Events: []unmogrowp.Event{in,
			{EventID: "p1", AppID: f.app.ID, EventType: "purchase", DeviceID: "d", Timestamp: at.Add(10 * time.Minute), ReceivedAt: at,
				Revenue: 11, HasRevenue: true, Currency: "USD", MediaSource: "fb", Offset: 1},
			{EventID: "p2", AppID: f.app.ID, EventType: "purchase", DeviceID: "d", Timestamp: at.Add(11 * time.Minute), ReceivedAt: at,
				Revenue: 5, HasRevenue: true, Currency: "GBP", MediaSource: "fb", Offset: 2},
		},
		Installs: []unmogrowp.Install{{FirstInstallTime: at, Attribution: unmogrowp.Attribution{AppID: f.app.ID, DeviceID: "d",
			InstallEventID: "i", InstallTime: at, Attributed: true, MatchType: unmogrowp.MatchDeviceID, MediaSource: "fb"}}},
	}
	if err := f.store.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	app := "app_id=" + f.app.ID
	code, st := f.do("GET", "/api/dashboard/stats?"+app+"&from=2026-03-08&to=2026-03-08", f.key, "")
	if code != 200 || st["installs"] != 1.0 || st["revenue"] != 10.0 || st["currency"] != "EUR" || st["unconverted_amounts"] != 1.0 {
		t.Errorf("stats of LA's 03-08: %d %v, want 1 install, 10 EUR, 1 unconverted", code, st)
	}
	if code, st := f.do("GET", "/api/dashboard/stats?"+app+"&from=2026-03-09&to=2026-03-09", f.key, ""); code != 200 || st["installs"] != 0.0 {
		t.Errorf("stats of LA's 03-09 (from 07:00 UTC): %d %v, want no install", code, st)
	}
	code, c := f.do("GET", "/api/dashboard/charts/revenue?"+app+"&from=2026-03-08&to=2026-03-09", f.key, "")
	if code != 200 || fmt.Sprint(c["categories"]) != "[2026-03-08 2026-03-09]" || fmt.Sprint(c["series"]) != "[map[data:[10 0] name:revenue]]" ||
		c["currency"] != "EUR" || c["timezone"] != "America/Los_Angeles" {
		t.Errorf("revenue chart: %d %v", code, c)
	}
	code, rep := f.do("GET", "/api/analytics/reports/ltv?"+app+"&from=2026-03-08&to=2026-03-08&days=1,0", f.key, "")
	cohorts, _ := rep["cohorts"].([]any)
	if code != 200 || len(cohorts) != 1 || rep["currency"] != "EUR" || rep["timezone"] != "America/Los_Angeles" || rep["unconverted_amounts"] != 1.0 {
		t.Fatalf("ltv: %d %v", code, rep)
	}
	if c := cohorts[0].(map[string]any); c["media_source"] != "fb" || fmt.Sprint(c["revenue"]) != "map[0:10 1:10]" || fmt.Sprint(c["roas"]) != "map[0:<nil> 1:<nil>]" {
		t.Errorf("ltv cohort: %v, want fb with 10 EUR by days 0 and 1, no ROAS without cost", c)
	}
	// Cost in the app's zone and currency: 22 USD imported for LA's 03-08 converts at the
	// rate of 03-06 (20 EUR) and wins over the click of 22:00 PDT that day (05:00 UTC of
	// 03-09: bucketed in UTC it would add its 1 USD); 1 JPY has no rate and is counted with
	// the GBP revenue in unconverted_amounts.
	click := at.Add(-90 * time.Minute)
	if err := f.store.Append(ctx, unmogrowp.Batch{Touchpoints: []unmogrowp.Touchpoint{{Offset: 3, ID: "tp", AppID: f.app.ID,
		Type: unmogrowp.TouchClick, MediaSource: "fb", Time: click, ReceivedAt: click,
		CostModel: unmogrowp.CostCPC, CostValue: 1, CostCurrency: "USD"}}}); err != nil {
		t.Fatal(err)
	}
	if code, body := f.postCosts("text/csv", "date,media_source,campaign,cost,currency\n2026-03-08,fb,,22,USD\n2026-03-08,fb,x,1,JPY\n"); code != 200 {
		t.Fatalf("post costs: %d %v", code, body)
	}
	code, ms := f.do("GET", "/api/analytics/reports/media_sources?"+app+"&from=2026-03-08&to=2026-03-08", f.key, "")
	rows, _ := ms["rows"].([]any)
	if code != 200 || len(rows) != 1 || ms["currency"] != "EUR" || ms["unconverted_amounts"] != 2.0 {
		t.Fatalf("media_sources with cost: %d %v, want one row in EUR, 2 unconverted", code, ms)
	}
	if r := rows[0].(map[string]any); r["media_source"] != "fb" || r["revenue"] != 10.0 || r["cost"] != 20.0 || r["ecpi"] != 20.0 || r["roas"] != 0.5 {
		t.Errorf("media_sources row: %v, want fb with 10 EUR of revenue, 20 of cost, ecpi 20, roas 0.5", r)
	}
	code, rep = f.do("GET", "/api/analytics/reports/ltv?"+app+"&from=2026-03-08&to=2026-03-08&days=1,0", f.key, "")
	cohorts, _ = rep["cohorts"].([]any)
	if code != 200 || len(cohorts) != 1 || rep["unconverted_amounts"] != 2.0 {
		t.Fatalf("ltv with cost: %d %v, want one cohort, 2 unconverted", code, rep)
	}
	if c := cohorts[0].(map[string]any); c["cost"] != 20.0 || fmt.Sprint(c["roas"]) != "map[0:0.5 1:0.5]" {
		t.Errorf("ltv cohort with cost: %v, want cost 20 EUR, roas 0.5 by days 0 and 1", c)
	}
	code, rep = f.do("GET", "/api/analytics/reports/ltv?"+app+"&from=2026-03-08&to=2026-03-08&days=0&group_by=none", f.key, "")
	cohorts, _ = rep["cohorts"].([]any)
	if code != 200 || len(cohorts) != 1 || cohorts[0].(map[string]any)["cost"] != 20.0 {
		t.Errorf("ltv by none with cost: %d %v, want one cohort of cost 20", code, rep)
	}

	for path, field := range map[string]string{
		"/api/analytics/reports/ltv?" + app + "&days=1,x":       "days",
		"/api/analytics/reports/ltv?" + app + "&days=400":       "days",
		"/api/analytics/reports/ltv?" + app + "&group_by=adset": "group_by",
		"/api/dashboard/stats?" + app + "&from=2026-02-30":      "from",
		"/api/dashboard/stats?" + app + "&to=2026-03-01T00:00":  "to",
	} {
		if code, body := f.do("GET", path, f.key, ""); code != 400 || !strings.Contains(fmt.Sprint(body["error"]), field) {
			t.Errorf("GET %s: %d %v, want 400 naming %s", path, code, body, field)
		}
	}
}
