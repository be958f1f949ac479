package unmogrowp

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// Link is a tracking link of an app: the media source and campaign that clicks through
// /c/{id} and impressions through /i/{id} are credited to, and where a click is sent.
// Empty URLs fall back to the app's (App.IOSURL, AndroidURL, WebURL) when a click is
// redirected.
type Link struct {
	ID            string
	AppID         string
	MediaSource   string
	Campaign      string
	Adset         string
	Ad            string
	SiteID        string
	Channel       string
	IOSURL        string
	AndroidURL    string
	WebURL        string
	DeepLinkValue string
	// ClickLookbackDays and ViewLookbackHours override the app's windows
	// (AppSettings) for the touchpoints of this link; 0 keeps the app's.
	ClickLookbackDays int
	ViewLookbackHours int
	CreatedAt         time.Time
}

// Limits on links.
const (
	MaxLinkFieldLen = 256
	MaxURLLen       = 2048
)

// Validate trims the link's fields and checks them: media_source is required; every field
// is at most MaxLinkFieldLen bytes, UTF-8 without control characters (ValidateName), URLs
// at most MaxURLLen; URLs must be absolute (an app
// store https URL or an app scheme such as myapp://path), never javascript:, data: or
// vbscript:. click_lookback_days is 0 (the app's) or 1 to 30, view_lookback_hours 0 or 1
// to 168, the ranges of the app settings. It returns an *Error with code EINVALID naming
// the field at fault.
func (l *Link) Validate() error {
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"media_source", &l.MediaSource}, {"campaign", &l.Campaign}, {"adset", &l.Adset},
		{"ad", &l.Ad}, {"site_id", &l.SiteID}, {"channel", &l.Channel},
		{"deep_link_value", &l.DeepLinkValue},
	} {
		*f.v = strings.TrimSpace(*f.v)
		if len(*f.v) > MaxLinkFieldLen {
			return Errorf(EINVALID, "%s must be at most %d characters.", f.name, MaxLinkFieldLen)
		}
		if err := ValidateName(f.name, *f.v); err != nil {
			return err
		}
	}
	if l.MediaSource == "" {
		return Errorf(EINVALID, "media_source is required.")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"ios_url", &l.IOSURL}, {"android_url", &l.AndroidURL}, {"web_url", &l.WebURL}} {
		*f.v = strings.TrimSpace(*f.v)
		if err := ValidateRedirectURL(f.name, *f.v); err != nil {
			return err
		}
	}
	for _, r := range []struct {
		name     string
		v        int
		min, max int
	}{{"click_lookback_days", l.ClickLookbackDays, 1, 30}, {"view_lookback_hours", l.ViewLookbackHours, 1, 168}} {
		if r.v != 0 && (r.v < r.min || r.v > r.max) {
			return Errorf(EINVALID, "%s must be between %d and %d, or null for the app's.", r.name, r.min, r.max)
		}
	}
	return nil
}

// ValidateRedirectURL checks a URL that clicks may be redirected to; "" is allowed (none).
// It returns an *Error with code EINVALID naming the field.
func ValidateRedirectURL(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxURLLen {
		return Errorf(EINVALID, "%s must be at most %d characters.", field, MaxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || strings.ContainsAny(s, " \t\r\n") {
		return Errorf(EINVALID, "%s must be an absolute URL, such as https://example.com/page or myapp://path.", field)
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "file":
		return Errorf(EINVALID, "%s must not be a %s: URL.", field, strings.ToLower(u.Scheme))
	case "http", "https":
		if u.Host == "" {
			return Errorf(EINVALID, "%s must name a host.", field)
		}
	}
	return nil
}

// LinkStore keeps tracking links: the part of the metadata store that the click and
// impression endpoints and the links API need.
type LinkStore interface {
	// CreateLink validates the link (Link.Validate), fills its ID and CreatedAt and stores
	// it. Returns EINVALID for an invalid link, ENOTFOUND if its app does not exist.
	CreateLink(ctx context.Context, link *Link) error

	// Link returns the link with the id. Returns ENOTFOUND if there is none.
	Link(ctx context.Context, id string) (*Link, error)

	// Links lists an app's links, newest first. An app without links, or an unknown app,
	// has none.
	Links(ctx context.Context, appID string) ([]*Link, error)

	// UpdateLink validates the link (Link.Validate) and replaces every caller-set field of
	// the link with link.ID and link.AppID; its id, app and creation time stay, and
	// link.CreatedAt is filled from the store. Returns EINVALID for an invalid link,
	// ENOTFOUND if the app has no such link.
	UpdateLink(ctx context.Context, link *Link) error

	// DeleteLink removes the app's link with the id: its clicks and impressions are
	// refused from then on, while the touchpoints already recorded stay where they are.
	// Returns ENOTFOUND if the app has no such link.
	DeleteLink(ctx context.Context, appID, id string) error
}
