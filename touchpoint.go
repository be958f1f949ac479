package unmogrowp

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// Touchpoint types.
const (
	TouchClick      = "click"
	TouchImpression = "impression"
)

// RecordTouchpoint is the record kind of a Touchpoint, encoded by EncodeTouchpointRecord.
const RecordTouchpoint byte = 2

// Touchpoint is a click or an impression of an app, from a tracking link (/c/, /i/) or from
// POST /v1/touchpoints, as kept in the log, the analytics store and the hot-state index.
// Times are UTC; a zero time means absent.
type Touchpoint struct {
	// Where the touchpoint sits in the log, as for Event.
	Partition int32
	Offset    int64

	ID     string // our touchpoint id: the click_id of the install referrer
	AppID  string
	Type   string // TouchClick or TouchImpression
	LinkID string

	MediaSource string
	Campaign    string
	Adset       string
	Ad          string
	SiteID      string
	Channel     string
	ClickID     string // the network's own click id, echoed in postbacks

	Time       time.Time // touch time
	ReceivedAt time.Time // when ingestion accepted it

	// What the clicking device revealed.
	IP        string
	UserAgent string
	IDFA      string
	GAID      string
	AndroidID string
	DeviceID  string

	DeepLinkValue string
	Sub           [5]string // sub1..sub5 of the tracking link's query

	// What the touch cost the advertiser (docs/cost.md): CostModel is CostCPI, CostCPC,
	// CostCPM, or "" for no cost (then CostValue is 0 and CostCurrency ""); CostValue is
	// per install, per click or per thousand impressions, in CostCurrency.
	CostModel    string
	CostValue    float64
	CostCurrency string
	// ThirdPartySharing is the consent of the touchpoint's device (DeviceID) to be sent to
	// ad networks, when the touchpoint carries it; nil when it does not. As an event's, a
	// false marks the device until a later true (DATA.md, "Consent").
	ThirdPartySharing *bool
	// Opened marks a click recorded by POST /v1/deeplinks: the app, installed, was opened
	// by the link (a Universal Link or an App Link), so the click is also the device's
	// return (a re-engagement when the device was dormant, ATTRIBUTION.md). The log record
	// carries it; the stores do not.
	Opened bool
}

// Limits on touchpoints, from the HTTP contract.
const (
	MaxTouchpointFieldLen = maxShortFieldLen // every string field but device_id and user_agent
	MaxUserAgentLen       = 1024
	MaxTouchpointBatch    = 1000 // touchpoints in one POST /v1/touchpoints
)

// ApplyLink makes tp a touchpoint of the link: it sets LinkID and AppID, and fills each of
// media source, campaign, adset, ad, site id, channel and deep link value that tp leaves
// empty with the link's. What tp already has wins: the link only gives defaults.
func (tp *Touchpoint) ApplyLink(l *Link) {
	tp.LinkID, tp.AppID = l.ID, l.AppID
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&tp.MediaSource, l.MediaSource}, {&tp.Campaign, l.Campaign}, {&tp.Adset, l.Adset},
		{&tp.Ad, l.Ad}, {&tp.SiteID, l.SiteID}, {&tp.Channel, l.Channel},
		{&tp.DeepLinkValue, l.DeepLinkValue},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
}

