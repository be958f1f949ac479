package ingest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestDeeplinkOpen reports an app opened by a Universal Link: the answer gives the link's
// deep link and source, the URL's query overriding them as on a click, and the open is
// logged as a click touchpoint of the link for the device, with the request's address and
// user agent.
func TestDeeplinkOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "facebook_ads", Campaign: "autumn", DeepLinkValue: "promo/autumn", IOSURL: iosURL})
	body := `{"url":"https://t.example.com/c/` + link.ID + `?c=winter&sub1=s","device_id":"6D92078A","idfa":"AEBE52E7-03EE-455A-B3C4-E57283966239"}`
	r := f.sdk("/v1/deeplinks", body, "User-Agent", uaIPhone)
	if r.Code != 200 || r.Head.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	want := map[string]any{"deep_link_value": "promo/autumn", "link_id": link.ID, "media_source": "facebook_ads", "campaign": "winter"}
	if len(r.Body) != len(want) {
		t.Errorf("answer %v, want %v", r.Body, want)
	}
	for k, v := range want {
		if r.Body[k] != v {
			t.Errorf("answer %s = %v, want %v", k, r.Body[k], v)
		}
	}
	got := f.touchpoints()
	if len(got) != 1 {
		t.Fatalf("logged %d touchpoints, want 1", len(got))
	}
	tp := got[0]
	wantTP := unmogrowp.Touchpoint{
		ID: tp.ID, AppID: f.app.ID, Type: unmogrowp.TouchClick, LinkID: link.ID, MediaSource: "facebook_ads",
		Campaign: "winter", DeepLinkValue: "promo/autumn", Time: f.now, ReceivedAt: f.now, IP: "198.51.100.9",
		UserAgent: uaIPhone, DeviceID: "6D92078A", IDFA: "AEBE52E7-03EE-455A-B3C4-E57283966239", Sub: [5]string{"s"},
		Opened: true, // the app's return: the pipeline re-engages a dormant device by it
	}
	if !touchpointID.MatchString(tp.ID) || tp != wantTP {
		t.Fatalf("logged\n got %+v\nwant %+v", tp, wantTP)
	}

	// With the server key, the body's ip and user_agent are the device's; a trailing slash
	// and another host are the same link.
	r = f.do("POST", "/v1/deeplinks", []byte(`{"url":"http://other.example/c/`+link.ID+`/","device_id":"d2","ip":"203.0.113.7","user_agent":"Game/2 CFNetwork/1494.0.7 Darwin/23.4.0"}`), "X-Api-Key", f.keys.ServerKey)
	if r.Code != 200 || r.Body["campaign"] != "autumn" {
		t.Fatalf("server key: %d %s", r.Code, r.Raw)
	}
	if got := f.touchpoints(); len(got) != 1 || got[0].IP != "203.0.113.7" || got[0].UserAgent != "Game/2 CFNetwork/1494.0.7 Darwin/23.4.0" || got[0].DeviceID != "d2" {
		t.Fatalf("server key logged %+v", got)
	}
}

