package ingest

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// wireDeeplink is the body of POST /v1/deeplinks: the URL the operating system opened the
// app with, and the device's ids. ip and user_agent are honoured with the server key only,
// as for events.
type wireDeeplink struct {
	URL       string `json:"url"`
	DeviceID  string `json:"device_id"`
	IDFA      string `json:"idfa"`
	GAID      string `json:"gaid"`
	AndroidID string `json:"android_id"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
}

// deeplinkStringFields are the fields of wireDeeplink, for CheckJSONText.
var deeplinkStringFields = []string{"url", "device_id", "idfa", "gaid", "android_id", "ip", "user_agent"}

// deeplinkAnswer is the answer of POST /v1/deeplinks (fields in the order of their names).
type deeplinkAnswer struct {
	Campaign      string `json:"campaign"`
	DeepLinkValue string `json:"deep_link_value"`
	LinkID        string `json:"link_id"`
	MediaSource   string `json:"media_source"`
}

// decodeDeeplink decodes the body of POST /v1/deeplinks and returns it with the link id
// and query of its URL: url must be an absolute http or https URL of at most MaxURLLen
// bytes whose path ends in /c/{link_id}. It checks nothing else (the link, the device
// fields: Touchpoint.Validate). The error is an *unmogrowp.Error with code EINVALID
// naming the field at fault.
func decodeDeeplink(body []byte) (w wireDeeplink, linkID string, query url.Values, err error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return w, "", nil, unmogrowp.Errorf(unmogrowp.EINVALID, "The body must be a JSON object.")
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return w, "", nil, decodeError(err)
	}
	if err := httpserve.CheckJSONText(body, "The body", deeplinkStringFields); err != nil {
		return w, "", nil, err
	}
	switch {
	case w.URL == "":
		return w, "", nil, unmogrowp.Errorf(unmogrowp.EINVALID, "url is required: the tracking link URL the app was opened with.")
	case len(w.URL) > unmogrowp.MaxURLLen:
		return w, "", nil, unmogrowp.Errorf(unmogrowp.EINVALID, "url must be at most %d characters.", unmogrowp.MaxURLLen)
	}
	u, perr := url.Parse(w.URL)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return w, "", nil, unmogrowp.Errorf(unmogrowp.EINVALID, "url must be an absolute http or https URL.")
	}
	path := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndex(path, "/c/")
	if i < 0 || strings.Contains(path[i+3:], "/") || path[i+3:] == "" {
		return w, "", nil, unmogrowp.Errorf(unmogrowp.ENOTFOUND, "url is not a tracking link of this app: its path must end in /c/{link_id}.")
	}
	query, qerr := url.ParseQuery(u.RawQuery)
	if qerr != nil {
		return w, "", nil, unmogrowp.Errorf(unmogrowp.EINVALID, "url has a query that cannot be read.")
	}
	return w, path[i+3:], query, nil
}

// handleDeeplink runs POST /v1/deeplinks: the app was opened by the operating system with
// a tracking link's /c/ URL (a Universal Link or an App Link) instead of the browser, so
// no click reached /c/. It records the open as a click touchpoint of that link for the
// device, through the log as any click, and answers the deep link to route to. The URL's
// query overrides the link's defaults as on a click; the device fields of the body win
// over the query's. An URL that is not one of this app's links answers 404.
func (s *Server) handleDeeplink(w http.ResponseWriter, r *http.Request) (err error) {
	w.Header().Set("Cache-Control", "no-store")
	app, kind, err := s.authenticate(r)
	if err != nil {
		return s.refuse(err, 1)
	}
	signed := app.Settings.RequireSignature && kind == unmogrowp.SDKKey
	var wire []byte
	wirep := &wire
	if !signed {
		wirep = nil
	}
	body, err := readWireBody(r, unmogrowp.MaxEventBytes, nil, wirep)
	if err != nil {
		return s.refuse(err, 1)
	}
	if signed {
		release, serr := s.checkSignature(r, app, wire)
		if serr != nil {
			return s.refuse(serr, 1)
		}
		defer func() {
			if code := unmogrowp.ErrorCode(err); err != nil && (code == unmogrowp.ERATELIMIT || httpserve.StatusCode(code) >= 500) {
				release() // nothing recorded: the same request may be sent again
			}
		}()
	}
	return s.deeplink(w, r, app, kind, body)
}

// deeplink is handleDeeplink after authentication.
func (s *Server) deeplink(w http.ResponseWriter, r *http.Request, app *unmogrowp.App, kind unmogrowp.KeyKind, body []byte) error {
	wd, linkID, query, err := decodeDeeplink(body)
	if err != nil {
		return s.refuse(err, 1)
	}
	if wd.DeviceID == "" {
		return s.refuse(unmogrowp.Errorf(unmogrowp.EINVALID, "device_id is required: the device the app was opened on."), 1)
	}
	link, _, err := s.link(r.Context(), linkID)
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND || (err == nil && link.AppID != app.ID) {
		return s.refuse(unmogrowp.Errorf(unmogrowp.ENOTFOUND, "url is not a tracking link of this app."), 1)
	}
	if err != nil {
		return s.refuse(err, 1)
	}
	tp := unmogrowp.Touchpoint{Type: unmogrowp.TouchClick, Opened: true}
	if err := setLinkParams(&tp, query, "The url's query parameter"); err != nil {
		return s.refuse(err, 1)
	}
	tp.ApplyLink(link)
	for _, f := range []struct {
		dst *string
		v   string
	}{{&tp.DeviceID, wd.DeviceID}, {&tp.IDFA, wd.IDFA}, {&tp.GAID, wd.GAID}, {&tp.AndroidID, wd.AndroidID}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if kind == unmogrowp.SDKKey { // the device itself is asking
		if ip := httpserve.ClientIP(r, s.cfg.TrustedProxies); isIP(ip) {
			tp.IP = ip
		}
		tp.UserAgent = truncate(strings.ToValidUTF8(r.UserAgent(), "\uFFFD"), unmogrowp.MaxUserAgentLen)
	} else {
		tp.IP, tp.UserAgent = wd.IP, wd.UserAgent // Validate checks them
	}
	if err := tp.Validate(s.cfg.Now().UTC(), app.Settings.MaxEventAge()); err != nil {
		return s.refuse(err, 1)
	}
	if err := s.allow(r.Context(), app, 1); err != nil {
		return err
	}
	tp.ID = newEventID()
	if err := s.appendLog(r.Context(), app.ID, [][]byte{unmogrowp.EncodeTouchpointRecord(nil, &tp)}, "touchpoints"); err != nil {
		return s.refuse(err, 1)
	}
	s.metrics.touchpoints.Inc()
	httpserve.JSON(w, http.StatusOK, deeplinkAnswer{
		Campaign: tp.Campaign, DeepLinkValue: tp.DeepLinkValue, LinkID: link.ID, MediaSource: tp.MediaSource,
	})
	return nil
}
