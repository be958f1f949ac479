package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// maxBodyBytes bounds the JSON bodies the API takes.
const maxBodyBytes = 64 << 10

// LinkFields are what a caller sets on a tracking link: the body of
// POST /api/apps/{app_id}/links.
type LinkFields struct {
	MediaSource   string `json:"media_source"`
	Campaign      string `json:"campaign"`
	Adset         string `json:"adset"`
	Ad            string `json:"ad"`
	SiteID        string `json:"site_id"`
	Channel       string `json:"channel"`
	IOSURL        string `json:"ios_url"`
	AndroidURL    string `json:"android_url"`
	WebURL        string `json:"web_url"`
	DeepLinkValue string `json:"deep_link_value"`
	// ClickLookbackDays and ViewLookbackHours are the link's own attribution windows for
	// its touchpoints; null (or absent) keeps the app's settings.
	ClickLookbackDays *int `json:"click_lookback_days"`
	ViewLookbackHours *int `json:"view_lookback_hours"`
}

// Link is a tracking link as the API (and `unmogrowp links --json`) shows it. Its URLs are
// the ones clicks are sent to: the link's own, else the app's.
type Link struct {
	ID    string `json:"id"`
	AppID string `json:"app_id"`
	LinkFields
	ClickURL      string `json:"click_url"`
	ImpressionURL string `json:"impression_url"`
	CreatedAt     string `json:"created_at"`
}

// NewLink returns the API's view of l, a link of app, with click and impression URLs on
// the ingestion listener's public base URL ingestURL (no trailing slash).
func NewLink(l *unmogrowp.Link, app *unmogrowp.App, ingestURL string) Link {
	or := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	id := url.PathEscape(l.ID)
	return Link{
		ID: l.ID, AppID: l.AppID,
		LinkFields: LinkFields{
			MediaSource: l.MediaSource, Campaign: l.Campaign, Adset: l.Adset, Ad: l.Ad,
			SiteID: l.SiteID, Channel: l.Channel, IOSURL: or(l.IOSURL, app.IOSURL),
			AndroidURL: or(l.AndroidURL, app.AndroidURL), WebURL: or(l.WebURL, app.WebURL),
			DeepLinkValue: l.DeepLinkValue, ClickLookbackDays: window(l.ClickLookbackDays),
			ViewLookbackHours: window(l.ViewLookbackHours),
		},
		ClickURL: ingestURL + "/c/" + id, ImpressionURL: ingestURL + "/i/" + id,
		CreatedAt: l.CreatedAt.UTC().Format(time.RFC3339),
	}
}

// window is a link's window as the API shows it: null for 0, the app's.
func window(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}

func (s *Server) handleLinks(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	links, err := s.cfg.Links.Links(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	out := make([]Link, len(links))
	for i, l := range links {
		out[i] = NewLink(l, app, s.cfg.IngestURL)
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"links": out})
	return nil
}

func (s *Server) handleCreateLink(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	var req LinkFields
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	l := &unmogrowp.Link{
		AppID: app.ID, MediaSource: req.MediaSource, Campaign: req.Campaign, Adset: req.Adset,
		Ad: req.Ad, SiteID: req.SiteID, Channel: req.Channel, IOSURL: req.IOSURL,
		AndroidURL: req.AndroidURL, WebURL: req.WebURL, DeepLinkValue: req.DeepLinkValue,
	}
	for _, f := range []struct {
		name string
		v    *int
		dst  *int
	}{{"click_lookback_days", req.ClickLookbackDays, &l.ClickLookbackDays}, {"view_lookback_hours", req.ViewLookbackHours, &l.ViewLookbackHours}} {
		if f.v != nil {
			if *f.v == 0 { // 0 is how the store says "the app's": not a window one can ask for
				return errWindow(f.name)
			}
			*f.dst = *f.v
		}
	}
	if err := s.cfg.Links.CreateLink(r.Context(), l); err != nil {
		return fmt.Errorf("create link: %w", err)
	}
	httpserve.JSON(w, http.StatusCreated, NewLink(l, app, s.cfg.IngestURL))
	return nil
}

// errWindow is the error of a window out of range; Link.Validate says the same.
func errWindow(name string) error {
	lo, hi := 1, 30
	if name == "view_lookback_hours" {
		hi = 168
	}
	return unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be between %d and %d, or null for the app's.", name, lo, hi)
}

