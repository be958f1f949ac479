package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestReportsOverExtremeRevenue stores, bypassing ingestion, the event that once broke an
// app's reports for good (revenue 1e303) and one whose revenue is NaN: the dashboard's
// stats, the revenue chart and the media sources report answer 200 with the revenue
// counted within unmogrowp.MaxRevenue, not a 500.
func TestReportsOverExtremeRevenue(t *testing.T) {
	f := newFixture(t)
	// Today (UTC), in the past: the chart's last point is today's.
	now := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Second)
	var b unmogrowp.Batch
	for i, r := range []float64{1e303, 1e303, 2.5} {
		b.Events = append(b.Events, unmogrowp.Event{Offset: int64(i), EventID: "buy" + string(rune('a'+i)), AppID: f.app.ID, EventType: "purchase", DeviceID: "d",
			Timestamp: now, ReceivedAt: now, Revenue: r, HasRevenue: true, Currency: "USD", MediaSource: "fb", Campaign: "c"})
	}
	if err := f.store.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	app := "app_id=" + f.app.ID
	if code, st := f.do("GET", "/api/dashboard/stats?"+app, f.key, ""); code != 200 || st["revenue"] != 2*unmogrowp.MaxRevenue+2.5 {
		t.Errorf("stats: %d %v", code, st)
	}
	code, ch := f.do("GET", "/api/dashboard/charts/revenue?"+app, f.key, "")
	if code != 200 {
		t.Errorf("revenue chart: %d %v", code, ch)
	} else if data := ch["series"].([]any)[0].(map[string]any)["data"].([]any); data[len(data)-1] != 2*unmogrowp.MaxRevenue+2.5 {
		t.Errorf("revenue chart: today's revenue %v", data[len(data)-1])
	}
	code, rep := f.do("GET", "/api/analytics/reports/media_sources?"+app, f.key, "")
	if rows, _ := rep["rows"].([]any); code != 200 || len(rows) != 1 || rows[0].(map[string]any)["revenue"] != 2*unmogrowp.MaxRevenue+2.5 {
		t.Errorf("media_sources report: %d %v", code, rep)
	}
}

// TestRefusesText checks that the API refuses, rather than mends, text that is not UTF-8 or
// holds control characters: in a device id of the attribution route (400, not the 500 the
// store's error gave), and in the names of apps and links.
func TestRefusesText(t *testing.T) {
	f := newFixture(t)
	prefix := "/api/apps/" + f.app.ID
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", prefix + "/attribution/d%FF", "", "device_id must be valid UTF-8"},
		{"GET", prefix + "/attribution/%C3%28", "", "device_id must be valid UTF-8"},
		{"GET", prefix + "/attribution/d%00", "", "device_id must not hold control characters"},
		{"PATCH", prefix, "{\"name\":\"G\xffme\"}", "name must be valid UTF-8"},
		{"PATCH", prefix, `{"name":"Ga\u0000me"}`, "name must not hold control characters"},
		{"PATCH", prefix, `{"name":"G\udc00me"}`, "name must be valid UTF-8"},
		{"POST", prefix + "/links", `{"media_source":"fb\u0007"}`, "media_source must not hold control characters"},
		{"POST", prefix + "/links", "{\"media_source\":\"fb\",\"campaign\":\"\xfe\"}", "campaign must be valid UTF-8"},
	} {
		key := f.key
		if c.method == "PATCH" {
			key = f.owner // settings are an admin's
		}
		code, body := f.do(c.method, c.path, key, c.body)
		if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, c.want) {
			t.Errorf("%s %s %q: %d %v, want 400 with %q", c.method, c.path, c.body, code, body, c.want)
		}
	}
	if code, app := f.do("PATCH", prefix, f.owner, `{"name":"Gäme 😀"}`); code != 200 || app["name"] != "Gäme 😀" {
		t.Errorf("a name of UTF-8: %d %v", code, app)
	}
}
