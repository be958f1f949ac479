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
			DeepLinkValue: l.DeepLinkValue,
		},
		ClickURL: ingestURL + "/c/" + id, ImpressionURL: ingestURL + "/i/" + id,
		CreatedAt: l.CreatedAt.UTC().Format(time.RFC3339),
	}
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
	if err := s.cfg.Links.CreateLink(r.Context(), l); err != nil {
		return fmt.Errorf("create link: %w", err)
	}
	httpserve.JSON(w, http.StatusCreated, NewLink(l, app, s.cfg.IngestURL))
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
