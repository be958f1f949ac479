package ingest

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// maxLinkIDLen bounds the link ids looked up, so a flood of long made-up ids neither reaches
// the store nor fills the cache with big keys. Stored ids are far shorter.
const maxLinkIDLen = 128

// linkCache keeps tracking links looked up by id, each with its app (for the app's settings
// and fallback URLs), for a short while: clicks on a busy link do not reach the metadata
// store each time, and a changed link or app takes effect within ttl.
type linkCache struct {
	links unmogrowp.LinkStore
	apps  unmogrowp.AppStore
	ttl   time.Duration
	now   func() time.Time

	mu   sync.Mutex
	byID map[string]cachedLink
}

type cachedLink struct {
	link    *unmogrowp.Link
	app     *unmogrowp.App
	err     error // a cached ENOTFOUND, so floods of made-up ids do not reach the store
	expires time.Time
}

func newLinkCache(links unmogrowp.LinkStore, apps unmogrowp.AppStore, ttl time.Duration, now func() time.Time) *linkCache {
	return &linkCache{links: links, apps: apps, ttl: ttl, now: now, byID: map[string]cachedLink{}}
}

// forget drops the cached links of the app, so that their next click reads the app's
// settings and URLs again.
func (c *linkCache) forget(appID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.byID {
		if e.app != nil && e.app.ID == appID {
			delete(c.byID, id)
		}
	}
}

// lookup returns the link with the id and its app, from the cache or the store. The link
// and app are shared: callers must not change them. It returns ENOTFOUND for an unknown
// link or one whose app is gone, and the store's error when the store fails (not cached).
func (c *linkCache) lookup(ctx context.Context, id string) (*unmogrowp.Link, *unmogrowp.App, error) {
	if id == "" || len(id) > maxLinkIDLen || unmogrowp.ValidateName("link_id", id) != nil {
		return nil, nil, errUnknownLink() // no link has such an id: not worth asking the store
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.byID[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.link, e.app, e.err
	}
	link, err := c.links.Link(ctx, id)
	var app *unmogrowp.App
	if err == nil {
		app, err = c.apps.App(ctx, link.AppID)
	}
	if err != nil {
		if unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
			return nil, nil, err
		}
		link, app, err = nil, nil, errUnknownLink()
	}
	c.mu.Lock()
	if len(c.byID) > 100_000 { // bound memory under a flood of distinct made-up ids
		clear(c.byID)
	}
	ttl := c.ttl
	if err != nil { // an unknown link may be one created a moment ago: forget it sooner
		ttl = min(ttl, time.Second)
	}
	c.byID[id] = cachedLink{link: link, app: app, err: err, expires: now.Add(ttl)}
	c.mu.Unlock()
	return link, app, err
}

func errUnknownLink() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "Unknown tracking link.")
}

// link returns the tracking link with the id and its app. It returns ENOTFOUND for an
// unknown link, and EUNAVAILABLE (after logging why) when links are not configured or the
// store cannot answer.
func (s *Server) link(ctx context.Context, id string) (*unmogrowp.Link, *unmogrowp.App, error) {
	if s.cfg.Links == nil {
		return nil, nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Tracking links are not configured on this listener.")
	}
	link, app, err := s.links.lookup(ctx, id)
	if err != nil && unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		s.cfg.Logger.Error("look up link", "link_id", id, "err", err)
		return nil, nil, retryLater("The link store cannot be reached; retry later.")
	}
	return link, app, err
}

// linkParam is a query parameter of /c/ and /i/ and the touchpoint field it sets.
type linkParam struct {
	name string
	dst  *string
}

// linkParams are the query parameters of /c/ and /i/ that override the link's defaults.
func linkParams(tp *unmogrowp.Touchpoint) []linkParam {
	return []linkParam{
		{"pid", &tp.MediaSource}, {"c", &tp.Campaign}, {"adset", &tp.Adset}, {"ad", &tp.Ad},
		{"site_id", &tp.SiteID}, {"clickid", &tp.ClickID}, {"idfa", &tp.IDFA},
		{"gaid", &tp.GAID}, {"android_id", &tp.AndroidID}, {"device_id", &tp.DeviceID},
		{"deep_link_value", &tp.DeepLinkValue}, {"sub1", &tp.Sub[0]}, {"sub2", &tp.Sub[1]},
		{"sub3", &tp.Sub[2]}, {"sub4", &tp.Sub[3]}, {"sub5", &tp.Sub[4]},
	}
}

