package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/metadata"
)

// call sends a request with headers and a JSON body (nil for none) and returns the status
// and the body. It does not follow redirects.
func call(t *testing.T, method, u string, headers map[string]string, body any) (int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// UAs of the devices in the scenarios.
const (
	iPhoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
	androidUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)

// touch is one touchpoint of a scenario, sent server to server at base − ago.
type touch struct {
	typ, media string
	ago        time.Duration
	gaid, idfa string
	ip, ua     string
}

// scenario is one device's install and what its decision must be.
type scenario struct {
	name    string
	blocked bool // on the app with an ip_blocklist
	touches []touch
	install map[string]any // fields of the install event besides event_type, device_id, timestamp
	// what the decision must be
	match, media string
	ctit         int64
	rejected     []string // reasons, in order
}

// scenarios covers each waterfall level, each window's edge, each fraud reason and the
// fall-through to a lower level. Touch times are relative to the install time.
func scenarios() []scenario {
	const day = 24 * time.Hour
	ip := func(i int) string { return fmt.Sprintf("203.0.113.%d", i) }
	iosInstall := func(i int) map[string]any {
		return map[string]any{"ip": ip(i), "platform": "ios", "os_version": "17.1"}
	}
	return []scenario{
		{name: "device_id", touches: []touch{{typ: "click", media: "net_gaid", ago: time.Hour, gaid: "aaaaaaaa-0000-4000-8000-000000000001"}},
			install: map[string]any{"gaid": "AAAAAAAA-0000-4000-8000-000000000001"}, match: "device_id", media: "net_gaid", ctit: 3600},
		{name: "device_id_latest_wins", touches: []touch{
			{typ: "click", media: "net_old", ago: 3 * time.Hour, idfa: "11111111-2222-3333-4444-555555555555"},
			{typ: "click", media: "net_new", ago: 2 * time.Hour, idfa: "11111111-2222-3333-4444-555555555555"},
			{typ: "impression", media: "net_view", ago: time.Hour, idfa: "11111111-2222-3333-4444-555555555555"}},
			install: map[string]any{"idfa": "11111111-2222-3333-4444-555555555555"}, match: "device_id", media: "net_new", ctit: 7200},
		{name: "fingerprint", touches: []touch{{typ: "click", media: "net_fp", ago: 2 * time.Hour, ip: ip(1), ua: iPhoneUA}},
			install: iosInstall(1), match: "fingerprint", media: "net_fp", ctit: 7200},
		{name: "view_through_device_id", touches: []touch{{typ: "impression", media: "net_view", ago: 3 * time.Hour, gaid: "aaaaaaaa-0000-4000-8000-000000000002"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-000000000002"}, match: "view_through_device_id", media: "net_view", ctit: 10800},
		{name: "view_through_fingerprint", touches: []touch{{typ: "impression", media: "net_vfp", ago: time.Hour, ip: ip(2), ua: iPhoneUA}},
			install: iosInstall(2), match: "view_through_fingerprint", media: "net_vfp", ctit: 3600},
		{name: "organic", install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-000000000003"}, match: "organic", media: "organic"},

		// Window edges: exactly at the edge is inside, one second more is outside.
		{name: "click_window_edge", touches: []touch{{typ: "click", media: "net_edge", ago: 7 * day, gaid: "aaaaaaaa-0000-4000-8000-000000000004"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-000000000004"}, match: "device_id", media: "net_edge", ctit: 7 * 86400},
		{name: "click_window_past_edge", touches: []touch{{typ: "click", media: "net_edge", ago: 7*day + time.Second, gaid: "aaaaaaaa-0000-4000-8000-000000000005"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-000000000005"}, match: "organic", media: "organic"},
		{name: "fingerprint_window_edge", touches: []touch{{typ: "click", media: "net_fp", ago: day, ip: ip(3), ua: iPhoneUA}},
			install: iosInstall(3), match: "fingerprint", media: "net_fp", ctit: 86400},
		{name: "fingerprint_window_past_edge", touches: []touch{{typ: "click", media: "net_fp", ago: day + time.Second, ip: ip(4), ua: iPhoneUA}},
			install: iosInstall(4), match: "organic", media: "organic"},
		{name: "view_window_edge", touches: []touch{{typ: "impression", media: "net_view", ago: day, gaid: "aaaaaaaa-0000-4000-8000-000000000006"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-000000000006"}, match: "view_through_device_id", media: "net_view", ctit: 86400},
		{name: "view_window_past_edge", touches: []touch{{typ: "impression", media: "net_view", ago: day + time.Second, gaid: "aaaaaaaa-0000-4000-8000-000000000007"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-000000000007"}, match: "organic", media: "organic"},

		// Fraud: CTIT exactly min_ctit_seconds (10) is valid, one second less is click
		// injection; a touch after install_begin_ts is click injection; a blocked IP.
		{name: "ctit_at_minimum", touches: []touch{{typ: "click", media: "net_fast", ago: 10 * time.Second, gaid: "aaaaaaaa-0000-4000-8000-000000000008"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-000000000008"}, match: "device_id", media: "net_fast", ctit: 10},
		{name: "ctit_below_minimum", touches: []touch{{typ: "click", media: "net_inject", ago: 9 * time.Second, gaid: "aaaaaaaa-0000-4000-8000-000000000009"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-000000000009"}, match: "rejected", media: "rejected", rejected: []string{"click_injection"}},
		{name: "touch_after_install_begin", touches: []touch{{typ: "click", media: "net_inject", ago: time.Minute, gaid: "aaaaaaaa-0000-4000-8000-00000000000a"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-00000000000a", "install_begin_ts": "begin-2m"},
			match:   "rejected", media: "rejected", rejected: []string{"click_injection"}},
		{name: "blocked_ip", blocked: true, touches: []touch{{typ: "click", media: "net_bad", ago: time.Hour, gaid: "aaaaaaaa-0000-4000-8000-00000000000b", ip: "198.51.100.7"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-00000000000b"}, match: "rejected", media: "rejected", rejected: []string{"blocked_ip"}},

		// The fraud rules beyond click injection, on the blocked app (max_ctit_hours 48,
		// click_flood_threshold 2, and the datacenter list 52.94.0.0/16 imported).
		{name: "datacenter_ip", blocked: true, touches: []touch{
			{typ: "click", media: "net_cloud", ago: time.Hour, gaid: "aaaaaaaa-0000-4000-8000-00000000000d", ip: "52.94.7.7"},
			{typ: "click", media: "net_ok", ago: 2 * time.Hour, gaid: "aaaaaaaa-0000-4000-8000-00000000000d", ip: "203.0.113.200"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-00000000000d"}, match: "device_id", media: "net_ok", ctit: 7200, rejected: []string{"datacenter_ip"}},
		{name: "install_from_datacenter", blocked: true, touches: []touch{{typ: "click", media: "net_ok", ago: time.Hour, gaid: "aaaaaaaa-0000-4000-8000-00000000000e"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-00000000000e", "ip": "52.94.200.1"}, match: "rejected", media: "rejected", rejected: []string{"datacenter_ip"}},
		{name: "ctit_anomaly", blocked: true, touches: []touch{{typ: "click", media: "net_slow", ago: 48*time.Hour + time.Second, gaid: "aaaaaaaa-0000-4000-8000-00000000000f"}},
			install: map[string]any{"gaid": "aaaaaaaa-0000-4000-8000-00000000000f"}, match: "rejected", media: "rejected", rejected: []string{"ctit_anomaly"}},
		{name: "click_flood", blocked: true, touches: []touch{
			{typ: "click", media: "net_flood", ago: time.Hour, ip: ip(9), ua: iPhoneUA},
			{typ: "click", media: "net_flood", ago: 2 * time.Hour, ip: ip(9), ua: iPhoneUA},
			{typ: "click", media: "net_flood", ago: 3 * time.Hour, ip: ip(9), ua: iPhoneUA}},
			install: iosInstall(9), match: "rejected", media: "rejected", rejected: []string{"click_flood", "click_flood", "click_flood"}},
		{name: "rejected_falls_through", touches: []touch{
			{typ: "click", media: "net_inject", ago: 5 * time.Second, gaid: "aaaaaaaa-0000-4000-8000-00000000000c"},
			{typ: "click", media: "net_fp", ago: time.Hour, ip: ip(5), ua: iPhoneUA}},
			install: func() map[string]any {
				m := iosInstall(5)
				m["gaid"] = "aaaaaaaa-0000-4000-8000-00000000000c"
				return m
			}(), match: "fingerprint", media: "net_fp", ctit: 3600, rejected: []string{"click_injection"}},
	}
}

// deployment is UnMoGrowP as the scenarios drive it: `unmogrowp serve` on embedded storage,
// or the split services on their servers.
type deployment interface {
	ingestURL() string // the base URL of an ingestion listener (of one of them, in turn)
	apiURL() string
	createApp(t *testing.T, name string) appKeys
	waitDrained(t *testing.T) // until the pipeline has processed everything acknowledged
	restart(t *testing.T)     // SIGKILL processes and start them again
	events(t *testing.T, f unmogrowp.EventFilter) []unmogrowp.Event
}

// embedded is one `unmogrowp serve` on a data directory.
type embedded struct {
	dir string
	p   *proc
}

func newEmbedded(t *testing.T) *embedded { return &embedded{dir: t.TempDir()} }

func (e *embedded) ingestURL() string { return e.p.ingest }
func (e *embedded) apiURL() string    { return e.p.api }

func (e *embedded) createApp(t *testing.T, name string) appKeys { return createApp(t, e.dir, name) }

func (e *embedded) start(t *testing.T)       { e.p = startServe(t, e.dir) }
func (e *embedded) waitDrained(t *testing.T) { e.p.waitDrained(t) }
func (e *embedded) restart(t *testing.T) {
	e.p.kill9(t)
	e.p = startServe(t, e.dir)
}

// events stops the server and reads its DuckDB file.
func (e *embedded) events(t *testing.T, f unmogrowp.EventFilter) []unmogrowp.Event {
	t.Helper()
	e.p.stop(t)
	store, err := duckdb.Open(context.Background(), filepath.Join(e.dir, "analytics.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	events, err := store.Events(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// setSettings changes an app's settings in the deployment's metadata store; before its
// processes start, which read them once.
func setSettings(t *testing.T, d deployment, appID string, change func(*unmogrowp.AppSettings)) {
	t.Helper()
	db, err := metadata.Open(context.Background(), metaURL(d), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app, err := db.App(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	change(&app.Settings)
	if err := db.UpdateApp(context.Background(), app); err != nil {
		t.Fatal(err)
	}
}

// putIPList stores an IP list in the deployment's metadata store, as `iplists import` does.
func putIPList(t *testing.T, d deployment, list unmogrowp.IPList) {
	t.Helper()
	db, err := metadata.Open(context.Background(), metaURL(d), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutIPList(context.Background(), list); err != nil {
		t.Fatal(err)
	}
}

// TestAttributionScenarios runs every scenario through the real binary's HTTP interface:
// touchpoints by POST /v1/touchpoints and GET /c/, installs and later events by
// /v1/events, decisions read back by GET /v1/attribution and the API. The restart variant
// kills the server with SIGKILL after the touchpoints are processed and again after the
// first installs are, so the hot state is rebuilt from the store twice mid-scenario; the
// decisions must be the same.
func TestAttributionScenarios(t *testing.T) {
	t.Parallel()
	for _, restart := range []bool{false, true} {
		name := "straight"
		if restart {
			name = "restart"
		}
		t.Run(name, func(t *testing.T) {
			d := newEmbedded(t)
			runScenarios(t, d, d.start, restart)
		})
	}
}

// runScenarios creates the scenarios' apps, calls start, then plays every scenario on d.
func runScenarios(t *testing.T, d deployment, start func(*testing.T), restart bool) {
	app := d.createApp(t, "Scenarios")
	blockedApp := d.createApp(t, "Blocked")
	setSettings(t, d, blockedApp.ID, func(s *unmogrowp.AppSettings) {
		s.IPBlocklist = []string{"198.51.100.0/24"}
		s.MaxCTITHours, s.ClickFloodThreshold = 48, 2
	})
	putIPList(t, d, unmogrowp.IPList{Name: "aws", Prefixes: []netip.Prefix{netip.MustParsePrefix("52.94.0.0/16")}})
	start(t)
	restartNow := func() {
		if restart {
			d.waitDrained(t)
			d.restart(t)
		}
	}
	server := func(a appKeys) map[string]string { return map[string]string{"X-Api-Key": a.ServerKey} }
	sdk := func(a appKeys) map[string]string { return map[string]string{"X-App-Key": a.SDKKey} }

	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	cases := scenarios()

	// Touchpoints, one S2S request per app.
	tpIDs := map[string][]string{} // scenario → touchpoint ids
	for _, blocked := range []bool{false, true} {
		var body []map[string]any
		var owners []string
		for _, sc := range cases {
			if sc.blocked != blocked {
				continue
			}
			for _, tc := range sc.touches {
				tp := map[string]any{"type": tc.typ, "media_source": tc.media, "campaign": "camp_" + sc.name,
					"timestamp": base.Add(-tc.ago).Unix()}
				for k, v := range map[string]string{"gaid": tc.gaid, "idfa": tc.idfa, "ip": tc.ip, "user_agent": tc.ua} {
					if v != "" {
						tp[k] = v
					}
				}
				body = append(body, tp)
				owners = append(owners, sc.name)
			}
		}
		a := app
		if blocked {
			a = blockedApp
		}
		code, resp, _ := call(t, "POST", d.ingestURL()+"/v1/touchpoints", server(a), map[string]any{"touchpoints": body})
		var got struct {
			Accepted int      `json:"accepted"`
			IDs      []string `json:"ids"`
		}
		if err := json.Unmarshal(resp, &got); code != 200 || err != nil || got.Accepted != len(body) || len(got.IDs) != len(body) {
			t.Fatalf("POST /v1/touchpoints: %d %s", code, resp)
		}
		for i, id := range got.IDs {
			tpIDs[owners[i]] = append(tpIDs[owners[i]], id)
		}
	}

	// A tracking link with a deep link value, clicked from an Android phone: the Play
	// referrer carries our touchpoint id.
	code, resp, _ := call(t, "POST", d.apiURL()+"/api/apps/"+app.ID+"/links", server(app), map[string]any{
		"media_source": "net_link", "campaign": "spring", "deep_link_value": "promo/42",
		"android_url": "https://play.google.com/store/apps/details?id=com.example.game",
	})
	var link struct {
		ID       string `json:"id"`
		ClickURL string `json:"click_url"`
	}
	if err := json.Unmarshal(resp, &link); code != 201 || err != nil || link.ClickURL == "" {
		t.Fatalf("create link: %d %s", code, resp)
	}
	code, resp, hdr := call(t, "GET", link.ClickURL+"?clickid=net-click-77", map[string]string{"User-Agent": androidUA}, nil)
	loc, err := url.Parse(hdr.Get("Location"))
	if code != http.StatusFound || err != nil || loc.Host != "play.google.com" {
		t.Fatalf("click: %d %s, Location %q", code, resp, hdr.Get("Location"))
	}
	referrer := loc.Query().Get("referrer")
	clickID, _ := url.ParseQuery(referrer)
	if clickID.Get("click_id") == "" || clickID.Get("pid") != "net_link" {
		t.Fatalf("referrer %q lacks click_id or pid", referrer)
	}
	clickTime := time.Now()

	restartNow()

	// The installs, sent with the server key so that their ip counts.
	installTime := func(sc scenario) time.Time { return base }
	for _, blocked := range []bool{false, true} {
		var events []map[string]any
		for _, sc := range cases {
			if sc.blocked != blocked {
				continue
			}
			e := map[string]any{"event_type": "install", "device_id": "dev_" + sc.name, "event_id": "inst_" + sc.name,
				"timestamp": installTime(sc).Unix()}
			for k, v := range sc.install {
				e[k] = v
			}
			if e["install_begin_ts"] == "begin-2m" {
				e["install_begin_ts"] = base.Add(-2 * time.Minute).Unix()
			}
			events = append(events, e)
		}
		a := app
		if blocked {
			a = blockedApp
		}
		sendEvents(t, d, server(a), events)
	}
	// The referrer install: first open a minute after the click.
	sendEvents(t, d, sdk(app), []map[string]any{{"event_type": "install", "device_id": "dev_referrer",
		"install_referrer": referrer, "timestamp": clickTime.Add(time.Minute).Unix(), "platform": "android"}})
	// Two devices attributed to net_a for the reinstall and re-attribution later.
	for _, dev := range []string{"reinstall", "reattribution"} {
		sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "net_a", "campaign": "a1",
			"timestamp": base.Add(-time.Hour).Unix(), "device_id": "dev_" + dev})
	}
	sendEvents(t, d, server(app), []map[string]any{
		{"event_type": "install", "device_id": "dev_reinstall", "timestamp": base.Unix()},
		{"event_type": "install", "device_id": "dev_reattribution", "timestamp": base.Unix()},
		// A purchase before any install: kept, and organic.
		{"event_type": "purchase", "device_id": "dev_never_installed", "revenue": 1.5, "currency": "USD", "timestamp": base.Unix()},
	})
	d.waitDrained(t)

	for _, sc := range cases {
		a := app
		if sc.blocked {
			a = blockedApp
		}
		got := attributionOf(t, d, a, "dev_"+sc.name)
		checkDecision(t, sc, got, tpIDs[sc.name], base)
	}
	checkFraudTotals(t, d, blockedApp)
	got := attributionOf(t, d, app, "dev_referrer")
	if got.MatchType != "referrer" || got.MediaSource != "net_link" || got.Campaign != "spring" ||
		got.DeepLinkValue != "promo/42" || got.TouchpointID != clickID.Get("click_id") || got.CTITSeconds < 59 || got.CTITSeconds > 61 {
		t.Errorf("referrer install: %+v", got)
	}

	restartNow()

	// Phase two: a reinstall without a new click keeps net_a; a new click from net_b
	// before the second install re-attributes the other device. Then purchases.
	sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "net_b", "campaign": "b1",
		"timestamp": base.Add(10 * time.Minute).Unix(), "device_id": "dev_reattribution"})
	sendEvents(t, d, server(app), []map[string]any{
		{"event_type": "purchase", "device_id": "dev_reattribution", "revenue": 2, "currency": "USD", "timestamp": base.Add(5 * time.Minute).Unix()},
		{"event_type": "install", "device_id": "dev_reinstall", "event_id": "second_install_r", "timestamp": base.Add(20 * time.Minute).Unix()},
		{"event_type": "install", "device_id": "dev_reattribution", "event_id": "second_install_ra", "timestamp": base.Add(20 * time.Minute).Unix()},
		{"event_type": "purchase", "device_id": "dev_reattribution", "revenue": 5, "currency": "USD", "timestamp": base.Add(25 * time.Minute).Unix()},
		{"event_type": "purchase", "device_id": "dev_reinstall", "revenue": 7, "currency": "USD", "timestamp": base.Add(25 * time.Minute).Unix()},
		{"event_type": "purchase", "device_id": "dev_device_id", "revenue": 9.99, "currency": "USD", "timestamp": base.Add(25 * time.Minute).Unix()},
		{"event_type": "purchase", "device_id": "dev_organic", "revenue": 3, "currency": "USD", "timestamp": base.Add(25 * time.Minute).Unix()},
	})
	d.waitDrained(t)

	ri := attributionOf(t, d, app, "dev_reinstall")
	if !ri.IsReinstall || ri.IsReattribution || ri.MediaSource != "net_a" || ri.InstallEventID != "second_install_r" || ri.CTITSeconds != 3600 {
		t.Errorf("reinstall: %+v", ri)
	}
	ra := attributionOf(t, d, app, "dev_reattribution")
	if !ra.IsReattribution || ra.IsReinstall || ra.MediaSource != "net_b" || ra.MatchType != "device_id" ||
		ra.InstallEventID != "second_install_ra" || ra.CTITSeconds != 600 {
		t.Errorf("re-attribution: %+v", ra)
	}

	// The API agrees with the SDK endpoint, and lists the installs newest first.
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/attribution/dev_reattribution", server(app), nil)
	var apiRA unmogrowp.Attribution
	if err := json.Unmarshal(resp, &apiRA); code != 200 || err != nil || apiRA.MediaSource != "net_b" || !apiRA.IsReattribution {
		t.Errorf("API attribution: %d %s", code, resp)
	}
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/apps/"+blockedApp.ID+"/attribution/dev_reattribution", server(app), nil)
	if code != 404 {
		t.Errorf("another app's attribution with this app's key: %d %s, want 404", code, resp)
	}
	var page struct {
		Installs   []unmogrowp.Attribution `json:"installs"`
		NextCursor string                  `json:"next_cursor"`
	}
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/installs?limit=3", server(app), nil)
	if err := json.Unmarshal(resp, &page); code != 200 || err != nil || len(page.Installs) != 3 || page.NextCursor == "" {
		t.Fatalf("installs: %d %s", code, resp)
	}
	if page.Installs[0].DeviceID != "dev_referrer" {
		t.Errorf("newest install is %s, want dev_referrer (first open after the click)", page.Installs[0].DeviceID)
	}

	// Revenue rolls up under the media source the device had when the event came.
	purchases := d.events(t, unmogrowp.EventFilter{AppID: app.ID, EventType: "purchase"})
	revenue := map[string]float64{}
	for _, e := range purchases {
		revenue[e.MediaSource+"/"+e.Campaign] += e.Revenue
	}
	want := map[string]float64{"net_a/a1": 2 + 7, "net_b/b1": 5, "net_gaid/camp_device_id": 9.99, "organic/": 3 + 1.5}
	for k, v := range want {
		if math.Abs(revenue[k]-v) > 1e-9 {
			t.Errorf("revenue of %s = %v, want %v (all: %v)", k, revenue[k], v, revenue)
		}
	}
	if len(revenue) != len(want) {
		t.Errorf("revenue by media source = %v, want %v", revenue, want)
	}
}

// checkFraudTotals checks, on the blocked app, that the rejected installs are their own
// bucket in the stats and the fraud report, and explains the datacenter_ip scenario.
func checkFraudTotals(t *testing.T, d deployment, a appKeys) {
	t.Helper()
	key := map[string]string{"X-Api-Key": a.ServerKey}
	code, resp, _ := call(t, "GET", d.apiURL()+"/api/dashboard/stats?app_id="+a.ID, key, nil)
	var st unmogrowp.Stats
	// blocked_ip, install_from_datacenter, ctit_anomaly and click_flood are rejected;
	// datacenter_ip falls through to net_ok.
	if err := json.Unmarshal(resp, &st); code != 200 || err != nil || st.Installs != 1 || st.OrganicInstalls != 0 || st.RejectedInstalls != 4 {
		t.Errorf("stats of the blocked app: %d %s, want 1 install and 4 rejected", code, resp)
	}
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/analytics/reports/fraud?app_id="+a.ID, key, nil)
	var fr unmogrowp.FraudReport
	if err := json.Unmarshal(resp, &fr); code != 200 || err != nil || fr.RejectedInstalls != 4 {
		t.Errorf("fraud report: %d %s, want 4 rejected installs", code, resp)
	}
	rows := map[string]unmogrowp.FraudRow{}
	for _, r := range fr.Rows {
		rows[r.MediaSource+"/"+r.Reason] = r
	}
	if r := rows["net_flood/click_flood"]; r.Touchpoints != 3 || r.Installs != 1 {
		t.Errorf("click flood row %+v, want 3 touchpoints of 1 install (all rows: %s)", r, resp)
	}
	if r := rows["net_cloud/datacenter_ip"]; r.Touchpoints != 1 || r.Installs != 1 {
		t.Errorf("datacenter row %+v (all rows: %s)", r, resp)
	}
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/apps/"+a.ID+"/attribution/dev_datacenter_ip/explain", key, nil)
	var ex struct {
		Decision   unmogrowp.Attribution `json:"decision"`
		Candidates []struct {
			MediaSource string `json:"media_source"`
			Outcome     string `json:"outcome"`
			Reason      string `json:"reason"`
			InWindow    bool   `json:"in_window"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal(resp, &ex); code != 200 || err != nil || ex.Decision.MediaSource != "net_ok" || len(ex.Candidates) != 2 ||
		ex.Candidates[0].MediaSource != "net_cloud" || ex.Candidates[0].Outcome != "rejected" || ex.Candidates[0].Reason != "datacenter_ip" ||
		ex.Candidates[1].MediaSource != "net_ok" || ex.Candidates[1].Outcome != "won" || !ex.Candidates[1].InWindow {
		t.Errorf("explain: %d %s", code, resp)
	}
}

func sendEvents(t *testing.T, d deployment, headers map[string]string, events []map[string]any) {
	t.Helper()
	code, resp, _ := call(t, "POST", d.ingestURL()+"/v1/events/batch", headers, map[string]any{"events": events})
	if code != 200 || !strings.Contains(string(resp), fmt.Sprintf(`"accepted":%d`, len(events))) {
		t.Fatalf("POST /v1/events/batch: %d %s", code, resp)
	}
}

func sendTouch(t *testing.T, d deployment, a appKeys, tp map[string]any) {
	t.Helper()
	code, resp, _ := call(t, "POST", d.ingestURL()+"/v1/touchpoints", map[string]string{"X-Api-Key": a.ServerKey},
		map[string]any{"touchpoints": []map[string]any{tp}})
	if code != 200 || !strings.Contains(string(resp), `"accepted":1`) {
		t.Fatalf("POST /v1/touchpoints: %d %s", code, resp)
	}
}

// attributionOf reads a device's decision from GET /v1/attribution.
func attributionOf(t *testing.T, d deployment, a appKeys, device string) unmogrowp.Attribution {
	t.Helper()
	code, resp, _ := call(t, "GET", d.ingestURL()+"/v1/attribution?device_id="+url.QueryEscape(device), map[string]string{"X-App-Key": a.SDKKey}, nil)
	var got unmogrowp.Attribution
	if err := json.Unmarshal(resp, &got); code != 200 || err != nil {
		t.Fatalf("GET /v1/attribution of %s: %d %s", device, code, resp)
	}
	return got
}

func checkDecision(t *testing.T, sc scenario, got unmogrowp.Attribution, tpIDs []string, base time.Time) {
	t.Helper()
	var reasons []string
	for _, r := range got.Rejected {
		reasons = append(reasons, r.Reason)
	}
	if got.MatchType != sc.match || got.MediaSource != sc.media || got.CTITSeconds != sc.ctit ||
		fmt.Sprint(reasons) != fmt.Sprint(sc.rejected) || got.Attributed != (sc.match != "organic" && sc.match != "rejected") ||
		got.InstallEventID != "inst_"+sc.name || !got.InstallTime.Equal(base) {
		t.Errorf("%s: got %s %s ctit %d rejected %v attributed %v event %s time %s; want %s %s ctit %d rejected %v",
			sc.name, got.MatchType, got.MediaSource, got.CTITSeconds, reasons, got.Attributed, got.InstallEventID,
			got.InstallTime, sc.match, sc.media, sc.ctit, sc.rejected)
	}
	if got.Attributed && (got.Campaign != "camp_"+sc.name || !contains(tpIDs, got.TouchpointID)) {
		t.Errorf("%s: campaign %q touchpoint %q, want camp_%s and one of %v", sc.name, got.Campaign, got.TouchpointID, sc.name, tpIDs)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