// linkPatch is the body of PATCH /api/apps/{app_id}/links/{link_id}: fields present
// replace the link's, others stay; a window set to null goes back to the app's.
type linkPatch struct {
	MediaSource       *string         `json:"media_source"`
	Campaign          *string         `json:"campaign"`
	Adset             *string         `json:"adset"`
	Ad                *string         `json:"ad"`
	SiteID            *string         `json:"site_id"`
	Channel           *string         `json:"channel"`
	IOSURL            *string         `json:"ios_url"`
	AndroidURL        *string         `json:"android_url"`
	WebURL            *string         `json:"web_url"`
	DeepLinkValue     *string         `json:"deep_link_value"`
	ClickLookbackDays json.RawMessage `json:"click_lookback_days"`
	ViewLookbackHours json.RawMessage `json:"view_lookback_hours"`
}

// appLink returns the app's link named by {link_id}: ENOTFOUND for an unknown link or
// another app's, so ids leak nothing.
func (s *Server) appLink(r *http.Request, app *unmogrowp.App) (*unmogrowp.Link, error) {
	l, err := s.cfg.Links.Link(r.Context(), r.PathValue("link_id"))
	switch {
	case unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND || (err == nil && l.AppID != app.ID):
		return nil, errNoLink()
	case err != nil:
		return nil, fmt.Errorf("get link: %w", err)
	}
	return l, nil
}

func errNoLink() error { return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such link.") }

func (s *Server) handlePatchLink(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	l, err := s.appLink(r, app)
	if err != nil {
		return err
	}
	var p linkPatch
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	for _, f := range []struct {
		from *string
		to   *string
	}{
		{p.MediaSource, &l.MediaSource}, {p.Campaign, &l.Campaign}, {p.Adset, &l.Adset},
		{p.Ad, &l.Ad}, {p.SiteID, &l.SiteID}, {p.Channel, &l.Channel}, {p.IOSURL, &l.IOSURL},
		{p.AndroidURL, &l.AndroidURL}, {p.WebURL, &l.WebURL}, {p.DeepLinkValue, &l.DeepLinkValue},
	} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *int
	}{{"click_lookback_days", p.ClickLookbackDays, &l.ClickLookbackDays}, {"view_lookback_hours", p.ViewLookbackHours, &l.ViewLookbackHours}} {
		switch raw := bytes.TrimSpace(f.raw); {
		case len(raw) == 0:
		case string(raw) == "null":
			*f.dst = 0
		default:
			var v int
			if err := json.Unmarshal(raw, &v); err != nil {
				return unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be a whole number or null.", f.name)
			}
			if v == 0 {
				return errWindow(f.name)
			}
			*f.dst = v
		}
	}
	if err := s.cfg.Links.UpdateLink(r.Context(), l); err != nil {
		return fmt.Errorf("update link: %w", err)
	}
	s.forgetApp(app.ID) // this process's ingestion listener reads the link again
	httpserve.JSON(w, http.StatusOK, NewLink(l, app, s.cfg.IngestURL))
	return nil
}

func (s *Server) handleDeleteLink(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	if err := s.cfg.Links.DeleteLink(r.Context(), app.ID, r.PathValue("link_id")); err != nil {
		if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
			return errNoLink()
		}
		return fmt.Errorf("delete link: %w", err)
	}
	s.forgetApp(app.ID) // this process's ingestion listener refuses its clicks at once
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readBody reads a request body of at most limit bytes: ETOOLARGE beyond, EINVALID if it
// cannot be read.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, unmogrowp.Errorf(unmogrowp.ETOOLARGE, "The body is larger than %d bytes.", limit)
	case err != nil:
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "The request body could not be read.")
	}
	return body, nil
}

// decodeBody decodes a JSON object body of at most maxBodyBytes into v, with EINVALID or
// ETOOLARGE errors that say what is wrong; text that is not UTF-8 is refused, not mended
// (httpserve.CheckJSONText).
func decodeBody(r *http.Request, v any) error {
	body, err := readBody(r, maxBodyBytes)
	if err != nil {
		return err
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "The body must be a JSON object.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "%s has the wrong type.", te.Field)
		}
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Body is not valid JSON.")
	}
	return httpserve.CheckJSONText(body, "The body", nil)
}