// setLinkParams sets tp's fields from the query parameters of a tracking link URL
// (linkParams). It returns EINVALID for a parameter over MaxTouchpointFieldLen, in a
// message that starts with what ("Query parameter").
func setLinkParams(tp *unmogrowp.Touchpoint, q url.Values, what string) error {
	for _, p := range linkParams(tp) {
		v := q.Get(p.name)
		if len(v) > unmogrowp.MaxTouchpointFieldLen {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "%s %s must be at most %d characters.", what, p.name, unmogrowp.MaxTouchpointFieldLen)
		}
		*p.dst = v
	}
	return nil
}

// transparentGIF is a 1x1 transparent GIF: the answer of /i/.
var transparentGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00" +
	"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

func (s *Server) handleClick(w http.ResponseWriter, r *http.Request) error {
	return s.track(w, r, unmogrowp.TouchClick)
}

func (s *Server) handleImpression(w http.ResponseWriter, r *http.Request) error {
	return s.track(w, r, unmogrowp.TouchImpression)
}

// track runs GET /c/{link_id} and GET /i/{link_id}: find the link, record the touchpoint
// durably, then send the device on (a click) or answer the pixel (an impression).
//
// A HEAD request (link checkers, unfurlers) is answered the same way but records nothing:
// no person clicked.
func (s *Server) track(w http.ResponseWriter, r *http.Request, typ string) error {
	w.Header().Set("Cache-Control", "no-store")
	link, app, err := s.link(r.Context(), r.PathValue("link_id"))
	if err != nil {
		return s.refuse(err, 1)
	}
	tp := unmogrowp.Touchpoint{Type: typ}
	q := r.URL.Query()
	if err := setLinkParams(&tp, q, "Query parameter"); err != nil {
		return s.refuse(err, 1)
	}
	if setQueryCost(&tp, q) {
		s.cfg.Logger.Debug("dropped an invalid cost of a tracking link", "link_id", link.ID)
	}
	switch v := q.Get("third_party_sharing"); v {
	case "":
	case "true", "false":
		tp.ThirdPartySharing = new(v == "true")
	default:
		return s.refuse(unmogrowp.Errorf(unmogrowp.EINVALID, "Query parameter third_party_sharing must be true or false."), 1)
	}
	tp.ApplyLink(link)
	if ip := httpserve.ClientIP(r, s.cfg.TrustedProxies); isIP(ip) {
		tp.IP = ip
	}
	// A user agent header is the browser's, not the caller's choice: an over-long one is
	// cut, and bytes that are not UTF-8 replaced, rather than refusing to send the person on.
	tp.UserAgent = truncate(strings.ToValidUTF8(r.UserAgent(), "\uFFFD"), unmogrowp.MaxUserAgentLen)
	if err := tp.Validate(s.cfg.Now().UTC(), app.Settings.MaxEventAge()); err != nil {
		return s.refuse(err, 1)
	}
	if r.Method != http.MethodHead {
		if err := s.allow(r.Context(), app, 1); err != nil {
			return err
		}
		tp.ID = newEventID()
		rec := unmogrowp.EncodeTouchpointRecord(nil, &tp)
		if err := s.appendLog(r.Context(), app.ID, [][]byte{rec}, "touchpoints"); err != nil {
			return s.refuse(err, 1)
		}
		s.metrics.touchpoints.Inc()
	}

	if typ == unmogrowp.TouchImpression {
		w.Header().Set("Content-Type", "image/gif")
		w.Header().Set("Content-Length", strconv.Itoa(len(transparentGIF)))
		w.WriteHeader(http.StatusOK)
		w.Write(transparentGIF)
		return nil
	}
	target, kind := clickTarget(link, app, tp.UserAgent)
	if target == "" {
		httpserve.JSON(w, http.StatusOK, map[string]any{"status": "accepted", "touchpoint_id": tp.ID})
		return nil
	}
	if tp.ID != "" { // not for HEAD: nothing was recorded
		switch kind {
		case targetAndroid:
			target = withReferrer(target, tp.ID, tp.MediaSource)
		case targetWeb:
			target = withClickID(target, tp.ID)
		}
	}
	// Not http.Redirect: it adds an HTML body, and the target is absolute already.
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
	return nil
}

