package ingest

import (
	"bytes"
	"context"
	"image/gif"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

const (
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
	uaAndroid = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
	uaDesktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaBot     = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

	iosURL     = "https://apps.apple.com/app/id123456"
	androidURL = "https://play.google.com/store/apps/details?id=com.game&hl=en"
	webURL     = "https://game.example/download"
)

func TestClickRedirects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{
		MediaSource: "facebook_ads", Campaign: "autumn", Channel: "instagram", DeepLinkValue: "product/1",
		IOSURL: iosURL, AndroidURL: androidURL, WebURL: webURL,
	})
	for _, c := range []struct {
		name, ua, want string
		android        bool
	}{
		{"iOS", uaIPhone, iosURL, false},
		{"Android", uaAndroid, androidURL, true},
		{"desktop", uaDesktop, webURL, false},
		{"bot", uaBot, webURL, false},
		{"no user agent", "", webURL, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// url= and redirect= are not ours to follow: no open redirect.
			r := f.do("GET", "/c/"+link.ID+"?url=https%3A%2F%2Fevil.example&redirect=https://evil.example&redirect_url=//evil.example", nil, "User-Agent", c.ua)
			if r.Code != 302 || r.Head.Get("Cache-Control") != "no-store" || r.Raw != "" {
				t.Fatalf("%d %v %q", r.Code, r.Head, r.Raw)
			}
			got := f.touchpoints()
			if len(got) != 1 {
				t.Fatalf("logged %d touchpoints, want 1", len(got))
			}
			tp := got[0]
			want := c.want
			if c.android {
				want += "&referrer=" + url.QueryEscape("click_id="+tp.ID+"&pid=facebook_ads")
			} else if c.want == webURL { // for the web SDK on the landing page
				want += "?click_id=" + tp.ID
			}
			if want == webURL { // the web fallback carries our touchpoint id
				want += "?click_id=" + tp.ID
			}
			if loc := r.Head.Get("Location"); loc != want {
				t.Fatalf("Location = %q, want %q", loc, want)
			}
			if c.android { // what the SDK reads back from the Play install referrer
				u, _ := url.Parse(r.Head.Get("Location"))
				if got := attribution.ReferrerClickID(u.Query().Get("referrer")); got != tp.ID {
					t.Fatalf("install referrer carries click_id %q, want %q", got, tp.ID)
				}
			}
			wantTP := unmogrowp.Touchpoint{
				ID: tp.ID, AppID: f.app.ID, Type: "click", LinkID: link.ID, MediaSource: "facebook_ads",
				Campaign: "autumn", Channel: "instagram", DeepLinkValue: "product/1",
				Time: f.now, ReceivedAt: f.now, IP: "198.51.100.9", UserAgent: c.ua,
			}
			if !touchpointID.MatchString(tp.ID) || tp != wantTP {
				t.Fatalf("logged\n got %+v\nwant %+v", tp, wantTP)
			}
		})
	}
}

func TestClickQueryOverrides(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{
		MediaSource: "facebook_ads", Campaign: "autumn", Adset: "as", Ad: "ad", SiteID: "s",
		Channel: "instagram", DeepLinkValue: "product/1", AndroidURL: "market://details?id=com.game",
	})
	q := url.Values{
		"pid": {"tiktok & co"}, "c": {"winter"}, "adset": {"as2"}, "ad": {"ad2"}, "site_id": {"s2"},
		"clickid": {"net-9"}, "idfa": {"6D92078A-8246-4BA4-AE5B-76104861E7DC"}, "gaid": {"00000000-0000-0000-0000-000000000000"},
		"android_id": {"aid"}, "device_id": {"dev"}, "deep_link_value": {"product/2"},
		"sub1": {"1"}, "sub2": {"2"}, "sub3": {"3"}, "sub4": {"4"}, "sub5": {"5"},
		"third_party_sharing": {"false"},
		"channel":             {"ignored: not a query parameter of the contract"}, "timestamp": {"1"},
	}
	f.remote = "10.1.2.3:80" // a trusted proxy
	r := f.do("GET", "/c/"+link.ID+"?"+q.Encode(), nil, "User-Agent", uaAndroid, "X-Forwarded-For", "203.0.113.9")
	if r.Code != 302 {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	got := f.touchpoints()
	if len(got) != 1 {
		t.Fatalf("logged %d touchpoints", len(got))
	}
	tp := got[0]
	want := unmogrowp.Touchpoint{
		ID: tp.ID, AppID: f.app.ID, Type: "click", LinkID: link.ID, MediaSource: "tiktok & co",
		Campaign: "winter", Adset: "as2", Ad: "ad2", SiteID: "s2", Channel: "instagram", ClickID: "net-9",
		Time: f.now, ReceivedAt: f.now, IP: "203.0.113.9", UserAgent: uaAndroid,
		IDFA: "6D92078A-8246-4BA4-AE5B-76104861E7DC", AndroidID: "aid", DeviceID: "dev",
		DeepLinkValue: "product/2", Sub: [5]string{"1", "2", "3", "4", "5"}, ThirdPartySharing: new(false),
	}
	if !reflect.DeepEqual(tp, want) {
		t.Fatalf("logged\n got %+v\nwant %+v", tp, want)
	}
	// The media source is escaped inside the referrer, so that its "&" does not end it.
	u, err := url.Parse(r.Head.Get("Location"))
	if err != nil || u.Scheme != "market" || u.Query().Get("id") != "com.game" {
		t.Fatalf("Location = %q", r.Head.Get("Location"))
	}
	ref, _ := url.ParseQuery(u.Query().Get("referrer"))
	if ref.Get("click_id") != tp.ID || ref.Get("pid") != "tiktok & co" {
		t.Fatalf("referrer = %q", u.Query().Get("referrer"))
	}
}