// Validate checks a touchpoint against the contract's rules, given the time it was received
// and how old a touch may be (the app's max_event_age_days), after its link's defaults are
// applied (ApplyLink). It lower-cases the type, clears all-zero device ids and fills the
// defaults (touch time = receive time). Ids and names (every string but user_agent) must be
// UTF-8 without control characters (ValidateName), user_agent UTF-8. It returns an *Error
// with code EINVALID that names the offending field.
func (tp *Touchpoint) Validate(now time.Time, maxAge time.Duration) error {
	switch tp.Type = strings.ToLower(tp.Type); tp.Type {
	case TouchClick, TouchImpression:
	case "":
		return Errorf(EINVALID, "type is required: click or impression.")
	default:
		return Errorf(EINVALID, "type must be click or impression.")
	}
	for _, f := range []struct{ name, v string }{
		{"link_id", tp.LinkID}, {"media_source", tp.MediaSource}, {"campaign", tp.Campaign},
		{"adset", tp.Adset}, {"ad", tp.Ad}, {"site_id", tp.SiteID}, {"channel", tp.Channel},
		{"click_id", tp.ClickID}, {"ip", tp.IP}, {"idfa", tp.IDFA}, {"gaid", tp.GAID},
		{"android_id", tp.AndroidID}, {"deep_link_value", tp.DeepLinkValue},
		{"sub1", tp.Sub[0]}, {"sub2", tp.Sub[1]}, {"sub3", tp.Sub[2]}, {"sub4", tp.Sub[3]},
		{"sub5", tp.Sub[4]},
	} {
		if len(f.v) > MaxTouchpointFieldLen {
			return Errorf(EINVALID, "%s must be at most %d characters.", f.name, MaxTouchpointFieldLen)
		}
		if err := ValidateName(f.name, f.v); err != nil {
			return err
		}
	}
	switch {
	case tp.MediaSource == "":
		return Errorf(EINVALID, "media_source is required without link_id.")
	case len(tp.DeviceID) > MaxDeviceIDLen:
		return Errorf(EINVALID, "device_id must be at most %d characters.", MaxDeviceIDLen)
	case len(tp.UserAgent) > MaxUserAgentLen:
		return Errorf(EINVALID, "user_agent must be at most %d characters.", MaxUserAgentLen)
	}
	if err := ValidateName("device_id", tp.DeviceID); err != nil {
		return err
	}
	if err := ValidateText("user_agent", tp.UserAgent); err != nil {
		return err
	}
	if err := tp.ValidateCost(); err != nil {
		return err
	}
	if tp.IP != "" {
		if _, err := netip.ParseAddr(tp.IP); err != nil {
			return Errorf(EINVALID, "ip is not an IP address.")
		}
	}
	if tp.Time.IsZero() {
		tp.Time = now
	}
	if tp.Time.After(now.Add(MaxFutureSkew)) {
		return Errorf(EINVALID, "timestamp is more than 10 minutes in the future.")
	}
	if maxAge > 0 && tp.Time.Before(now.Add(-maxAge)) {
		return Errorf(EINVALID, "timestamp is older than the app's max_event_age_days.")
	}
	for _, id := range []*string{&tp.IDFA, &tp.GAID, &tp.AndroidID, &tp.DeviceID} {
		if IsZeroID(*id) {
			*id = ""
		}
	}
	tp.Time = tp.Time.UTC()
	tp.ReceivedAt = now.UTC()
	return nil
}

// EncodeTouchpointRecord appends the log record of tp to b and returns the extended slice.
// The encoding follows EncodeEventRecord's: first byte RecordTouchpoint, strings as
// length-prefixed bytes, times as varint microseconds since the Unix epoch (0: absent).
// Partition and Offset are not part of it.
//
// Two optional sections, added later, follow the rest in this order. The cost, only when
// CostModel is set: the byte touchpointCost, the model and the currency as strings, the
// value as 8 bytes (IEEE 754, little endian). Then ThirdPartySharing, only when set: the
// byte touchpointSharingFalse or touchpointSharingTrue. Then Opened, only when true: the
// byte touchpointOpened. A touchpoint with none is byte for byte what the encoding was
// before, and every record written before decodes as it did.
func EncodeTouchpointRecord(b []byte, tp *Touchpoint) []byte {
	b = append(b, RecordTouchpoint)
	b = appendStrings(b, tp.stringFields())
	b = appendTime(b, tp.Time)
	b = appendTime(b, tp.ReceivedAt)
	if tp.CostModel != "" {
		b = append(b, touchpointCost)
		b = appendStrings(b, []*string{&tp.CostModel, &tp.CostCurrency})
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(tp.CostValue))
	}
	switch {
	case tp.ThirdPartySharing == nil:
	case *tp.ThirdPartySharing:
		b = append(b, touchpointSharingTrue)
	default:
		b = append(b, touchpointSharingFalse)
	}
	if tp.Opened {
		b = append(b, touchpointOpened)
	}
	return b
}

