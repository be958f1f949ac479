package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestReengagement runs the re-engagement scenario on `unmogrowp serve`, killed with
// SIGKILL between the devices' past and their return, so that their activity is rebuilt
// from the store.
func TestReengagement(t *testing.T) {
	t.Parallel()
	d := newEmbedded(t)
	runReengagement(t, d, func(t *testing.T) { d.p = startServe(t, d.dir, postbackEnv...) }, func(t *testing.T) {
		d.p.kill9(t)
		d.p = startServe(t, d.dir, postbackEnv...)
	})
}

// TestSplitReengagement runs it on the split deployment, where the activity lives in Redis
// and a consumer and an ingestion process are killed in between.
func TestSplitReengagement(t *testing.T) {
	t.Parallel()
	d := newSplit(t)
	d.env = append(d.env, postbackEnv...)
	runReengagement(t, d, d.start, d.restart)
}

// runReengagement plays ATTRIBUTION.md's re-engagement of dormant devices through the
// binary's HTTP interface. Three devices installed through net_re_a: two 20 days ago
// (dormant by inactivity_days 7: the engine compares event times, so their install and
// session carry past timestamps) and one 2 days ago (active). After a restart, net_re_b's
// click and a session without advertising id (matched by the ids of the device's earlier
// events) re-engage the first; the same click and session of the active device do not; a
// POST /v1/deeplinks open of net_re_c's link re-engages the second. Then every read agrees:
// the decision (SDK endpoint and API), the installs list (both decisions of a re-engaged
// device), the stats (three installs, as before), the media_sources report (reengagements
// and the later events' revenue by the re-engaging source), and net_re_b's reattribution
// postback, delivered once.
func runReengagement(t *testing.T, d deployment, start, restart func(*testing.T)) {
	ctx := context.Background()
	app := d.createApp(t, "Re-engagement")
	setSettings(t, d, app.ID, func(s *unmogrowp.AppSettings) { s.InactivityDays = 7 })
	recv := newReceiver(t, "")
	meta := openMeta(t, d)
	for _, p := range []*unmogrowp.Postback{
		{Name: "reengaged", MediaSource: "net_re_b", Triggers: []string{unmogrowp.TriggerReattribution},
			URLTemplate: recv.srv.URL + "/reengaged?k={activity_kind}&dev={device_id}&src={media_source}&re={is_reattribution}"},
		{Name: "installs_of_b", MediaSource: "net_re_b", Triggers: []string{unmogrowp.TriggerInstall},
			URLTemplate: recv.srv.URL + "/installs_of_b?dev={device_id}"},
	} {
		p.AppID, p.Enabled = app.ID, true
		if err := meta.CreatePostback(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	start(t)
	server := map[string]string{"X-Api-Key": app.ServerKey}
	gaid := func(n int) string { return fmt.Sprintf("38400000-8cf0-11bd-b23e-1000000000%02d", n) }
	now := time.Now().Truncate(time.Second)
	past := now.Add(-20 * 24 * time.Hour)
	recent := now.Add(-2 * 24 * time.Hour)

	// The devices' past: net_re_a's click an hour before each install, a session after it.
	installs := map[string]time.Time{"dev_dormant": past, "dev_opened": past, "dev_active": recent}
	devs := []string{"dev_dormant", "dev_opened", "dev_active"}
	for i, dev := range devs {
		sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "net_re_a", "campaign": "a",
			"gaid": gaid(i), "timestamp": installs[dev].Add(-time.Hour).Unix()})
	}
	d.waitDrained(t)
	var events []map[string]any
	for i, dev := range devs {
		events = append(events,
			map[string]any{"event_type": "install", "device_id": dev, "event_id": "inst_" + dev, "gaid": gaid(i), "platform": "android",
				"timestamp": installs[dev].Unix()},
			map[string]any{"event_type": "session", "device_id": dev, "gaid": gaid(i), "timestamp": installs[dev].Add(time.Hour).Unix()})
	}
	sendEvents(t, d, server, events)
	d.waitDrained(t)
	restart(t)

	// The return: net_re_b's clicks ten minutes ago; then the sessions, without an
	// advertising id, and a purchase.
	for _, i := range []int{0, 2} {
		sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "net_re_b", "campaign": "b",
			"gaid": gaid(i), "timestamp": now.Add(-10 * time.Minute).Unix()})
	}
	d.waitDrained(t)
	sendEvents(t, d, server, []map[string]any{
		{"event_type": "session", "device_id": "dev_dormant", "event_id": "back_dormant", "timestamp": now.Unix()},
		{"event_type": "purchase", "device_id": "dev_dormant", "revenue": 4.5, "currency": "USD", "timestamp": now.Add(time.Second).Unix()},
		{"event_type": "session", "device_id": "dev_active", "event_id": "back_active", "timestamp": now.Unix()},
		{"event_type": "purchase", "device_id": "dev_active", "revenue": 2, "currency": "USD", "timestamp": now.Add(time.Second).Unix()},
	})

	// The other dormant device is opened by net_re_c's link.
	code, resp, _ := call(t, "POST", d.apiURL()+"/api/apps/"+app.ID+"/links", server, map[string]any{
		"media_source": "net_re_c", "campaign": "c", "deep_link_value": "promo/back",
		"android_url": "https://play.google.com/store/apps/details?id=com.example",
	})
	var link struct {
		ClickURL string `json:"click_url"`
	}
	if err := json.Unmarshal(resp, &link); code != 201 || err != nil {
		t.Fatalf("create link: %d %s", code, resp)
	}
	code, resp, _ = call(t, "POST", d.ingestURL()+"/v1/deeplinks", map[string]string{"X-App-Key": app.SDKKey},
		map[string]any{"url": link.ClickURL, "device_id": "dev_opened", "gaid": gaid(1)})
	var open struct {
		DeepLinkValue string `json:"deep_link_value"`
		MediaSource   string `json:"media_source"`
	}
	if err := json.Unmarshal(resp, &open); code != 200 || err != nil || open.DeepLinkValue != "promo/back" || open.MediaSource != "net_re_c" {
		t.Fatalf("POST /v1/deeplinks: %d %s", code, resp)
	}
	d.waitDrained(t)

	// The decisions, from the SDK endpoint and the API.
	for _, want := range []struct {
		dev, media, match, event string
		ctit                     int64
	}{
		{"dev_dormant", "net_re_b", "device_id", "back_dormant", 600},
		{"dev_opened", "net_re_c", "device_id", "", 0},
	} {
		for _, via := range []string{"sdk", "api"} {
			var got unmogrowp.Attribution
			if via == "sdk" {
				got = attributionOf(t, d, app, want.dev)
			} else {
				code, resp, _ := call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/attribution/"+want.dev, server, nil)
				if err := json.Unmarshal(resp, &got); code != 200 || err != nil {
					t.Fatalf("API attribution of %s: %d %s", want.dev, code, resp)
				}
			}
			if !got.IsReattribution || got.IsReinstall || got.ReattributionKind != unmogrowp.ReattributionReengagement ||
				got.MediaSource != want.media || got.MatchType != want.match || got.CTITSeconds != want.ctit ||
				(want.event != "" && got.InstallEventID != want.event) || got.InstallTime.Before(now.Add(-time.Minute)) {
				t.Errorf("%s by %s: %+v; want a re-engagement by %s at %s, CTIT %d", want.dev, via, got, want.media, want.match, want.ctit)
			}
		}
	}
	if got := attributionOf(t, d, app, "dev_active"); got.IsReattribution || got.MediaSource != "net_re_a" || got.InstallEventID != "inst_dev_active" {
		t.Errorf("the active device was re-attributed: %+v", got)
	}

	// The installs list has both decisions of each re-engaged device.
	var page struct {
		Installs []unmogrowp.Attribution `json:"installs"`
	}
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/installs?limit=50", server, nil)
	if err := json.Unmarshal(resp, &page); code != 200 || err != nil {
		t.Fatalf("installs: %d %s", code, resp)
	}
	kinds := map[string]int{}
	for _, in := range page.Installs {
		kinds[in.DeviceID+"/"+in.MediaSource+"/"+in.ReattributionKind]++
	}
	wantKinds := map[string]int{"dev_dormant/net_re_a/": 1, "dev_dormant/net_re_b/reengagement": 1,
		"dev_opened/net_re_a/": 1, "dev_opened/net_re_c/reengagement": 1, "dev_active/net_re_a/": 1}
	if fmt.Sprint(kinds) != fmt.Sprint(wantKinds) {
		t.Errorf("installs list: %v, want %v", kinds, wantKinds)
	}

	// Stats: the three installs, no more. The reports: re-engagements by their source, the
	// returning device's events and revenue by the re-engaging source.
	rng := url.Values{"app_id": {app.ID}, "from": {fmt.Sprint(now.Add(-30 * 24 * time.Hour).Unix())}, "to": {fmt.Sprint(now.Add(time.Hour).Unix())}}.Encode()
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/dashboard/stats?"+rng, server, nil)
	var st unmogrowp.Stats
	if err := json.Unmarshal(resp, &st); code != 200 || err != nil || st.Installs != 3 || st.NonOrganicInstalls != 3 || st.Reinstalls != 0 {
		t.Errorf("stats: %d %s, want 3 non-organic installs and no reinstall", code, resp)
	}
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/analytics/reports/media_sources?"+rng, server, nil)
	var rep unmogrowp.MediaSourceReport
	if err := json.Unmarshal(resp, &rep); code != 200 || err != nil {
		t.Fatalf("media_sources: %d %s", code, resp)
	}
	rows := map[string]unmogrowp.MediaSourceRow{}
	for _, r := range rep.Rows {
		rows[r.MediaSource] = r
	}
	for media, want := range map[string]struct {
		installs, reengagements, events int64
		revenue                         float64
	}{
		// net_re_a: 3 installs and their sessions, dev_active's session and purchase.
		"net_re_a": {3, 0, 3 + 3 + 2, 2},
		"net_re_b": {0, 1, 2, 4.5},
		"net_re_c": {0, 1, 0, 0},
	} {
		r := rows[media]
		if r.Installs != want.installs || r.Reengagements != want.reengagements || r.Events != want.events || math.Abs(r.Revenue-want.revenue) > 1e-9 {
			t.Errorf("media_sources row of %s: %+v, want %d installs, %d reengagements, %d events, revenue %v (report %s)",
				media, r, want.installs, want.reengagements, want.events, want.revenue, resp)
		}
	}

	// net_re_b's reattribution postback: once, for dev_dormant; its install postback: never.
	recv.wait(t, "/reengaged", 1, 15*time.Second)
	time.Sleep(2 * time.Second) // long enough for a second delivery to show
	if got := recv.at("/reengaged"); len(got) != 1 || got[0].query.Get("k") != unmogrowp.TriggerReattribution ||
		got[0].query.Get("dev") != "dev_dormant" || got[0].query.Get("src") != "net_re_b" || got[0].query.Get("re") != "true" {
		t.Errorf("reattribution postback: %d requests, first %v; want one for dev_dormant by net_re_b", len(got), got[0].query)
	}
	if n := len(recv.at("/installs_of_b")); n != 0 {
		t.Errorf("net_re_b's install postback got %d requests: a re-engagement is not an install", n)
	}
}