// TestDeeplinkRefused checks the answers that record nothing: URLs that are not this app's
// links (404), bad bodies (400 naming the field), and missing or unknown keys (401).
func TestDeeplinkRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "net"})
	foreign := f.link(f.other, unmogrowp.Link{MediaSource: "net"})
	for _, c := range []struct {
		name, body string
		code       int
		mention    string
	}{
		{"another app's link", `{"url":"https://t.example.com/c/` + foreign.ID + `","device_id":"d"}`, 404, "not a tracking link of this app"},
		{"unknown link", `{"url":"https://t.example.com/c/lk_doesnotexist0000","device_id":"d"}`, 404, "not a tracking link"},
		{"impression URL", `{"url":"https://t.example.com/i/` + link.ID + `","device_id":"d"}`, 404, "/c/{link_id}"},
		{"not a link path", `{"url":"https://t.example.com/promo","device_id":"d"}`, 404, "/c/{link_id}"},
		{"path after the id", `{"url":"https://t.example.com/c/` + link.ID + `/more","device_id":"d"}`, 404, "/c/{link_id}"},
		{"no url", `{"device_id":"d"}`, 400, "url is required"},
		{"relative url", `{"url":"/c/` + link.ID + `","device_id":"d"}`, 400, "absolute"},
		{"app scheme", `{"url":"myapp://c/` + link.ID + `","device_id":"d"}`, 400, "http or https"},
		{"long url", `{"url":"https://t.example.com/c/` + link.ID + `?x=` + strings.Repeat("a", unmogrowp.MaxURLLen) + `","device_id":"d"}`, 400, "url must be at most"},
		{"long query parameter", `{"url":"https://t.example.com/c/` + link.ID + `?c=` + strings.Repeat("a", 300) + `","device_id":"d"}`, 400, "c must be at most"},
		{"no device", `{"url":"https://t.example.com/c/` + link.ID + `"}`, 400, "device_id is required"},
		{"device id type", `{"url":"https://t.example.com/c/` + link.ID + `","device_id":7}`, 400, "device_id"},
		{"control character", `{"url":"https://t.example.com/c/` + link.ID + `","device_id":"d\u0007"}`, 400, "device_id"},
		{"not an object", `["https://t.example.com/c/` + link.ID + `"]`, 400, "JSON object"},
		{"not JSON", `{"url":`, 400, "JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, f.sdk("/v1/deeplinks", c.body), c.code, c.mention)
		})
	}
	body := `{"url":"https://t.example.com/c/` + link.ID + `","device_id":"d"}`
	wantError(t, f.do("POST", "/v1/deeplinks", []byte(body)), 401, "key is required")
	wantError(t, f.do("POST", "/v1/deeplinks", []byte(body), "X-App-Key", "pk_unknown"), 401, "Unknown app key")
	if got := f.touchpoints(); len(got) != 0 {
		t.Fatalf("refused requests logged %+v", got)
	}
}

// TestDeeplinkSigned checks that an app that requires signatures requires one here too
// with the SDK key, and takes each signature once.
func TestDeeplinkSigned(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *unmogrowp.AppSettings) { s.RequireSignature = true })
	link := f.link(f.app, unmogrowp.Link{MediaSource: "net"})
	body := `{"url":"https://t.example.com/c/` + link.ID + `","device_id":"d"}`
	wantError(t, f.sdk("/v1/deeplinks", body), 401, "requires signed requests")
	ts := f.now.Unix()
	sig := Sign(f.app.SigningSecret, ts, []byte(body))
	if r := f.sdk("/v1/deeplinks", body, "X-Timestamp", strconv.FormatInt(ts, 10), "X-Signature", sig); r.Code != 200 {
		t.Fatalf("signed: %d %s", r.Code, r.Raw)
	}
	wantError(t, f.sdk("/v1/deeplinks", body, "X-Timestamp", strconv.FormatInt(ts, 10), "X-Signature", sig), 401, "received already")
	if got := f.touchpoints(); len(got) != 1 {
		t.Fatalf("logged %d touchpoints, want 1", len(got))
	}
}

func FuzzDecodeDeeplink(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://t.example.com/c/lk_abc?c=x&pid=y","device_id":"d","idfa":"i"}`,
		`{"url":"http://h/p/c/lk_abc/","device_id":"d","ip":"1.2.3.4","user_agent":"ua"}`,
		`{"url":"https://t.example.com/i/lk_abc"}`, `{"url":"myapp://c/x"}`, `{"url":"https://h/c/"}`,
		`{"url":"https://h/c/a?%zz"}`, `{"url":7}`, `{"url":"\u0000"}`, `[]`, `{`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, id, q, err := decodeDeeplink(b)
		if err != nil {
			if c := unmogrowp.ErrorCode(err); c != unmogrowp.EINVALID && c != unmogrowp.ENOTFOUND {
				t.Fatalf("error without EINVALID or ENOTFOUND: %v", err)
			}
			return
		}
		if id == "" || strings.Contains(id, "/") || q == nil || len(w.URL) > unmogrowp.MaxURLLen {
			t.Fatalf("accepted %q: link id %q, query %v", b, id, q)
		}
	})
}