// The bytes that start the optional sections of a touchpoint record: its cost, and its
// ThirdPartySharing (the whole section: false or true).
const (
	touchpointCost         byte = 1
	touchpointSharingFalse byte = 3
	touchpointSharingTrue  byte = 4
	touchpointOpened       byte = 5
)

// DecodeTouchpointRecord decodes a record made by EncodeTouchpointRecord into tp. It returns
// an error wrapping ErrCorruptRecord for anything else, and never panics. Strings in tp are
// copies: they do not alias b. Partition and Offset are left as they are.
func DecodeTouchpointRecord(b []byte, tp *Touchpoint) error {
	d := decoder{b: b}
	if kind := d.byte(); kind != RecordTouchpoint {
		return errors.Join(ErrCorruptRecord, errors.New("not a touchpoint record"))
	}
	d.strings(tp.stringFields())
	tp.Time = d.time()
	tp.ReceivedAt = d.time()
	tp.CostModel, tp.CostValue, tp.CostCurrency = "", 0, ""
	tp.ThirdPartySharing = nil
	tp.Opened = false
	if d.err == nil && len(d.b) > 0 && d.b[0] == touchpointCost {
		d.byte()
		d.strings([]*string{&tp.CostModel, &tp.CostCurrency})
		tp.CostValue = math.Float64frombits(d.uint64())
		if d.err == nil && (tp.CostModel == "" || !(tp.CostValue >= 0 && tp.CostValue <= MaxCost)) { // ingestion never writes these
			d.fail()
		}
	}
	if d.err == nil && len(d.b) > 0 && (d.b[0] == touchpointSharingFalse || d.b[0] == touchpointSharingTrue) {
		tp.ThirdPartySharing = new(d.byte() == touchpointSharingTrue)
	}
	if d.err == nil && len(d.b) > 0 {
		if d.byte() != touchpointOpened {
			d.fail()
		}
		tp.Opened = true
	}
	return d.finish()
}

// stringFields lists tp's string fields in their order in the encoding. Appending a field
// here changes the encoding: add a record kind when you do.
func (tp *Touchpoint) stringFields() []*string {
	return []*string{
		&tp.ID, &tp.AppID, &tp.Type, &tp.LinkID, &tp.MediaSource, &tp.Campaign, &tp.Adset,
		&tp.Ad, &tp.SiteID, &tp.Channel, &tp.ClickID, &tp.IP, &tp.UserAgent, &tp.IDFA,
		&tp.GAID, &tp.AndroidID, &tp.DeviceID, &tp.DeepLinkValue,
		&tp.Sub[0], &tp.Sub[1], &tp.Sub[2], &tp.Sub[3], &tp.Sub[4],
	}
}

// Match types: the waterfall level that decided an install (ATTRIBUTION.md).
const (
	MatchReferrer               = "referrer"
	MatchDeviceID               = "device_id"
	MatchFingerprint            = "fingerprint"
	MatchViewThroughDeviceID    = "view_through_device_id"
	MatchViewThroughFingerprint = "view_through_fingerprint"
	MatchOrganic                = "organic"
	// MatchRejected is an install whose only candidates were invalid: neither organic
	// nor attributed (ATTRIBUTION.md); its media source is MediaSourceRejected.
	MatchRejected = "rejected"
)

// Kinds of reinstalls and re-attributions (Attribution.ReattributionKind).
const (
	// ReattributionReinstall: a later install event of a device that has an install.
	ReattributionReinstall = "reinstall"
	// ReattributionReengagement: a dormant device came back through a click
	// (inactivity_days).
	ReattributionReengagement = "reengagement"
)

// IsReengagement reports whether a is a re-engagement of a dormant device.
func (a *Attribution) IsReengagement() bool {
	return a.ReattributionKind == ReattributionReengagement
}