func TestClickFallbackURLs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	withURLs := &unmogrowp.App{Name: "With URLs", Settings: unmogrowp.DefaultAppSettings(), IOSURL: iosURL, AndroidURL: androidURL, WebURL: webURL}
	androidApp := &unmogrowp.App{Name: "Android only", Platform: "android", Settings: unmogrowp.DefaultAppSettings(), AndroidURL: androidURL, IOSURL: iosURL}
	for _, app := range []*unmogrowp.App{withURLs, androidApp} {
		if _, err := f.meta.CreateApp(context.Background(), app); err != nil {
			t.Fatal(err)
		}
	}
	appURLs := f.link(withURLs, unmogrowp.Link{MediaSource: "net"})
	ownWeb := f.link(withURLs, unmogrowp.Link{MediaSource: "net", WebURL: "https://landing.example/x?y=1"})
	onlyIOS := f.link(f.app, unmogrowp.Link{MediaSource: "net", IOSURL: "myapp://open"})
	onlyAndroid := f.link(f.app, unmogrowp.Link{MediaSource: "net", AndroidURL: androidURL})
	androidFirst := f.link(androidApp, unmogrowp.Link{MediaSource: "net"})
	noURL := f.link(f.app, unmogrowp.Link{MediaSource: "net"})
	for _, c := range []struct {
		name string
		link *unmogrowp.Link
		ua   string
		want string // "android" means androidURL with our referrer; "web:" a URL that gets click_id
	}{
		{"app's iOS URL", appURLs, uaIPhone, iosURL},
		{"app's Android URL", appURLs, uaAndroid, "android"},
		{"app's web URL", appURLs, uaDesktop, "web:" + webURL + "?click_id="},
		{"link's web URL over the app's", ownWeb, uaDesktop, "web:https://landing.example/x?y=1&click_id="},
		{"iOS without an iOS URL: web", f.link(f.app, unmogrowp.Link{MediaSource: "net", WebURL: webURL}), uaIPhone, "web:" + webURL + "?click_id="},
		{"app's iOS URL over the link's web URL", ownWeb, uaIPhone, iosURL},
		{"Android without URL: iOS", onlyIOS, uaAndroid, "myapp://open"},
		{"desktop without web URL: iOS", onlyIOS, uaDesktop, "myapp://open"},
		{"iOS without URL: Android", onlyAndroid, uaIPhone, "android"},
		{"desktop of an Android app: Android", androidFirst, uaDesktop, "android"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("GET", "/c/"+c.link.ID, nil, "User-Agent", c.ua)
			tp := f.touchpoints()
			if r.Code != 302 || len(tp) != 1 {
				t.Fatalf("%d %s, %d touchpoints", r.Code, r.Raw, len(tp))
			}
			want := c.want
			switch {
			case want == "android":
				want = androidURL + "&referrer=" + url.QueryEscape("click_id="+tp[0].ID+"&pid=net")
			case strings.HasPrefix(want, "https://landing.example/"):
				want += "&click_id=" + tp[0].ID
			case want == webURL:
				want += "?click_id=" + tp[0].ID
			}
			if web, ok := strings.CutPrefix(want, "web:"); ok {
				want = web + tp[0].ID
			}
			if got := r.Head.Get("Location"); got != want {
				t.Fatalf("Location = %q, want %q", got, want)
			}
		})
	}
	t.Run("no URL at all", func(t *testing.T) {
		r := f.do("GET", "/c/"+noURL.ID, nil, "User-Agent", uaIPhone)
		tp := f.touchpoints()
		if r.Code != 200 || r.Body["status"] != "accepted" || len(tp) != 1 || r.Body["touchpoint_id"] != tp[0].ID || r.Head.Get("Location") != "" {
			t.Fatalf("%d %s %v", r.Code, r.Raw, tp)
		}
	})
}

