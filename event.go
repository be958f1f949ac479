package unmogrowp

import (
	"encoding/json"
	"math"
	"strings"
	"time"
)

// Event types the engine gives a meaning to. Any other non-empty name is a custom event.
const (
	EventInstall = "install"
	EventSession = "session"
)

// Limits on events, from the HTTP contract.
const (
	MaxEventTypeLen  = 64
	MaxDeviceIDLen   = 128
	MaxEventIDLen    = 64
	MaxFutureSkew    = 10 * time.Minute // an event time further ahead than this is rejected
	MaxEventBytes    = 64 << 10         // one event's JSON
	MaxBatchBytes    = 5 << 20          // one batch request's body
	MaxBatchEvents   = 1000             // events in one batch
	DedupWindow      = 7 * 24 * time.Hour
	maxShortFieldLen = 256
)

// MaxRevenue bounds the size of one event's revenue, in any currency: ingestion refuses an
// event whose revenue is not finite or is above MaxRevenue or below -MaxRevenue (negative
// revenue is a refund). The reports count a stored revenue beyond the bound as the bound
// and a stored NaN as 0 (see Reports), so that no sum of them can overflow: 2^63 events of
// MaxRevenue add up to about 9.2e27, far from the largest float64.
const MaxRevenue = 1e9

// Platforms an event or a touchpoint may name.
const (
	PlatformIOS     = "ios"
	PlatformAndroid = "android"
	PlatformWeb     = "web"
	PlatformOther   = "other"
)

// Event is one thing that happened in an app, as accepted by ingestion and kept in the log
// and the analytics store. Times are UTC; a zero time means absent.
type Event struct {
	// Where the event sits in the log; set by the log reader, stored with the event so the
	// pipeline can tell after a crash what the store already has.
	Partition int32
	Offset    int64

	EventID    string
	AppID      string
	EventType  string
	DeviceID   string
	UserID     string
	SessionID  string
	Timestamp  time.Time // event time (for installs: first open)
	ReceivedAt time.Time // when ingestion accepted it

	Platform    string
	OSVersion   string
	AppVersion  string
	DeviceModel string
	Country     string
	Language    string

	IDFA      string
	GAID      string
	IDFV      string
	AndroidID string
	ATTStatus string

	InstallReferrer string
	InstallBeginAt  time.Time

	Revenue    float64
	HasRevenue bool
	Currency   string

	IP        string
	UserAgent string

	Attribution json.RawMessage // what the client already knew, kept as sent
	EventData   json.RawMessage // custom properties, kept as sent

	// ThirdPartySharing is the device's consent to be sent to ad networks, when the event
	// carries it (DATA.md, "Consent"); nil when it does not. An event with false is never
	// sent to a network (postbacks); webhooks, to the advertiser, still get it.
	ThirdPartySharing *bool

	// Set by the pipeline: the attribution of the event's device when it was processed.
	// Empty MediaSource means organic.
	MediaSource string
	Campaign    string
}

// NormalizeEventType maps the seed's aliases to the canonical names (app_install → install,
// app_open → session) and leaves every other name as it is.
func NormalizeEventType(t string) string {
	switch t {
	case "app_install":
		return EventInstall
	case "app_open":
		return EventSession
	}
	return t
}

// NormalizePlatform lower-cases a platform name; it returns "" and false for a name that is
// not one of ios, android, web, other.
func NormalizePlatform(p string) (string, bool) {
	switch p = strings.ToLower(p); p {
	case "", PlatformIOS, PlatformAndroid, PlatformWeb, PlatformOther:
		return p, true
	}
	return "", false
}

// IsZeroID reports whether an advertising or vendor id is absent: empty, or made only of
// zeros and dashes (what iOS answers without tracking consent).
func IsZeroID(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] != '0' && id[i] != '-' {
			return false
		}
	}
	return true
}