// MediaSourceOrganic is the media source of an organic install.
const MediaSourceOrganic = "organic"

// MediaSourceRejected is the media source of a rejected install (MatchRejected).
const MediaSourceRejected = "rejected"

// Reasons a touchpoint is rejected instead of winning an install.
const (
	RejectClickInjection = "click_injection" // CTIT < min_ctit_seconds, or touched after install_begin_ts
	RejectBlockedIP      = "blocked_ip"      // the touchpoint's IP is in the app's ip_blocklist
	RejectDatacenterIP   = "datacenter_ip"   // the touchpoint's or the install's IP is a cloud provider's (block_datacenter_ips)
	RejectCTITAnomaly    = "ctit_anomaly"    // CTIT above max_ctit_hours
	RejectClickFlood     = "click_flood"     // a fingerprint-only click of a source that flooded the install's IP (click_flood_threshold)
)

// RejectReasons lists the rejection reasons in the order the engine checks them: a
// touchpoint invalid for several reasons is listed with the first.
var RejectReasons = []string{RejectClickInjection, RejectBlockedIP, RejectDatacenterIP, RejectCTITAnomaly, RejectClickFlood}

// IsRejectedInstall reports whether a is a rejected install: not attributed, with
// rejected touchpoints. A decision stored before MatchRejected existed says organic there.
func (a *Attribution) IsRejectedInstall() bool {
	return !a.Attributed && len(a.Rejected) > 0
}

// Attribution is the decision about one install: which touchpoint caused it, or organic.
// Its JSON form is the attribution object of API.md: every key is always present; times
// are RFC 3339 UTC strings with as many fractional digits as they need (none for whole
// seconds); a zero time is "" (touch_time of an organic install); rejected is [] when
// empty, never null.
//
// A reinstall (IsReinstall) keeps the touch fields of the attribution it had, including
// CTITSeconds measured against the install that was attributed; InstallEventID and
// InstallTime are the reinstall's.
//
// A re-engagement (ReattributionKind ReattributionReengagement) is the decision a dormant
// device's returning event made (ATTRIBUTION.md, re-engagement): InstallEventID and
// InstallTime are that event's (or, for an app opened by a link, POST /v1/deeplinks, the
// open's touchpoint id and time), IsReattribution is true, and it is not an install.
type Attribution struct {
	AppID          string
	DeviceID       string
	InstallEventID string
	InstallTime    time.Time

	Attributed    bool
	MatchType     string // one of the Match constants
	TouchType     string // TouchClick, TouchImpression, or "" for organic
	TouchpointID  string
	TouchTime     time.Time
	MediaSource   string // MediaSourceOrganic for organic
	Campaign      string
	Adset         string
	Ad            string
	SiteID        string
	Channel       string
	ClickID       string // the network's click id of the winning touchpoint
	DeepLinkValue string
	CTITSeconds   int64 // install time minus touch time, whole seconds (rounded down)

	IsReinstall     bool
	IsReattribution bool
	// ReattributionKind says which path made a reinstall or a re-attribution:
	// ReattributionReinstall for a later install event of the device (IsReinstall or
	// IsReattribution), ReattributionReengagement for a dormant device's return; "" for a
	// new install.
	ReattributionKind string
	Rejected          []Rejection

	// NoSharing is set when the device must not be sent to ad networks: its latest
	// statement of third_party_sharing (on an event or a touchpoint) was false (DATA.md,
	// "Consent"). It is the device's, not the decision's: the stores of decisions do not
	// keep it, and who shows an attribution sets it from the ConsentStore. The attribution
	// object shows its negation as third_party_sharing.
	NoSharing bool
}

// Rejection is a touchpoint that matched an install but was invalid.
type Rejection struct {
	TouchpointID string `json:"touchpoint_id"`
	MediaSource  string `json:"media_source"`
	Reason       string `json:"reason"` // one of RejectReasons
}

