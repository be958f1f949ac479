package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestBreakdown reads GET /api/analytics/reports/breakdown over HTTP from a real DuckDB
// store: the numbers are tested against golden files in storetest, so this checks what
// the route adds: parameters passed, imported cost merged per media source and campaign,
// paging by cursor, and every validation error naming its parameter.
func TestBreakdown(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	var ins []testInstall
	for i, src := range []string{"fb", "fb", "gg", "tt", "organic"} {
		ins = append(ins, testInstall{src: src, platform: "ios", country: "FR", at: now.Add(-time.Duration(i+1) * time.Hour)})
	}
	appendInstalls(t, f, ins)
	today := now.In(f.app.Settings.Location()).Format(time.DateOnly)
	if err := f.meta.PutCosts(context.Background(), f.app.ID, []unmogrowp.Cost{{Date: today, MediaSource: "fb", Campaign: "c1", Cost: 10, Currency: f.app.Settings.ReportingCurrency}}); err != nil {
		t.Fatal(err)
	}
	base := "/api/analytics/reports/breakdown?app_id=" + f.app.ID

	code, rep := f.do("GET", base+"&metrics=installs,cost,ecpi&compare=previous_period", f.key, "")
	rows, _ := rep["rows"].([]any)
	if code != 200 || len(rows) != 4 || rep["next_cursor"] != nil || rep["timezone"] == nil {
		t.Fatalf("default breakdown: %d %v", code, rep)
	}
	fb := rows[0].(map[string]any)
	if fb["media_source"] != "fb" || fb["installs"] != 2.0 || fb["cost"] != 10.0 || fb["ecpi"] != 5.0 || fb["previous"] == nil || fb["change"] == nil {
		t.Errorf("fb row %v, want 2 installs costing 10, ecpi 5, with previous and change", fb)
	}
	if tot := rep["totals"].(map[string]any); tot["installs"] != 5.0 || tot["cost"] != 10.0 {
		t.Errorf("totals %v, want 5 installs and a cost of 10", tot)
	}

	// Cost is per media source and campaign: a breakdown by country has none.
	code, rep = f.do("GET", base+"&by=country&metrics=installs,cost&filter[platform]=ios", f.key, "")
	if rows, _ := rep["rows"].([]any); code != 200 || len(rows) != 1 || rows[0].(map[string]any)["country"] != "FR" || rows[0].(map[string]any)["cost"] != nil {
		t.Errorf("by country: %d %v, want one row FR with a null cost", code, rep)
	}

	// Pages of 2 make the whole, in order.
	var got []string
	cursor := ""
	for page := 0; page < 5; page++ {
		code, rep := f.do("GET", base+"&metrics=installs&sort=media_source&limit=2"+cursor, f.key, "")
		if code != 200 {
			t.Fatalf("page %d: %d %v", page, code, rep)
		}
		for _, r := range rep["rows"].([]any) {
			got = append(got, r.(map[string]any)["media_source"].(string))
		}
		next, _ := rep["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if strings.Join(got, ",") != "fb,gg,organic,tt" {
		t.Errorf("paged media sources %v, want fb,gg,organic,tt", got)
	}

	for _, c := range []struct{ query, names string }{
		{"&by=media_source,planet", `"planet"`},
		{"&metrics=installs,likes", `"likes"`},
		{"&filter[planet]=mars", `"filter[planet]"`},
		{"&filter=fb", `"filter"`},
		{"&sort=-likes", `"-likes"`},
		{"&metrics=clicks&sort=installs", `"installs"`},
		{"&compare=last_year", `"last_year"`},
		{"&limit=0", "limit"},
		{"&limit=5001", "limit"},
		{"&cursor=bogus", "cursor"},
		{"&by=campaign,campaign", `"campaign"`},
		{"&event_type=" + strings.Repeat("x", 101), "event_type"},
	} {
		code, rep := f.do("GET", base+c.query, f.key, "")
		if msg, _ := rep["error"].(string); code != 400 || !strings.Contains(msg, c.names) {
			t.Errorf("%s: %d %v, want 400 naming %s", c.query, code, rep, c.names)
		}
	}
	if code, _ := f.do("GET", "/api/analytics/reports/breakdown?app_id="+f.other.ID, f.key, ""); code != 404 {
		t.Errorf("another app's breakdown with this app's key: %d, want 404", code)
	}
}
