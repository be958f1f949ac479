package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestRetentionByDimension reads GET /api/analytics/reports/retention with by and
// filter[...] over HTTP from a real DuckDB store: the cohorts are tested against golden
// files in storetest, so this checks what the route adds: the answer's shape with and
// without by, the parameters passed, every validation error naming its parameter, and
// that another app's report stays another's.
func TestRetentionByDimension(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	var ins []testInstall
	for i, c := range []struct{ src, platform string }{{"fb", "ios"}, {"fb", "android"}, {"gg", "ios"}, {"organic", "ios"}} {
		ins = append(ins, testInstall{src: c.src, platform: c.platform, at: now.Add(-time.Duration(i+1) * time.Minute)})
	}
	appendInstalls(t, f, ins)
	base := "/api/analytics/reports/retention?app_id=" + f.app.ID
	// installs sums the installs of the cohorts (a list of cohort objects).
	installs := func(cohorts any) float64 {
		var n float64
		list, _ := cohorts.([]any)
		for _, c := range list {
			n += c.(map[string]any)["installs"].(float64)
		}
		return n
	}

	// Without by: the whole app's cohorts, as before; filters narrow them.
	code, rep := f.do("GET", base, f.key, "")
	if _, rows := rep["rows"]; code != 200 || rows || installs(rep["cohorts"]) != 4 || rep["timezone"] != f.app.Settings.Location().String() {
		t.Errorf("retention without by: %d %v, want the cohorts of 4 installs and the app's zone", code, rep)
	}
	code, rep = f.do("GET", base+"&filter[platform]=ios&filter[media_source]=fb,organic", f.key, "")
	if _, rows := rep["rows"]; code != 200 || rows || installs(rep["cohorts"]) != 2 {
		t.Errorf("retention of fb and organic on ios: %d %v, want the cohorts of 2 installs", code, rep)
	}

	// With by: one row per value, most installs first, each with its cohorts.
	code, rep = f.do("GET", base+"&by=media_source", f.key, "")
	rows, _ := rep["rows"].([]any)
	if _, cohorts := rep["cohorts"]; code != 200 || cohorts || len(rows) != 3 || rep["timezone"] == nil {
		t.Fatalf("retention by media_source: %d %v, want 3 rows and a timezone", code, rep)
	}
	for i, w := range []struct {
		src      string
		installs float64
	}{{"fb", 2}, {"gg", 1}, {"organic", 1}} {
		r := rows[i].(map[string]any)
		if r["media_source"] != w.src || installs(r["cohorts"]) != w.installs || len(r) != 2 {
			t.Errorf("row %d = %v, want media_source %s and cohorts of %v installs", i, r, w.src, w.installs)
		}
	}
	code, rep = f.do("GET", base+"&by=media_source,platform&filter[campaign]=c1", f.key, "")
	rows, _ = rep["rows"].([]any)
	if code != 200 || len(rows) != 3 {
		t.Fatalf("retention by media_source and platform of c1: %d %v, want 3 rows", code, rep)
	}
	if r := rows[0].(map[string]any); r["media_source"] != "fb" || r["platform"] != "android" || installs(r["cohorts"]) != 1 {
		t.Errorf("first row %v, want fb on android (ties by the dimensions)", r)
	}

	for _, c := range []struct{ query, names string }{
		{"&by=media_source,planet", `"planet"`},
		{"&by=campaign,campaign", `"campaign"`},
		{"&filter[planet]=mars", `"filter[planet]"`},
		{"&by=media_source&filter[planet]=mars", `"filter[planet]"`},
		{"&filter=fb", `"filter"`},
		{"&filter[country=FR", `"filter[country"`},
	} {
		code, rep := f.do("GET", base+c.query, f.key, "")
		if msg, _ := rep["error"].(string); code != 400 || !strings.Contains(msg, c.names) {
			t.Errorf("%s: %d %v, want 400 naming %s", c.query, code, rep, c.names)
		}
	}
	for _, c := range []struct{ app, key string }{{f.other.ID, f.key}, {f.app.ID, f.okey}} {
		if code, _ := f.do("GET", "/api/analytics/reports/retention?by=media_source&app_id="+c.app, c.key, ""); code != 404 {
			t.Errorf("another app's retention by media_source: %d, want 404", code)
		}
	}
}

// testInstall is an install appendInstalls stores: organic when src is "organic", else
// attributed to src's campaign c1 by a click.
type testInstall struct {
	src, platform, country string
	at                     time.Time
}

// appendInstalls stores each install's event and decision in the fixture's app, device
// d<i>, event ev<i>, at offset i.
func appendInstalls(t *testing.T, f *fixture, installs []testInstall) {
	t.Helper()
	var b unmogrowp.Batch
	for i, c := range installs {
		e := unmogrowp.Event{EventID: fmt.Sprint("ev", i), AppID: f.app.ID, EventType: unmogrowp.EventInstall, DeviceID: fmt.Sprint("d", i),
			Platform: c.platform, Country: c.country, Timestamp: c.at, ReceivedAt: c.at, Offset: int64(i), MediaSource: c.src}
		a := unmogrowp.Attribution{AppID: f.app.ID, DeviceID: e.DeviceID, InstallEventID: e.EventID, InstallTime: c.at,
			MatchType: unmogrowp.MatchOrganic, MediaSource: unmogrowp.MediaSourceOrganic}
		if c.src != unmogrowp.MediaSourceOrganic {
			a.Attributed, a.MatchType, a.MediaSource, a.Campaign, a.TouchType = true, unmogrowp.MatchDeviceID, c.src, "c1", unmogrowp.TouchClick
			e.Campaign = "c1"
		}
		b.Events = append(b.Events, e)
		b.Installs = append(b.Installs, unmogrowp.Install{Offset: int64(i), FirstInstallTime: c.at, Attribution: a})
	}
	if err := f.store.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}
