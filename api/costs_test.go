package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// postCosts posts a cost body with the content type and the app's server key.
func (f *fixture) postCosts(contentType, body string) (int, map[string]any) {
	f.t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+"/api/apps/"+f.app.ID+"/costs", strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", f.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		f.t.Fatalf("%d, not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// costs lists the app's imported rows through the API.
func (f *fixture) costs(query string) []unmogrowp.Cost {
	f.t.Helper()
	code, b := f.raw("GET", "/api/apps/"+f.app.ID+"/costs"+query, f.key, "")
	var out struct {
		Costs []unmogrowp.Cost `json:"costs"`
	}
	if err := json.Unmarshal(b, &out); code != 200 || err != nil || out.Costs == nil {
		f.t.Fatalf("GET costs%s: %d %s", query, code, b)
	}
	return out.Costs
}

// A CSV file is read by its header (any order and case, optional columns left out, a
// byte order mark skipped), upserted on its key, and listed by date.
func TestCostImportCSV(t *testing.T) {
	f := newFixture(t)
	csv := "\ufeffDate,Media_Source,cost,currency,campaign,impressions\n" +
		"2026-03-02,facebook_ads,12.50,usd,\"spring, \"\"big\"\"\",1000\n" +
		"\n" +
		"2026-03-03, tiktok , 3 ,EUR,,\n" +
		"2026-03-02,facebook_ads,99,USD,other,\n"
	if code, body := f.postCosts("text/csv; charset=utf-8", csv); code != 200 || body["rows"] != 3.0 {
		t.Fatalf("%d %v", code, body)
	}
	want := []unmogrowp.Cost{
		{Date: "2026-03-02", MediaSource: "facebook_ads", Campaign: "other", Cost: 99, Currency: "USD"},
		{Date: "2026-03-02", MediaSource: "facebook_ads", Campaign: `spring, "big"`, Cost: 12.5, Currency: "USD", Impressions: 1000},
		{Date: "2026-03-03", MediaSource: "tiktok", Cost: 3, Currency: "EUR"},
	}
	got := f.costs("")
	if len(got) != len(want) {
		t.Fatalf("costs = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cost %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// The same key again replaces the row; JSON takes the same rows.
	if code, body := f.postCosts("application/json", `{"costs":[{"date":"2026-03-03","media_source":"tiktok","cost":4.25,"currency":"EUR","clicks":9}]}`); code != 200 || body["rows"] != 1.0 {
		t.Fatalf("%d %v", code, body)
	}
	got = f.costs("?from=2026-03-03&to=2026-03-03")
	if len(got) != 1 || got[0].Cost != 4.25 || got[0].Clicks != 9 {
		t.Fatalf("after the upsert: %+v", got)
	}
	if got := f.costs("?to=2026-03-02"); len(got) != 2 {
		t.Fatalf("to=2026-03-02: %+v", got)
	}
	for _, q := range []string{"?from=yesterday", "?to=2026-13-01", "?from=2026-03-03&to=2026-03-02"} {
		if code, body := f.do("GET", "/api/apps/"+f.app.ID+"/costs"+q, f.key, ""); code != 400 || body["error"] == nil {
			t.Errorf("GET costs%s: %d %v, want 400", q, code, body)
		}
	}
}

// A bad row refuses the whole request with a 400 naming the line (the header is line 1)
// and the column, and stores nothing of it.
func TestCostImportErrors(t *testing.T) {
	f := newFixture(t)
	if code, body := f.postCosts("text/csv", "date,media_source,cost,currency\n2026-03-01,fb,1,USD\n"); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	const head = "date,media_source,cost,currency,clicks\n"
	const good = "2026-03-02,fb,1,USD,3\n"
	for name, c := range map[string]struct {
		contentType, body string
		code              int
		want              string
	}{
		"bad cost":         {"text/csv", head + good + "2026-03-02,gg,lots,USD,1\n", 400, "Line 3, column cost: cost must be a number."},
		"negative cost":    {"text/csv", head + good + good + "2026-03-02,gg,-1,USD,1\n", 400, "Line 4, column cost: cost must be a number from 0"},
		"bad date":         {"text/csv", head + "02/03/2026,fb,1,USD,3\n", 400, "Line 2, column date: date must be a day as YYYY-MM-DD."},
		"no such day":      {"text/csv", head + "2026-02-30,fb,1,USD,3\n", 400, "Line 2, column date"},
		"no source":        {"text/csv", head + "2026-03-02,,1,USD,3\n", 400, "Line 2, column media_source: media_source is required."},
		"no cost":          {"text/csv", head + "2026-03-02,fb,,USD,3\n", 400, "Line 2, column cost: cost is required."},
		"bad currency":     {"text/csv", head + "2026-03-02,fb,1,dollars,3\n", 400, "Line 2, column currency"},
		"no currency":      {"text/csv", head + "2026-03-02,fb,1,,3\n", 400, "Line 2, column currency: currency is required."},
		"bad clicks":       {"text/csv", head + "2026-03-02,fb,1,USD,3.5\n", 400, "Line 2, column clicks: clicks must be a whole number"},
		"control char":     {"text/csv", "date,media_source,cost,currency,campaign\n2026-03-02,fb,1,USD,a\x01b\n", 400, "Line 2, column campaign"},
		"not UTF-8":        {"text/csv", head + "2026-03-02,f\xffb,1,USD,3\n", 400, "Line 2, column media_source: media_source must be valid UTF-8"},
		"cells":            {"text/csv", head + "2026-03-02,fb,1,USD\n", 400, "Line 2: 4 cells, but the header names 5 columns."},
		"multi-line cell":  {"text/csv", "date,media_source,cost,currency,campaign\n2026-03-02,fb,1,USD,\"two\nlines\"\n", 400, "Line 2, column campaign"},
		"bare quote":       {"text/csv", head + good + "2026-03-02,f\"b,1,USD,3\n", 400, "Line 3 is not valid CSV"},
		"unknown column":   {"text/csv", "date,media_source,cost,currency,spend\n", 400, `Line 1, column 5: unknown column "spend"`},
		"twice":            {"text/csv", "date,media_source,cost,currency,cost\n", 400, "Line 1, column 5: column cost is there twice."},
		"missing column":   {"text/csv", "date,media_source,cost\n", 400, "Line 1: column currency is required."},
		"empty":            {"text/csv", "", 400, "Line 1: the file is empty"},
		"json bad cost":    {"application/json", `{"costs":[{"date":"2026-03-02","media_source":"fb","cost":1,"currency":"USD"},{"date":"2026-03-02","media_source":"fb","cost":"1","currency":"USD"}]}`, 400, "costs[1], column cost"},
		"json no cost":     {"application/json", `{"costs":[{"date":"2026-03-02","media_source":"fb","currency":"USD"}]}`, 400, "costs[0], column cost: cost is required."},
		"json unknown key": {"application/json", `{"costs":[{"date":"2026-03-02","media_source":"fb","cost":1,"currency":"USD","spend":2}]}`, 400, `costs[0]: unknown key "spend"`},
		"json not object":  {"application/json", `{"costs":[7]}`, 400, "costs[0] must be a JSON object."},
		"json not array":   {"application/json", `{"costs":{}}`, 400, "costs must be a JSON array."},
		"json no costs":    {"application/json", `{"rows":[]}`, 400, `{"costs":[...]}`},
		"json invalid":     {"application/json", `{"costs":[`, 400, "not valid JSON"},
		"json bad date":    {"application/json", `{"costs":[{"date":"2026-3-2","media_source":"fb","cost":1,"currency":"USD"}]}`, 400, "costs[0], column date"},
		"content type":     {"text/plain", head + good, 400, "Content-Type must be text/csv or application/json."},
		"no content type":  {"", head + good, 400, "Content-Type must be"},
	} {
		t.Run(name, func(t *testing.T) {
			code, body := f.postCosts(c.contentType, c.body)
			if msg, _ := body["error"].(string); code != c.code || !strings.Contains(msg, c.want) {
				t.Fatalf("%d %v, want %d with %q", code, body, c.code, c.want)
			}
		})
	}
	if got := f.costs(""); len(got) != 1 || got[0].Date != "2026-03-01" {
		t.Fatalf("a refused request stored rows: %+v", got)
	}
}

// The media_sources report gains cost, ecpi and roas from touchpoint and imported cost,
// imported cost winning for its day, source and campaign, and says its currency.
func TestMediaSourcesCost(t *testing.T) {
	f := newFixture(t)
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var b unmogrowp.Batch
	for i, c := range []struct {
		source, campaign string
		hour             int
		value            float64
	}{{"fb", "c1", 1, 0.5}, {"fb", "c1", 2, 0.5}, {"gg", "g1", 3, 0.25}, {"gg", "g1", 30, 0.25}} {
		b.Touchpoints = append(b.Touchpoints, unmogrowp.Touchpoint{
			Offset: int64(i + 1), ID: "tp" + string(rune('a'+i)), AppID: f.app.ID, Type: unmogrowp.TouchClick,
			MediaSource: c.source, Campaign: c.campaign, Time: day.Add(time.Duration(c.hour) * time.Hour),
			ReceivedAt: day, CostModel: unmogrowp.CostCPC, CostValue: c.value, CostCurrency: "USD",
		})
	}
	install := unmogrowp.Install{Offset: 10, FirstInstallTime: day.Add(4 * time.Hour), Attribution: unmogrowp.Attribution{
		AppID: f.app.ID, DeviceID: "d1", InstallEventID: "e1", InstallTime: day.Add(4 * time.Hour), Attributed: true,
		MatchType: unmogrowp.MatchDeviceID, TouchType: unmogrowp.TouchClick, TouchpointID: "tpa", TouchTime: day.Add(time.Hour),
		MediaSource: "fb", Campaign: "c1",
	}}
	b.Installs = append(b.Installs, install)
	b.Events = append(b.Events, unmogrowp.Event{Offset: 10, EventID: "e1", AppID: f.app.ID, EventType: unmogrowp.EventInstall, DeviceID: "d1", Timestamp: install.InstallTime, ReceivedAt: install.InstallTime, MediaSource: "fb", Campaign: "c1"},
		unmogrowp.Event{Offset: 11, EventID: "e2", AppID: f.app.ID, EventType: "purchase", DeviceID: "d1", Timestamp: install.InstallTime.Add(time.Minute), ReceivedAt: install.InstallTime, MediaSource: "fb", Campaign: "c1", Revenue: 3, HasRevenue: true, Currency: "USD"})
	if err := f.store.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// gg/g1 on day 2 is imported: its touchpoint's 0.25 of that day does not count.
	if code, body := f.postCosts("text/csv", "date,media_source,campaign,cost,currency\n2026-03-03,gg,g1,10,USD\n2026-03-02,tt,t1,5,GBP\n"); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	code, b2 := f.raw("GET", "/api/analytics/reports/media_sources?app_id="+f.app.ID+"&from=2026-03-02T00:00:00Z&to=2026-03-04T00:00:00Z", f.key, "")
	var rep struct {
		Rows []struct {
			MediaSource string   `json:"media_source"`
			Campaign    string   `json:"campaign"`
			Installs    int64    `json:"installs"`
			Cost        float64  `json:"cost"`
			ECPI        *float64 `json:"ecpi"`
			ROAS        *float64 `json:"roas"`
		} `json:"rows"`
		Currency    string `json:"currency"`
		Unconverted *int64 `json:"unconverted_amounts"`
	}
	if err := json.Unmarshal(b2, &rep); code != 200 || err != nil {
		t.Fatalf("%d %s", code, b2)
	}
	if rep.Currency != "USD" || rep.Unconverted == nil || *rep.Unconverted != 1 { // the GBP row: no rate without a converter
		t.Errorf("currency %q, unconverted_amounts %v; want USD, 1: %s", rep.Currency, rep.Unconverted, b2)
	}
	got := map[string]string{}
	for _, r := range rep.Rows {
		s, _ := json.Marshal([]any{r.Installs, r.Cost, r.ECPI, r.ROAS})
		got[r.MediaSource+"/"+r.Campaign] = string(s)
	}
	for key, want := range map[string]string{
		"fb/c1": "[1,1,1,3]",        // two clicks of 0.50; one install; 3 of revenue
		"gg/g1": "[0,10.25,null,0]", // 0.25 of day 1 and 10 imported for day 2
	} {
		if got[key] != want {
			t.Errorf("row %s [installs, cost, ecpi, roas] = %s, want %s (%s)", key, got[key], want, b2)
		}
	}
	if _, ok := got["tt/t1"]; ok {
		t.Errorf("a row whose only cost had no rate: %s", b2)
	}
}
