package api_test

import (
	"context"
	"fmt"
	"net/url"
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
	if cohorts, _ := rep["cohorts"].([]any); code != 200 || len(cohorts) == 0 || len(cohorts[0].(map[string]any)["retained"].([]any)) != unmogrowp.RetentionDays+1 {
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