// Which of its URLs a click is sent to.
const (
	targetIOS     = iota + 1
	targetAndroid // gets the Play install referrer (withReferrer)
	targetWeb     // gets click_id (withClickID)
)

// clickTarget returns where a click from a device with the user agent is sent, and which
// of the URLs that is (targetIOS, targetAndroid, targetWeb). Each of the link's URLs falls
// back to the app's. An iOS device goes to the iOS URL, an Android one to the Android URL,
// anything else to the web URL; when that is empty, to the web URL, then to any other URL
// there is (the app's own platform first). The target is only ever one of these
// configured URLs, never anything from the request: no open redirect. It returns "" when
// neither the link nor the app has a URL.
func clickTarget(link *unmogrowp.Link, app *unmogrowp.App, ua string) (target string, kind int) {
	ios, andr, web := firstNonEmpty(link.IOSURL, app.IOSURL), firstNonEmpty(link.AndroidURL, app.AndroidURL), firstNonEmpty(link.WebURL, app.WebURL)
	type slot struct {
		url  string
		kind int
	}
	var order []slot
	switch attribution.ParseUserAgent(ua).Platform {
	case unmogrowp.PlatformIOS:
		order = []slot{{ios, targetIOS}, {web, targetWeb}, {andr, targetAndroid}}
	case unmogrowp.PlatformAndroid:
		order = []slot{{andr, targetAndroid}, {web, targetWeb}, {ios, targetIOS}}
	case unmogrowp.PlatformWeb, unmogrowp.PlatformOther, "":
		order = []slot{{web, targetWeb}, {ios, targetIOS}, {andr, targetAndroid}}
		if app.Platform == unmogrowp.PlatformAndroid {
			order[1], order[2] = order[2], order[1]
		}
	}
	for _, sl := range order {
		if sl.url != "" {
			return sl.url, sl.kind
		}
	}
	return "", 0
}

// withClickID adds click_id=<id> to the query of a web URL, keeping the rest of the query
// (and the fragment) as it is, so that a web SDK on the page can carry the click on. A
// click_id the URL already has is replaced: the page must read ours.
func withClickID(target, clickID string) string {
	u, err := url.Parse(target)
	if err != nil { // links are validated when stored; keep the URL rather than break the click
		return target
	}
	var kept []string
	for _, pair := range strings.Split(u.RawQuery, "&") {
		if k, _, _ := strings.Cut(pair, "="); pair != "" && k != "click_id" {
			kept = append(kept, pair)
		}
	}
	u.RawQuery = strings.Join(append(kept, "click_id="+url.QueryEscape(clickID)), "&")
	return u.String()
}

// withReferrer adds referrer=<URL-encoded "click_id=<id>&pid=<media source>"> to the query
// of an Android store URL, keeping the rest of the query as it is, so that the Google Play
// install referrer carries our touchpoint id to the app. A referrer the URL already has is
// kept after ours (ours comes first, so its click_id is the one read).
func withReferrer(target, clickID, mediaSource string) string {
	u, err := url.Parse(target)
	if err != nil { // links are validated when stored; keep the URL rather than break the click
		return target
	}
	ref := "click_id=" + url.QueryEscape(clickID) + "&pid=" + url.QueryEscape(mediaSource)
	var kept []string
	for _, pair := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		switch {
		case pair == "":
			continue
		case k == "referrer":
			if old, err := url.QueryUnescape(v); err == nil && old != "" {
				ref += "&" + old
			}
			continue
		}
		kept = append(kept, pair)
	}
	u.RawQuery = strings.Join(append(kept, "referrer="+url.QueryEscape(ref)), "&")
	return u.String()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// truncate cuts s to at most n bytes, at a UTF-8 character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