func TestImpressionPixel(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "unity", IOSURL: iosURL})
	r := f.do("GET", "/i/"+link.ID+"?c=banner&idfa=abc", nil, "User-Agent", uaIPhone)
	if r.Code != 200 || r.Head.Get("Content-Type") != "image/gif" || r.Head.Get("Cache-Control") != "no-store" || r.Head.Get("Location") != "" {
		t.Fatalf("%d %v", r.Code, r.Head)
	}
	img, err := gif.Decode(strings.NewReader(r.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Fatalf("pixel is %v", b)
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Fatalf("pixel is not transparent: alpha %d", a)
	}
	got := f.touchpoints()
	want := unmogrowp.Touchpoint{
		ID: got[0].ID, AppID: f.app.ID, Type: "impression", LinkID: link.ID, MediaSource: "unity",
		Campaign: "banner", IDFA: "abc", Time: f.now, ReceivedAt: f.now, IP: "198.51.100.9", UserAgent: uaIPhone,
	}
	if len(got) != 1 || got[0] != want || !touchpointID.MatchString(got[0].ID) {
		t.Fatalf("logged %+v\nwant %+v", got, want)
	}
	if !bytes.Equal([]byte(r.Raw), transparentGIF) {
		t.Fatalf("body %q", r.Raw)
	}
}

func TestTrackingLinkErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "net", WebURL: webURL})
	long := strings.Repeat("x", 257)
	for name, c := range map[string]struct {
		path     string
		code     int
		contains string
	}{
		"unknown click link":      {"/c/lk_aaaaaaaaaaaaaaaa", 404, "Unknown tracking link"},
		"unknown impression link": {"/i/lk_aaaaaaaaaaaaaaaa", 404, "Unknown tracking link"},
		"over-long link id":       {"/c/" + long, 404, "Unknown tracking link"},
		"no link id":              {"/c/", 404, "No such endpoint"},
		"long campaign":           {"/c/" + link.ID + "?c=" + long, 400, "c must be at most 256"},
		"long pid":                {"/i/" + link.ID + "?pid=" + long, 400, "pid must be at most 256"},
		"long device_id":          {"/c/" + link.ID + "?device_id=" + strings.Repeat("d", 129), 400, "device_id must be at most 128"},
		"bad third_party_sharing": {"/c/" + link.ID + "?third_party_sharing=no", 400, "third_party_sharing must be true or false"},
	} {
		t.Run(name, func(t *testing.T) {
			r := f.do("GET", c.path, nil, "User-Agent", uaIPhone)
			wantError(t, r, c.code, c.contains)
			if r.Head.Get("Location") != "" {
				t.Fatalf("redirected on error")
			}
		})
	}
	wantError(t, f.do("POST", "/c/"+link.ID, nil), 404, "No such endpoint")
	// An over-long user agent is cut, not refused: the person still gets to the store.
	ua := strings.Repeat("é", 600)
	if r := f.do("GET", "/c/"+link.ID, nil, "User-Agent", ua); r.Code != 302 {
		t.Fatalf("long user agent: %d %s", r.Code, r.Raw)
	}
	got := f.touchpoints()
	if len(got) != 1 || got[0].UserAgent != ua[:1024] {
		t.Fatalf("logged %d touchpoints; user agent %d bytes", len(got), len(got[0].UserAgent))
	}
	// HEAD (link checkers, unfurlers) is answered but records nothing.
	if r := f.do("HEAD", "/c/"+link.ID, nil, "User-Agent", uaIPhone); r.Code != 302 || r.Head.Get("Location") != webURL {
		t.Fatalf("HEAD: %d %v", r.Code, r.Head)
	}
	if got := f.touchpoints(); len(got) != 0 {
		t.Fatalf("HEAD recorded %d touchpoints", len(got))
	}
}

// countingLinks counts the lookups that reach the link store.
type countingLinks struct {
	unmogrowp.LinkStore
	n atomic.Int64
}

func (c *countingLinks) Link(ctx context.Context, id string) (*unmogrowp.Link, error) {
	c.n.Add(1)
	return c.LinkStore.Link(ctx, id)
}

func TestLinkCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "net", WebURL: webURL})
	links := &countingLinks{LinkStore: f.meta}
	f.srv = New(Config{Log: f.log, Apps: f.meta, Links: links, Registry: prometheus.NewRegistry(), Now: func() time.Time { return f.now }})
	click := func(id string, code int) {
		t.Helper()
		if r := f.do("GET", "/c/"+id, nil); r.Code != code {
			t.Fatalf("click %s: %d, want %d; %s", id, r.Code, code, r.Raw)
		}
	}
	click(link.ID, 302)
	click(link.ID, 302)
	click("lk_unknown", 404)
	click("lk_unknown", 404)
	if n := links.n.Load(); n != 2 {
		t.Fatalf("%d store lookups, want 2 (one per id)", n)
	}
	f.now = f.now.Add(time.Second) // unknown ids are forgotten after a second
	click(link.ID, 302)
	click("lk_unknown", 404)
	if n := links.n.Load(); n != 3 {
		t.Fatalf("%d store lookups, want 3", n)
	}
	f.now = f.now.Add(4 * time.Second) // links after 5 s
	click(link.ID, 302)
	if n := links.n.Load(); n != 4 {
		t.Fatalf("%d store lookups, want 4", n)
	}
	if got := f.touchpoints(); len(got) != 4 {
		t.Fatalf("logged %d clicks, want 4", len(got))
	}
}

func TestTrackingLinksNotConfigured(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.srv = New(Config{Log: f.log, Apps: f.meta, Registry: prometheus.NewRegistry(), Now: func() time.Time { return f.now }})
	wantError(t, f.do("GET", "/c/lk_aaaaaaaaaaaaaaaa", nil), 503, "not configured")
	wantError(t, f.server("/v1/touchpoints", `[{"type":"click","link_id":"lk_aaaaaaaaaaaaaaaa"}]`), 503, "not configured")
	if r := f.server("/v1/touchpoints", `[{"type":"click","media_source":"x"}]`); r.Code != 200 {
		t.Fatalf("touchpoint without link_id: %d %s", r.Code, r.Raw)
	}
	wantError(t, f.do("GET", "/v1/attribution?device_id=d", nil, "X-App-Key", f.app.SDKKey), 503, "not configured")
}

func TestWithClickID(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"https://game.example/download", "https://game.example/download?click_id=abc"},
		{"https://game.example/p?a=1&b=%20x#top", "https://game.example/p?a=1&b=%20x&click_id=abc#top"},
		{"https://game.example/p?click_id=theirs&a=1&click_id=again", "https://game.example/p?a=1&click_id=abc"},
		{"https://game.example/p?&&a=1", "https://game.example/p?a=1&click_id=abc"},
		{"myapp://open/promo", "myapp://open/promo?click_id=abc"},
	} {
		if got := withClickID(c.in, "abc"); got != c.want {
			t.Errorf("withClickID(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestWithReferrer(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"https://play.google.com/store/apps/details?id=com.game", "https://play.google.com/store/apps/details?id=com.game&referrer=click_id%3Dabc%26pid%3Dnet"},
		{"market://details?id=com.game&referrer=utm_source%3Dnews%26utm_medium%3Demail", "market://details?id=com.game&referrer=click_id%3Dabc%26pid%3Dnet%26utm_source%3Dnews%26utm_medium%3Demail"},
		{"https://example.com/app", "https://example.com/app?referrer=click_id%3Dabc%26pid%3Dnet"},
		{"https://example.com/app?a=1&&b=%20#frag", "https://example.com/app?a=1&b=%20&referrer=click_id%3Dabc%26pid%3Dnet#frag"},
	} {
		if got := withReferrer(c.in, "abc", "net"); got != c.want {
			t.Errorf("withReferrer(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestDeletedLink checks that a deleted link's click and impression URLs answer 404 once
// the API tells the listener (ForgetApp), or within the cache's time, while the clicks it
// recorded before stay in the log.
func TestDeletedLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "net", WebURL: webURL})
	other := f.link(f.app, unmogrowp.Link{MediaSource: "kept", WebURL: webURL})
	if r := f.do("GET", "/c/"+link.ID, nil); r.Code != 302 {
		t.Fatalf("click before delete: %d %s", r.Code, r.Raw)
	}
	if err := f.meta.DeleteLink(context.Background(), f.app.ID, link.ID); err != nil {
		t.Fatal(err)
	}
	f.srv.ForgetApp(f.app.ID)
	for _, p := range []string{"/c/", "/i/"} {
		wantError(t, f.do("GET", p+link.ID, nil), 404, "Unknown tracking link")
	}
	if r := f.do("GET", "/c/"+other.ID, nil); r.Code != 302 {
		t.Fatalf("click on the other link: %d %s", r.Code, r.Raw)
	}
	got := f.touchpoints()
	if len(got) != 2 || got[0].LinkID != link.ID || got[1].LinkID != other.ID {
		t.Fatalf("log holds %+v, want the deleted link's click and the other's", got)
	}
}
