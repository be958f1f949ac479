package unmogrowp

import (
	"context"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// App is a mobile or web app whose events and touchpoints UnMoGrowP attributes.
type App struct {
	ID            string
	OwnerID       string // the user who owns it; "" for apps created on the command line
	Name          string
	Platform      string
	BundleID      string
	IOSURL        string
	AndroidURL    string
	WebURL        string
	SDKKey        string // public: compiled into the app, sent as X-App-Key
	SigningSecret string // for request signing by the SDK when RequireSignature is on
	Settings      AppSettings
	CreatedAt     time.Time
}

// MaxAppNameLen is the longest name an app may have, in characters.
const MaxAppNameLen = 200

// ValidateAppName checks an app's name: not blank, at most MaxAppNameLen characters. It
// returns an *Error with code EINVALID naming the rule broken.
func ValidateAppName(name string) error {
	if strings.TrimSpace(name) == "" {
		return Errorf(EINVALID, "name is required.")
	}
	if utf8.RuneCountInString(name) > MaxAppNameLen {
		return Errorf(EINVALID, "name must be at most %d characters.", MaxAppNameLen)
	}
	return nil
}

// AppSettings are an app's attribution and ingestion settings. The zero value is not valid:
// start from DefaultAppSettings.
type AppSettings struct {
	ClickLookbackDays       int      `json:"click_lookback_days"`
	ViewLookbackHours       int      `json:"view_lookback_hours"`
	FingerprintWindowHours  int      `json:"fingerprint_window_hours"`
	FingerprintEnabled      bool     `json:"fingerprint_enabled"`
	ReattributionWindowDays int      `json:"reattribution_window_days"`
	MinCTITSeconds          int      `json:"min_ctit_seconds"`
	IPBlocklist             []string `json:"ip_blocklist"`
	RequireSignature        bool     `json:"require_signature"`
	RateLimitPerSecond      int      `json:"rate_limit_per_second"` // events per second; 0: no limit
	MaxEventAgeDays         int      `json:"max_event_age_days"`
	ReportingCurrency       string   `json:"reporting_currency"` // ISO 4217: reports' money is in it
	Timezone                string   `json:"timezone"`           // IANA name: reports' days are its calendar days
	// AppStoreID is the app's App Store id, which SKAdNetwork postbacks name in app-id
	// (SKAN.md); unique across the server; 0: none.
	AppStoreID int64 `json:"app_store_id"`
	// SKANAcceptDevelopment counts AdAttributionKit's development postbacks in reports.
	SKANAcceptDevelopment bool `json:"skan_accept_development"`
	// InactivityDays is how long a device must have been silent for a new click to
	// re-engage it (ATTRIBUTION.md, re-engagement); 0: no re-engagement.
	InactivityDays int `json:"inactivity_days"`
	// BlockDatacenterIPs rejects touchpoints from, or installs at, a cloud provider's
	// address (datacenter_ip); the ranges are those `unmogrowp iplists import` loaded.
	BlockDatacenterIPs bool `json:"block_datacenter_ips"`
	// ClickFloodThreshold rejects a fingerprint-only click whose media source and site
	// sent more clicks than this from the install's address in the click lookback window
	// (click_flood); 0: off.
	ClickFloodThreshold int `json:"click_flood_threshold"`
	// MaxCTITHours rejects a touchpoint more than this many hours before the install
	// (ctit_anomaly); 0: off.
	MaxCTITHours int `json:"max_ctit_hours"`

	// Universal Links and App Links (docs/links.md): what the ingestion listener's
	// apple-app-site-association and assetlinks.json say of the app. IOSBundleID ""
	// stands for the app's BundleID.
	IOSTeamID                 string   `json:"ios_team_id"`
	IOSBundleID               string   `json:"ios_bundle_id"`
	AndroidPackage            string   `json:"android_package"`
	AndroidSHA256Fingerprints []string `json:"android_sha256_fingerprints"`
}

// DefaultAppSettings returns the defaults of ATTRIBUTION.md and the HTTP contract.
func DefaultAppSettings() AppSettings {
	return AppSettings{
		ClickLookbackDays:       7,
		ViewLookbackHours:       24,
		FingerprintWindowHours:  24,
		FingerprintEnabled:      true,
		ReattributionWindowDays: 90,
		MinCTITSeconds:          10,
		IPBlocklist:             []string{},
		MaxEventAgeDays:         30,
		ReportingCurrency:       "USD",
		InactivityDays:          7,
		BlockDatacenterIPs:      true,

		AndroidSHA256Fingerprints: []string{},
		Timezone:                  "UTC",
	}
}

// MaxAppStoreID is the largest App Store id a setting takes: what JSON numbers hold exactly.
const MaxAppStoreID = 1<<53 - 1

// Clone returns a copy of s that shares no slice or map with it. A field of a reference
// type added to AppSettings must be copied here: caches hand out clones.
func (s AppSettings) Clone() AppSettings {
	s.IPBlocklist = slices.Clone(s.IPBlocklist)
	s.AndroidSHA256Fingerprints = slices.Clone(s.AndroidSHA256Fingerprints)
	return s
}

// MaxEventAge is how old an event's timestamp may be when it arrives.
func (s AppSettings) MaxEventAge() time.Duration {
	return time.Duration(s.MaxEventAgeDays) * 24 * time.Hour
}

// Validate checks every setting against its range and returns an *Error with code EINVALID
// that names the first setting out of range.
func (s AppSettings) Validate() error {
	for _, r := range []struct {
		name     string
		v        int
		min, max int
	}{
		{"click_lookback_days", s.ClickLookbackDays, 1, 30},
		{"view_lookback_hours", s.ViewLookbackHours, 1, 168},
		{"fingerprint_window_hours", s.FingerprintWindowHours, 1, 24},
		{"reattribution_window_days", s.ReattributionWindowDays, 1, 730},
		{"min_ctit_seconds", s.MinCTITSeconds, 0, 3600},
		{"rate_limit_per_second", s.RateLimitPerSecond, 0, 10_000_000},
		{"max_event_age_days", s.MaxEventAgeDays, 1, 3650},
		{"inactivity_days", s.InactivityDays, 0, 365},
	} {
		if r.v < r.min || r.v > r.max {
			return Errorf(EINVALID, "settings.%s must be between %d and %d.", r.name, r.min, r.max)
		}
	}
	for _, r := range []struct {
		name     string
		v        int
		min, max int
	}{
		{"click_flood_threshold", s.ClickFloodThreshold, 2, 1000},
		{"max_ctit_hours", s.MaxCTITHours, 1, 720},
	} {
		if r.v != 0 && (r.v < r.min || r.v > r.max) {
			return Errorf(EINVALID, "settings.%s must be 0 (off) or between %d and %d.", r.name, r.min, r.max)
		}
	}
	for _, c := range s.IPBlocklist {
		if _, err := netip.ParsePrefix(c); err != nil {
			if _, err := netip.ParseAddr(c); err != nil {
				return Errorf(EINVALID, "settings.ip_blocklist: %q is not a CIDR or IP address.", c)
			}
		}
	}
	if _, err := ValidCurrency(s.ReportingCurrency); err != nil || s.ReportingCurrency != strings.ToUpper(s.ReportingCurrency) {
		return Errorf(EINVALID, "settings.reporting_currency must be an ISO 4217 currency code in capitals, such as USD.")
	}
	if _, err := LoadZone(s.Timezone); err != nil {
		return Errorf(EINVALID, "settings.timezone must be an IANA time zone name, such as UTC or Europe/Paris.")
	}
	if s.AppStoreID < 0 || s.AppStoreID > MaxAppStoreID {
		return Errorf(EINVALID, "settings.app_store_id must be an App Store id, from 1 to %d, or 0 for none.", int64(MaxAppStoreID))
	}
	return s.validateAppLinks()
}

// Formats of the Universal Links and App Links settings: Apple's team id (the application
// identifier prefix) and bundle id (CFBundleIdentifier: letters, digits, hyphens and
// periods), Android's application id (two or more segments, each a letter then letters,
// digits or underscores), and a SHA-256 certificate fingerprint as keytool prints it.
var (
	iosTeamIDFormat      = regexp.MustCompile(`^[A-Z0-9]{10}$`)
	iosBundleIDFormat    = regexp.MustCompile(`^[A-Za-z0-9.-]{1,155}$`)
	androidPackageFormat = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
	sha256Fingerprint    = regexp.MustCompile(`^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$`)
)

// MaxAndroidFingerprints bounds android_sha256_fingerprints: an app has a signing
// certificate or a few (upload, Play app signing, debug builds).
const MaxAndroidFingerprints = 20

// validateAppLinks checks the Universal Links and App Links settings; "" is allowed for
// each (none).
func (s AppSettings) validateAppLinks() error {
	switch {
	case s.IOSTeamID != "" && !iosTeamIDFormat.MatchString(s.IOSTeamID):
		return Errorf(EINVALID, "settings.ios_team_id must be Apple's 10-character team id, capital letters and digits (ABCDE12345).")
	case s.IOSBundleID != "" && !iosBundleIDFormat.MatchString(s.IOSBundleID):
		return Errorf(EINVALID, "settings.ios_bundle_id must be a bundle id of letters, digits, hyphens and periods (com.example.game).")
	case len(s.AndroidPackage) > 255 || (s.AndroidPackage != "" && !androidPackageFormat.MatchString(s.AndroidPackage)):
		return Errorf(EINVALID, "settings.android_package must be an Android application id such as com.example.game.")
	case len(s.AndroidSHA256Fingerprints) > MaxAndroidFingerprints:
		return Errorf(EINVALID, "settings.android_sha256_fingerprints holds at most %d fingerprints.", MaxAndroidFingerprints)
	}
	for _, f := range s.AndroidSHA256Fingerprints {
		if !sha256Fingerprint.MatchString(f) {
			return Errorf(EINVALID, "settings.android_sha256_fingerprints: %q is not a SHA-256 fingerprint of 32 colon-separated hex bytes (14:6D:E9:...).", f[:min(len(f), 120)])
		}
	}
	return nil
}

// IOSAppID is the app's application identifier for apple-app-site-association,
// "<team id>.<bundle id>" (ios_bundle_id, else bundle_id), and false when the app has no
// ios_team_id or no bundle id to go with it.
func (a *App) IOSAppID() (string, bool) {
	bundle := a.Settings.IOSBundleID
	if bundle == "" {
		bundle = a.BundleID
	}
	if a.Settings.IOSTeamID == "" || !iosBundleIDFormat.MatchString(bundle) {
		return "", false
	}
	return a.Settings.IOSTeamID + "." + bundle, true
}

// Location returns the settings' time zone (Timezone), UTC if it is not a valid one
// (Validate refuses that).
func (s AppSettings) Location() *time.Location {
	loc, err := LoadZone(s.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// LoadZone returns the time zone of an IANA name from Go's time zone database (which the
// binary embeds, so that it does not depend on the host's). It refuses "" and "Local",
// which time.LoadLocation takes for UTC and the host's zone, with an EINVALID *Error.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, Errorf(EINVALID, "%q is not an IANA time zone name.", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Errorf(EINVALID, "%q is not an IANA time zone name.", name)
	}
	return loc, nil
}

// KeyKind tells which of an app's keys authenticated a request.
type KeyKind int

// The kinds of app key.
const (
	SDKKey    KeyKind = iota + 1 // public, X-App-Key
	ServerKey                    // secret, X-Api-Key
)

// NewAppKeys are the secrets made for a new app. ServerKey is shown once and then only its
// hash is kept.
type NewAppKeys struct {
	SDKKey        string
	ServerKey     string
	SigningSecret string
}

// AppStore keeps apps and their keys: the part of the metadata store that ingestion needs.
type AppStore interface {
	// CreateApp stores a new app, filling its ID, keys and CreatedAt, and returns the keys
	// with the plain server key (the only time it is seen). Returns EINVALID for invalid
	// settings, or an OwnerID that is not "" and names no user (in a store that keeps
	// users).
	CreateApp(ctx context.Context, app *App) (NewAppKeys, error)

	// App returns the app with the id. Returns ENOTFOUND if there is none.
	App(ctx context.Context, id string) (*App, error)

	// AppByKey returns the app that the key belongs to and which of its keys it is. A server
	// key is compared by its hash in constant time. Returns EUNAUTHORIZED if no app has it.
	AppByKey(ctx context.Context, key string, kind KeyKind) (*App, error)

	// Apps lists apps, oldest first; ownerID "" lists every app.
	Apps(ctx context.Context, ownerID string) ([]*App, error)

	// UpdateApp replaces the app's name, URLs and settings. Returns ENOTFOUND if there is
	// none, EINVALID for invalid settings, ECONFLICT for an app_store_id another app
	// claims.
	UpdateApp(ctx context.Context, app *App) error

	// RotateServerKey replaces the app's server key and returns the new plain one.
	// Returns ENOTFOUND if there is no such app.
	RotateServerKey(ctx context.Context, id string) (string, error)

	// DeleteApp removes the app. Returns ENOTFOUND if there is none.
	DeleteApp(ctx context.Context, id string) error
}