// attributionJSON is the wire shape of Attribution.
type attributionJSON struct {
	AppID           string `json:"app_id"`
	DeviceID        string `json:"device_id"`
	InstallEventID  string `json:"install_event_id"`
	InstallTime     string `json:"install_time"`
	Attributed      bool   `json:"attributed"`
	MatchType       string `json:"match_type"`
	TouchType       string `json:"touch_type"`
	TouchpointID    string `json:"touchpoint_id"`
	TouchTime       string `json:"touch_time"`
	MediaSource     string `json:"media_source"`
	Campaign        string `json:"campaign"`
	Adset           string `json:"adset"`
	Ad              string `json:"ad"`
	SiteID          string `json:"site_id"`
	Channel         string `json:"channel"`
	ClickID         string `json:"click_id"`
	DeepLinkValue   string `json:"deep_link_value"`
	CTITSeconds     int64  `json:"ctit_seconds"`
	IsReinstall     bool   `json:"is_reinstall"`
	IsReattribution bool   `json:"is_reattribution"`
	// ReattributionKind is "reinstall", "reengagement" or "".
	ReattributionKind string      `json:"reattribution_kind"`
	Rejected          []Rejection `json:"rejected"`
	// ThirdPartySharing is !NoSharing; absent (nil) when decoding means true.
	ThirdPartySharing *bool `json:"third_party_sharing"`
}

// MarshalJSON encodes a as the attribution object of API.md.
func (a Attribution) MarshalJSON() ([]byte, error) {
	rej := a.Rejected
	if rej == nil {
		rej = []Rejection{}
	}
	return json.Marshal(attributionJSON{
		AppID: a.AppID, DeviceID: a.DeviceID, InstallEventID: a.InstallEventID,
		InstallTime: formatAPITime(a.InstallTime), Attributed: a.Attributed,
		MatchType: a.MatchType, TouchType: a.TouchType, TouchpointID: a.TouchpointID,
		TouchTime: formatAPITime(a.TouchTime), MediaSource: a.MediaSource, Campaign: a.Campaign,
		Adset: a.Adset, Ad: a.Ad, SiteID: a.SiteID, Channel: a.Channel, ClickID: a.ClickID,
		DeepLinkValue: a.DeepLinkValue, CTITSeconds: a.CTITSeconds,
		IsReinstall: a.IsReinstall, IsReattribution: a.IsReattribution,
		ReattributionKind: a.ReattributionKind, Rejected: rej,
		ThirdPartySharing: new(!a.NoSharing),
	})
}

// UnmarshalJSON decodes the attribution object of API.md, as MarshalJSON writes it.
func (a *Attribution) UnmarshalJSON(b []byte) error {
	var j attributionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	installTime, err := parseAPITime(j.InstallTime)
	if err != nil {
		return fmt.Errorf("install_time: %w", err)
	}
	touchTime, err := parseAPITime(j.TouchTime)
	if err != nil {
		return fmt.Errorf("touch_time: %w", err)
	}
	rej := j.Rejected
	if len(rej) == 0 {
		rej = nil
	}
	*a = Attribution{
		AppID: j.AppID, DeviceID: j.DeviceID, InstallEventID: j.InstallEventID,
		InstallTime: installTime, Attributed: j.Attributed, MatchType: j.MatchType,
		TouchType: j.TouchType, TouchpointID: j.TouchpointID, TouchTime: touchTime,
		MediaSource: j.MediaSource, Campaign: j.Campaign, Adset: j.Adset, Ad: j.Ad,
		SiteID: j.SiteID, Channel: j.Channel, ClickID: j.ClickID,
		DeepLinkValue: j.DeepLinkValue, CTITSeconds: j.CTITSeconds,
		IsReinstall: j.IsReinstall, IsReattribution: j.IsReattribution,
		ReattributionKind: j.ReattributionKind, Rejected: rej,
		NoSharing: j.ThirdPartySharing != nil && !*j.ThirdPartySharing,
	}
	return nil
}

func formatAPITime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseAPITime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
