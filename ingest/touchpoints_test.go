package ingest

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

var touchpointID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// link stores a tracking link of the app in the fixture's SQLite store.
func (f *fixture) link(app *unmogrowp.App, l unmogrowp.Link) *unmogrowp.Link {
	f.t.Helper()
	l.AppID = app.ID
	if err := f.meta.CreateLink(context.Background(), &l); err != nil {
		f.t.Fatal(err)
	}
	return &l
}

// server posts a body to path with the app's server key.
func (f *fixture) server(path, body string, headers ...string) response {
	f.t.Helper()
	return f.do("POST", path, []byte(body), append([]string{"X-Api-Key", f.keys.ServerKey}, headers...)...)
}

func TestTouchpointsAccepted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{
		MediaSource: "facebook_ads", Campaign: "autumn", Adset: "as1", Ad: "ad1", SiteID: "s1",
		Channel: "instagram", DeepLinkValue: "product/1",
	})
	otherLink := f.link(f.other, unmogrowp.Link{MediaSource: "x"})
	at := f.now.Add(-time.Hour)
	body := fmt.Sprintf(`{"touchpoints":[
		{"type":"click","link_id":%q,"campaign":"override","click_id":"net-1","timestamp":%d,
		 "ip":"203.0.113.7","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X)",
		 "idfa":"00000000-0000-0000-0000-000000000000","gaid":"g-1","android_id":"a-1","device_id":"d-1",
		 "sub1":"one","sub5":"five","third_party_sharing":false},
		{"type":"impression","media_source":"unity","timestamp":"2025-10-21T13:00:00Z","third_party_sharing":null},
		{"type":"click"},
		{"type":"click","link_id":%q},
		{"type":"click","link_id":"lk_nosuchlinkatall"},
		"not an object",
		{"type":"install","media_source":"x"},
		{"type":"click","media_source":"x","ip":"999.0.0.1"},
		{"type":"click","media_source":"x","timestamp":"soon"},
		{"type":"click","media_source":"x","campaign":%q}]}`,
		link.ID, at.Unix(), otherLink.ID, strings.Repeat("c", 257))
	r := f.server("/v1/touchpoints", body)
	if r.Code != 200 || r.Body["status"] != "accepted" || r.Body["accepted"] != 2.0 || r.Body["rejected"] != 8.0 {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	for i, want := range []struct {
		index float64
		text  string
	}{
		{2, "media_source is required"}, {3, "unknown link_id"}, {4, "unknown link_id"},
		{5, "JSON object"}, {6, "type must be click or impression"}, {7, "ip is not an IP address"},
		{8, "timestamp must be"}, {9, "campaign must be at most 256"},
	} {
		e := r.Body["errors"].([]any)[i].(map[string]any)
		if e["index"] != want.index || !strings.Contains(e["error"].(string), want.text) {
			t.Errorf("errors[%d] = %v, want index %v about %q", i, e, want.index, want.text)
		}
	}
	ids := r.Body["ids"].([]any)
	if len(ids) != 10 {
		t.Fatalf("ids = %v, want one per touchpoint", ids)
	}
	for i, id := range ids {
		if ok := touchpointID.MatchString(id.(string)); ok != (i < 2) {
			t.Errorf("ids[%d] = %q", i, id)
		}
	}
	got := f.touchpoints()
	want := []unmogrowp.Touchpoint{{
		ID: ids[0].(string), AppID: f.app.ID, Type: "click", LinkID: link.ID,
		MediaSource: "facebook_ads", Campaign: "override", Adset: "as1", Ad: "ad1", SiteID: "s1",
		Channel: "instagram", ClickID: "net-1", Time: at, ReceivedAt: f.now,
		IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X)",
		GAID: "g-1", AndroidID: "a-1", DeviceID: "d-1", DeepLinkValue: "product/1",
		Sub: [5]string{"one", "", "", "", "five"}, ThirdPartySharing: new(false),
	}, {
		// No ip or user_agent: they stay empty, since the caller is a server, not the device.
		ID: ids[1].(string), AppID: f.app.ID, Type: "impression", MediaSource: "unity",
		Time: time.Date(2025, 10, 21, 13, 0, 0, 0, time.UTC), ReceivedAt: f.now,
	}}
	if len(got) != len(want) {
		t.Fatalf("logged %d touchpoints, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("touchpoint %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// An empty list is fine, and a bare array is a list too.
	if r := f.server("/v1/touchpoints", `{"touchpoints":[]}`); r.Code != 200 || r.Body["accepted"] != 0.0 || len(r.Body["ids"].([]any)) != 0 || r.Body["errors"] == nil {
		t.Fatalf("empty list: %d %s", r.Code, r.Raw)
	}
	if r := f.server("/v1/touchpoints", `[{"type":"click","media_source":"x"}]`); r.Code != 200 || r.Body["accepted"] != 1.0 {
		t.Fatalf("bare array: %d %s", r.Code, r.Raw)
	}
}

func TestTouchpointsAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	body := []byte(`{"touchpoints":[{"type":"click","media_source":"x"}]}`)
	wantError(t, f.do("POST", "/v1/touchpoints", body), 401, "X-Api-Key")
	wantError(t, f.do("POST", "/v1/touchpoints", body, "X-Api-Key", "sk_nope"), 401, "Unknown app key")
	wantError(t, f.do("POST", "/v1/touchpoints", body, "X-Api-Key", f.app.SDKKey), 401, "Unknown app key")
	wantError(t, f.do("POST", "/v1/touchpoints", body, "X-App-Key", f.app.SDKKey), 403, "server key")
	if got := f.touchpoints(); len(got) != 0 {
		t.Fatalf("unauthorised requests stored %d touchpoints", len(got))
	}
}

func TestTouchpointsBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	one := `{"type":"click","media_source":"x"}`
	for name, c := range map[string]struct {
		body     string
		code     int
		contains string
	}{
		"not json":        {`{"touchpoints":`, 400, "not valid JSON"},
		"no list":         {`{"events":[]}`, 400, `{"touchpoints":[...]}`},
		"list not array":  {`{"touchpoints":{}}`, 400, "touchpoints must be a JSON array"},
		"over 1000":       {`{"touchpoints":[` + strings.TrimSuffix(strings.Repeat(one+",", 1001), ",") + `]}`, 413, "at most 1000 touchpoints"},
		"body over 5 MiB": {`{"touchpoints":[{"type":"click","media_source":"x","sub1":"` + strings.Repeat("a", 5<<20) + `"}]}`, 413, "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, f.server("/v1/touchpoints", c.body), c.code, c.contains)
		})
	}
	if r := f.server("/v1/touchpoints", `{"touchpoints":[`+strings.TrimSuffix(strings.Repeat(one+",", 1000), ",")+`]}`); r.Code != 200 || r.Body["accepted"] != 1000.0 {
		t.Fatalf("1000 touchpoints: %d", r.Code)
	}
	if got := f.touchpoints(); len(got) != 1000 {
		t.Fatalf("logged %d touchpoints, want only the 1000 of the good request", len(got))
	}
}

func TestTouchpointsRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *unmogrowp.AppSettings) { s.RateLimitPerSecond = 1000 })
	link := f.link(f.app, unmogrowp.Link{MediaSource: "net"})
	many := `[` + strings.TrimSuffix(strings.Repeat(`{"type":"click","media_source":"x"},`, 1000), ",") + `]`
	if r := f.server("/v1/touchpoints", many); r.Code != 200 {
		t.Fatalf("first request (the burst): %d %s", r.Code, r.Raw)
	}
	r := f.server("/v1/touchpoints", many)
	wantError(t, r, 429, "rate limit")
	if ra, err := strconv.Atoi(r.Head.Get("Retry-After")); err != nil || ra < 1 || ra > 10 {
		t.Fatalf("Retry-After = %q", r.Head.Get("Retry-After"))
	}
	// Clicks, impressions and events share the app's limit.
	wantError(t, f.do("GET", "/c/"+link.ID, nil), 429, "rate limit")
	wantError(t, f.do("GET", "/i/"+link.ID, nil), 429, "rate limit")
	wantError(t, f.sdk("/v1/events", `{"event_type":"session","device_id":"d"}`), 429, "rate limit")
	f.now = f.now.Add(time.Second)
	if r := f.do("GET", "/i/"+link.ID, nil); r.Code != 200 {
		t.Fatalf("after a second: %d %s", r.Code, r.Raw)
	}
	if got := f.touchpoints(); len(got) != 1001 {
		t.Fatalf("logged %d, want 1001", len(got))
	}
}

func TestTouchpointsLogUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "net", WebURL: "https://game.example"})
	f.log.Close()
	wantError(t, f.server("/v1/touchpoints", `[{"type":"click","media_source":"x"}]`), 503, "nothing was accepted")
	r := f.do("GET", "/c/"+link.ID, nil)
	wantError(t, r, 503, "nothing was accepted")
	if r.Head.Get("Location") != "" {
		t.Fatalf("a click that was not recorded was redirected")
	}
	wantError(t, f.do("GET", "/i/"+link.ID, nil), 503, "nothing was accepted")
}

func TestTouchpointsMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "net"})
	f.server("/v1/touchpoints", `[{"type":"click","media_source":"x"},{"type":"click"}]`)
	f.do("GET", "/c/"+link.ID, nil)
	f.do("GET", "/i/"+link.ID, nil)
	f.do("GET", "/c/lk_unknown", nil)
	r := f.do("GET", "/metrics", nil)
	for _, want := range []string{
		"unmogrowp_touchpoints_accepted_total 3", "unmogrowp_events_accepted_total 0",
		`unmogrowp_events_rejected_total{reason="invalid"} 1`, `unmogrowp_events_rejected_total{reason="not_found"} 1`,
		`route="GET /c/{link_id}"`,
	} {
		if !strings.Contains(r.Raw, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