// Validate checks an event against the contract's rules, given the time it was received and
// how old an event may be (the app's max_event_age_days). It normalises the event type and
// platform, clears all-zero device ids and fills the defaults (timestamp = receive time).
// Ids and names (every string but user_agent and install_referrer) must be UTF-8 without
// control characters (ValidateName), user_agent and install_referrer UTF-8; revenue must
// be finite and within ±MaxRevenue. It returns an *Error with code EINVALID that names the
// offending field.
func (e *Event) Validate(now time.Time, maxAge time.Duration) error {
	e.EventType = NormalizeEventType(e.EventType)
	switch {
	case e.EventType == "":
		return Errorf(EINVALID, "event_type is required.")
	case len(e.EventType) > MaxEventTypeLen:
		return Errorf(EINVALID, "event_type must be at most %d characters.", MaxEventTypeLen)
	case e.DeviceID == "":
		return Errorf(EINVALID, "device_id is required.")
	case len(e.DeviceID) > MaxDeviceIDLen:
		return Errorf(EINVALID, "device_id must be at most %d characters.", MaxDeviceIDLen)
	case len(e.EventID) > MaxEventIDLen:
		return Errorf(EINVALID, "event_id must be at most %d characters.", MaxEventIDLen)
	}
	p, ok := NormalizePlatform(e.Platform)
	if !ok {
		return Errorf(EINVALID, "platform must be one of ios, android, web, other.")
	}
	e.Platform = p
	for _, f := range []struct{ name, v string }{
		{"user_id", e.UserID}, {"session_id", e.SessionID}, {"os_version", e.OSVersion},
		{"app_version", e.AppVersion}, {"device_model", e.DeviceModel}, {"country", e.Country},
		{"language", e.Language}, {"idfa", e.IDFA}, {"gaid", e.GAID}, {"idfv", e.IDFV},
		{"android_id", e.AndroidID}, {"att_status", e.ATTStatus}, {"currency", e.Currency},
		{"ip", e.IP},
	} {
		if len(f.v) > maxShortFieldLen {
			return Errorf(EINVALID, "%s must be at most %d characters.", f.name, maxShortFieldLen)
		}
	}
	if err := e.validateText(); err != nil {
		return err
	}
	if e.HasRevenue && !(math.Abs(e.Revenue) <= MaxRevenue) { // NaN too
		return Errorf(EINVALID, "revenue must be a finite number from -%.0f to %.0f.", float64(MaxRevenue), float64(MaxRevenue))
	}
	if e.HasRevenue {
		e.Currency = strings.ToUpper(e.Currency)
		if len(e.Currency) != 3 || strings.IndexFunc(e.Currency, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
			return Errorf(EINVALID, "currency must be a three-letter ISO 4217 code when revenue is present.")
		}
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now
	}
	if e.Timestamp.After(now.Add(MaxFutureSkew)) {
		return Errorf(EINVALID, "timestamp is more than 10 minutes in the future.")
	}
	if maxAge > 0 && e.Timestamp.Before(now.Add(-maxAge)) {
		return Errorf(EINVALID, "timestamp is older than the app's max_event_age_days.")
	}
	for _, id := range []*string{&e.IDFA, &e.GAID, &e.IDFV, &e.AndroidID} {
		if IsZeroID(*id) {
			*id = ""
		}
	}
	e.Timestamp = e.Timestamp.UTC()
	e.ReceivedAt = now.UTC()
	return nil
}

// validateText checks the event's strings: ValidateName for ids and names, ValidateText
// for the user agent and the install referrer.
func (e *Event) validateText() error {
	for _, f := range [...]struct{ name, v string }{
		{"event_type", e.EventType}, {"device_id", e.DeviceID}, {"event_id", e.EventID},
		{"app_id", e.AppID}, {"user_id", e.UserID}, {"session_id", e.SessionID},
		{"os_version", e.OSVersion}, {"app_version", e.AppVersion}, {"device_model", e.DeviceModel},
		{"country", e.Country}, {"language", e.Language}, {"idfa", e.IDFA}, {"gaid", e.GAID},
		{"idfv", e.IDFV}, {"android_id", e.AndroidID}, {"att_status", e.ATTStatus},
		{"currency", e.Currency}, {"ip", e.IP},
	} {
		if err := ValidateName(f.name, f.v); err != nil {
			return err
		}
	}
	if err := ValidateText("install_referrer", e.InstallReferrer); err != nil {
		return err
	}
	return ValidateText("user_agent", e.UserAgent)
}
