package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// segmentCallback records what Segment's Go library reports of each message.
type segmentCallback struct {
	mu        sync.Mutex
	delivered int
	failed    []string
}

func (c *segmentCallback) Success(analytics.Message) { c.mu.Lock(); c.delivered++; c.mu.Unlock() }
func (c *segmentCallback) Failure(m analytics.Message, err error) {
	c.mu.Lock()
	c.failed = append(c.failed, fmt.Sprintf("%T: %v", m, err))
	c.mu.Unlock()
}

// TestSegmentLibraries points Segment's own libraries at `unmogrowp serve`: its Go library
// (analytics-go v3.3.0, in process) and, when node and cmd/unmogrowp/testdata/segment's
// packages are installed, its Node library (@segment/analytics-node). Each sends a
// mobile-spec install ("Application Installed" with context.device.advertisingId on
// Android) after a click of a network with the same GAID, a purchase, and every other
// call type. The installs are attributed to the network like native installs (GET
// /v1/attribution), the API's report counts their events and revenue, and the store
// holds each call once, mapped.
func TestSegmentLibraries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := createApp(t, dir, "Segment")
	// The libraries' purchases are in EUR: the app reports in EUR, so that no exchange rate
	// is needed for the report's revenue.
	setSettings(t, &embedded{dir: dir}, k.ID, func(s *unmogrowp.AppSettings) { s.ReportingCurrency = "EUR" })
	p := startServe(t, dir)
	const goGAID, nodeGAID = "38400000-8cf0-11bd-b23e-10b96e40000d", "48400000-8cf0-11bd-b23e-10b96e40000e"
	for _, gaid := range []string{goGAID, nodeGAID} {
		code, resp, _ := call(t, "POST", p.ingest+"/v1/touchpoints", map[string]string{"X-Api-Key": k.ServerKey},
			map[string]any{"touchpoints": []map[string]any{{"type": "click", "media_source": "segnet", "campaign": "spring", "gaid": gaid,
				"timestamp": time.Now().Add(-time.Hour).Unix()}}}) // not so close to the install as to look injected
		if code != 200 || !strings.Contains(string(resp), `"accepted":1`) {
			t.Fatalf("touchpoint: %d %s", code, resp)
		}
	}
	p.waitDrained(t) // the clicks before the installs

	cb := &segmentCallback{}
	client, err := analytics.NewWithConfig(k.SDKKey, analytics.Config{
		Endpoint: p.ingest, Interval: 50 * time.Millisecond, BatchSize: 4, Callback: cb,
		Logger: analytics.StdLogger(log.New(testLogger{t}, "analytics-go ", 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := analytics.Context{
		OS:     analytics.OSInfo{Name: "Android", Version: "14"},
		Device: analytics.DeviceInfo{AdvertisingID: goGAID, Model: "Pixel 8"},
		App:    analytics.AppInfo{Version: "2.0.0"},
		Locale: "de-DE",
	}
	for _, m := range []analytics.Message{
		analytics.Track{MessageId: "go-install", AnonymousId: "seg-go", Event: "Application Installed", Context: &ctx},
		analytics.Track{MessageId: "go-order", AnonymousId: "seg-go", UserId: "go-user", Event: "Order Completed",
			Properties: analytics.NewProperties().SetRevenue(9.99).SetCurrency("EUR"), Context: &ctx},
		analytics.Track{MessageId: "go-order", AnonymousId: "seg-go", UserId: "go-user", Event: "Order Completed", // sent again
			Properties: analytics.NewProperties().SetRevenue(9.99).SetCurrency("EUR"), Context: &ctx},
		analytics.Identify{AnonymousId: "seg-go", UserId: "go-user", Traits: analytics.NewTraits().SetEmail("go@example.com")},
		analytics.Screen{AnonymousId: "seg-go", Name: "Home"},
		analytics.Page{AnonymousId: "seg-go", Name: "Pricing"},
		analytics.Group{AnonymousId: "seg-go", GroupId: "g1"},
		analytics.Alias{UserId: "go-user", PreviousId: "seg-go"},
	} {
		if err := client.Enqueue(m); err != nil {
			t.Fatalf("enqueue %T: %v", m, err)
		}
	}
	if err := client.Close(); err != nil { // flushes
		t.Fatal(err)
	}
	if len(cb.failed) > 0 || cb.delivered != 8 {
		t.Fatalf("Segment's Go library delivered %d of 8 messages; failures: %v", cb.delivered, cb.failed)
	}
	wantEvents, wantRevenue := 7, 9.99 // the order sent twice is stored once

	t.Run("node", func(t *testing.T) {
		node, dir := segmentNode(t)
		cmd := exec.Command(node, "send-node.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "INGEST_URL="+p.ingest, "WRITE_KEY="+k.SDKKey, "DEVICE=seg-node", "GAID="+nodeGAID)
		out, err := cmd.CombinedOutput()
		t.Logf("node send-node.mjs: %s", out)
		if err != nil {
			t.Fatalf("Segment's Node library: %v", err)
		}
		wantEvents, wantRevenue = wantEvents+7, wantRevenue+9.99
	})

	browserDevice := ""
	t.Run("browser", func(t *testing.T) {
		node, dir := segmentNode(t)
		if _, err := os.Stat("/usr/bin/chromium"); err != nil {
			testenv.Missing(t, "Segment's browser library needs /usr/bin/chromium (to enable: apt-get install chromium)")
		}
		lib, err := os.ReadFile(filepath.Join(dir, "node_modules", "@segment", "analytics-next", "dist", "umd", "index.js"))
		if err != nil {
			t.Fatal(err)
		}
		host := strings.TrimPrefix(p.ingest, "http://")
		page := fmt.Sprintf(`<!doctype html><title>Segment</title><script src="/analytics-next.js"></script>
<script>
const segmentio = {apiKey: %[1]q, apiHost: %[2]q, protocol: "http"};
window.analytics = AnalyticsNext.AnalyticsBrowser.load(
  {writeKey: %[1]q, cdnSettings: {integrations: {"Segment.io": segmentio}}},
  {integrations: {"Segment.io": segmentio}});
</script>`, k.SDKKey, host+"/v1")
		site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/analytics-next.js" {
				w.Header().Set("Content-Type", "text/javascript")
				w.Write(lib)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(page))
		}))
		defer site.Close()
		cmd := exec.Command(node, "send-browser.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PAGE_URL="+site.URL+"/", "INGEST_HOST="+host)
		out, err := cmd.CombinedOutput()
		t.Logf("node send-browser.mjs: %s", out)
		if err != nil {
			t.Fatalf("Segment's browser library: %v", err)
		}
		m := regexp.MustCompile(`(?m)^ANONYMOUS_ID=(\S+)$`).FindSubmatch(out)
		if m == nil {
			t.Fatal("no ANONYMOUS_ID printed")
		}
		browserDevice = string(m[1])
		wantEvents += 3
	})

	p.waitDrained(t)
	a := attributionOf(t, &embedded{p: p}, k, "seg-go")
	if a.MediaSource != "segnet" || a.Campaign != "spring" {
		t.Fatalf("the Go library's install: attribution %+v, want segnet/spring", a)
	}
	if wantEvents > 7 {
		if a := attributionOf(t, &embedded{p: p}, k, "seg-node"); a.MediaSource != "segnet" {
			t.Fatalf("the Node library's install: attribution %+v, want segnet", a)
		}
	}
	code, resp, _ := call(t, "GET", p.api+"/api/analytics/reports/media_sources?app_id="+k.ID, map[string]string{"X-Api-Key": k.ServerKey}, nil)
	var report struct {
		Rows []struct {
			MediaSource string  `json:"media_source"`
			Installs    int     `json:"installs"`
			Events      int     `json:"events"`
			Revenue     float64 `json:"revenue"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(resp, &report); code != 200 || err != nil {
		t.Fatalf("report: %d %s", code, resp)
	}
	t.Logf("media_sources report: %s", resp)
	var installs, events int
	var revenue float64
	for _, r := range report.Rows {
		if r.MediaSource == "segnet" {
			installs, events, revenue = r.Installs, r.Events, r.Revenue
		}
	}
	if installs != wantEvents/7 || fmt.Sprintf("%.2f", revenue) != fmt.Sprintf("%.2f", wantRevenue) {
		t.Errorf("report for segnet: %d installs, %d events, revenue %v; want %d installs, revenue %v", installs, events, revenue, wantEvents/7, wantRevenue)
	}

	stored := (&embedded{dir: dir, p: p}).events(t, unmogrowp.EventFilter{AppID: k.ID})
	var got []string
	for _, e := range stored {
		if e.DeviceID == "seg-go" {
			got = append(got, fmt.Sprintf("%s %s %s %v %s", e.EventType, e.UserID, e.GAID, e.Revenue, e.Currency))
		}
	}
	want := []string{
		"install  " + goGAID + " 0 ", "Order Completed go-user " + goGAID + " 9.99 EUR", "$identify go-user  0 ",
		"screen   0 ", "page   0 ", "$group   0 ",
	}
	for _, w := range want {
		found := 0
		for _, g := range got {
			if g == w {
				found++
			}
		}
		if found != 1 {
			t.Errorf("the store holds %d of %q, want 1; it holds %q", found, w, got)
		}
	}
	if browserDevice != "" {
		var got []string
		for _, e := range stored {
			if e.DeviceID == browserDevice {
				got = append(got, fmt.Sprintf("%s %s %v %s", e.EventType, e.UserID, e.Revenue, e.Currency))
			}
		}
		slices.Sort(got)
		if want := []string{"$identify browser-user 0 ", "Order Completed browser-user 12.5 EUR", "page browser-user 0 "}; !slices.Equal(got, want) {
			t.Errorf("the browser library's calls stored as %q, want %q", got, want)
		}
	}
	if len(stored) != wantEvents {
		t.Errorf("the store holds %d events, want %d", len(stored), wantEvents)
	}
}

// segmentNode returns node and the directory of the Node script, with its packages
// installed; without them t is skipped (failed under UNMOGROWP_REQUIRE_INTEGRATION=1).
func segmentNode(t *testing.T) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "segment"))
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "@segment", "analytics-node"))
	}
	if err != nil {
		testenv.Missing(t, "Segment's Node library needs node and its packages (to enable: apt-get install nodejs && (cd cmd/unmogrowp/testdata/segment && npm ci))")
	}
	return node, dir
}

// testLogger sends a library's log lines to the test's log.
type testLogger struct{ t *testing.T }

func (l testLogger) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestSplitSegment points Segment's Go library (analytics-go v3.3.0) at the split
// deployment's ingestion processes: one client per process, the second sending again the
// order the first sent (same messageId). Once the consumers have drained the topic, the
// mobile-spec install is attributed to the network's earlier click of the same GAID like a
// native install, ClickHouse holds each call once, mapped, and the API's report counts the
// install and the revenue once.
func TestSplitSegment(t *testing.T) {
	t.Parallel()
	d := newSplit(t)
	d.start(t)
	k := d.createApp(t, "Segment split")
	setSettings(t, d, k.ID, func(s *unmogrowp.AppSettings) { s.ReportingCurrency = "EUR" }) // the order is in EUR
	const gaid = "58400000-8cf0-11bd-b23e-10b96e40000f"
	code, resp, _ := call(t, "POST", d.ingestURL()+"/v1/touchpoints", map[string]string{"X-Api-Key": k.ServerKey},
		map[string]any{"touchpoints": []map[string]any{{"type": "click", "media_source": "segnet", "campaign": "split",
			"gaid": gaid, "timestamp": time.Now().Add(-time.Hour).Unix()}}})
	if code != 200 || !strings.Contains(string(resp), `"accepted":1`) {
		t.Fatalf("touchpoint: %d %s", code, resp)
	}
	d.waitDrained(t) // the click before the install

	ctx := analytics.Context{
		OS:     analytics.OSInfo{Name: "Android", Version: "14"},
		Device: analytics.DeviceInfo{AdvertisingID: gaid, Model: "Pixel 8"},
		App:    analytics.AppInfo{Version: "2.0.0"},
	}
	order := analytics.Track{MessageId: "split-order", AnonymousId: "seg-split", UserId: "split-user", Event: "Order Completed",
		Properties: analytics.NewProperties().SetRevenue(4.5).SetCurrency("EUR"), Context: &ctx}
	send := func(ingest string, msgs ...analytics.Message) {
		t.Helper()
		cb := &segmentCallback{}
		client, err := analytics.NewWithConfig(k.SDKKey, analytics.Config{
			Endpoint: ingest, Interval: 50 * time.Millisecond, BatchSize: 3, Callback: cb,
			Logger: analytics.StdLogger(log.New(testLogger{t}, "analytics-go ", 0)),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if err := client.Enqueue(m); err != nil {
				t.Fatalf("enqueue %T: %v", m, err)
			}
		}
		if err := client.Close(); err != nil { // flushes
			t.Fatal(err)
		}
		if len(cb.failed) > 0 || cb.delivered != len(msgs) {
			t.Fatalf("Segment's Go library delivered %d of %d messages to %s; failures: %v", cb.delivered, len(msgs), ingest, cb.failed)
		}
	}
	send(d.ingests[0].ingest,
		analytics.Track{MessageId: "split-install", AnonymousId: "seg-split", Event: "Application Installed", Context: &ctx},
		order,
		analytics.Screen{MessageId: "split-screen", AnonymousId: "seg-split", Name: "Home"})
	send(d.ingests[1].ingest,
		order, // sent again, to the other process
		analytics.Identify{MessageId: "split-identify", AnonymousId: "seg-split", UserId: "split-user"})
	d.waitDrained(t)

	if a := attributionOf(t, d, k, "seg-split"); a.MediaSource != "segnet" || a.Campaign != "split" || !a.Attributed {
		t.Fatalf("the Segment install: attribution %+v, want segnet/split", a)
	}
	var got []string
	for _, e := range d.events(t, unmogrowp.EventFilter{AppID: k.ID}) {
		got = append(got, fmt.Sprintf("%s %s %s %s %v %s", e.EventID, e.EventType, e.UserID, e.GAID, e.Revenue, e.Currency))
	}
	slices.Sort(got)
	want := []string{
		"split-identify $identify split-user  0 ",
		"split-install install  " + gaid + " 0 ",
		"split-order Order Completed split-user " + gaid + " 4.5 EUR",
		"split-screen screen   0 ",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ClickHouse holds\n%q\nwant\n%q", got, want)
	}
	code, body := apiCall(t, "GET", d.apiURL()+"/api/analytics/reports/media_sources?app_id="+k.ID, k.ServerKey, "")
	rows, _ := body["rows"].([]any)
	var seg map[string]any
	for _, r := range rows {
		if r := r.(map[string]any); r["media_source"] == "segnet" {
			seg = r
		}
	}
	if code != 200 || seg == nil || seg["installs"] != 1.0 || seg["revenue"] != 4.5 {
		t.Fatalf("media_sources report: %d %v", code, body)
	}
}
