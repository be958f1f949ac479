package ingest

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// wireEvent is an event as SDKs and servers send it (API.md, section 1).
type wireEvent struct {
	EventType       string                        `json:"event_type"`
	AppID           string                        `json:"app_id"`
	DeviceID        string                        `json:"device_id"`
	EventID         string                        `json:"event_id"`
	UserID          string                        `json:"user_id"`
	SessionID       string                        `json:"session_id"`
	Timestamp       wireTime[timestampField]      `json:"timestamp"`
	Platform        string                        `json:"platform"`
	OSVersion       string                        `json:"os_version"`
	AppVersion      string                        `json:"app_version"`
	DeviceModel     string                        `json:"device_model"`
	Country         string                        `json:"country"`
	Language        string                        `json:"language"`
	IDFA            string                        `json:"idfa"`
	GAID            string                        `json:"gaid"`
	IDFV            string                        `json:"idfv"`
	AndroidID       string                        `json:"android_id"`
	ATTStatus       string                        `json:"att_status"`
	InstallReferrer string                        `json:"install_referrer"`
	InstallBeginTS  wireTime[installBeginTSField] `json:"install_begin_ts"`
	Revenue         wireNumber                    `json:"revenue"`
	Currency        string                        `json:"currency"`
	IP              string                        `json:"ip"`
	UserAgent       string                        `json:"user_agent"`
	Attribution     json.RawMessage               `json:"attribution"`
	EventData       json.RawMessage               `json:"event_data"`
	// ThirdPartySharing is true, false, or absent (null too).
	ThirdPartySharing *bool `json:"third_party_sharing"`
}

// decodeEvent decodes one event object into e. The error is an *unmogrowp.Error with code
// EINVALID whose message names the field at fault.
func decodeEvent(raw []byte, e *unmogrowp.Event) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Each event must be a JSON object.")
	}
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return decodeError(err)
	}
	if err := httpserve.CheckJSONText(raw, "Each event", eventStringFields); err != nil {
		return err
	}
	if err := objectOrNil("attribution", &w.Attribution); err != nil {
		return err
	}
	if err := objectOrNil("event_data", &w.EventData); err != nil {
		return err
	}
	*e = unmogrowp.Event{
		EventID: w.EventID, AppID: w.AppID, EventType: w.EventType, DeviceID: w.DeviceID,
		UserID: w.UserID, SessionID: w.SessionID, Timestamp: w.Timestamp.t,
		Platform: w.Platform, OSVersion: w.OSVersion, AppVersion: w.AppVersion,
		DeviceModel: w.DeviceModel, Country: w.Country, Language: w.Language,
		IDFA: w.IDFA, GAID: w.GAID, IDFV: w.IDFV, AndroidID: w.AndroidID, ATTStatus: w.ATTStatus,
		InstallReferrer: w.InstallReferrer, InstallBeginAt: w.InstallBeginTS.t,
		Revenue: w.Revenue.v, HasRevenue: w.Revenue.set, Currency: w.Currency,
		IP: w.IP, UserAgent: w.UserAgent,
		Attribution: []byte(w.Attribution), EventData: []byte(w.EventData),
		ThirdPartySharing: w.ThirdPartySharing,
	}
	return checkDecodedEvent(e)
}

// objectOrNil checks the raw JSON value v of the field name: a JSON object, or absent or
// null, which it sets to nil. The error is EINVALID naming the field.
func objectOrNil(name string, v *json.RawMessage) error {
	*v = bytes.TrimSpace(*v)
	switch {
	case len(*v) == 0 || string(*v) == "null":
		*v = nil
	case (*v)[0] != '{':
		return unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be a JSON object.", name)
	}
	return nil
}

// checkDecodedEvent checks what decoding itself requires of an event that has been
// decoded: an ip that is an address, and a currency with revenue. Both decoders, this one
// and the fast one (fastdecode.go), run it last.
func checkDecodedEvent(e *unmogrowp.Event) error {
	if e.IP != "" {
		if _, err := netip.ParseAddr(e.IP); err != nil {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "ip is not an IP address.")
		}
	}
	if e.HasRevenue && e.Currency == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "currency is required when revenue is present.")
	}
	return nil
}

// decodeError turns a JSON decoding error into a sentence for the caller.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		return unmogrowp.Errorf(unmogrowp.EINVALID, "%s", fe.msg)
	case errors.As(err, &te) && te.Field != "":
		return unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be a %s.", te.Field, jsonKind(te.Type.Kind().String()))
	}
	return unmogrowp.Errorf(unmogrowp.EINVALID, "Body is not valid JSON.")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice":
		return "JSON array"
	case "float64", "int", "int64":
		return "number"
	case "bool":
		return "boolean"
	}
	return "JSON object"
}

// fieldError is returned by the custom field decoders; its message is shown as it is.
type fieldError struct{ msg string }

func (e *fieldError) Error() string { return e.msg }

// wireTime is a time of the field F names: unix seconds, unix milliseconds (values above
// 1e12), RFC 3339, or null (absent). A time is refused, naming the field, unless it falls
// in the range of times (httpserve.TimeRangeRule): so a present time is never the zero
// time, which means absent.
type wireTime[F fieldName] struct{ t time.Time }

// fieldName is a type that names a field: the type parameter of wireTime.
type fieldName interface{ name() string }

// The fields that take times.
type (
	timestampField      struct{}
	installBeginTSField struct{}
)

func (timestampField) name() string      { return "timestamp" }
func (installBeginTSField) name() string { return "install_begin_ts" }

// UnmarshalJSON implements json.Unmarshaler.
func (w *wireTime[F]) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		w.t = time.Time{}
		return nil
	}
	t, err := parseTime(b)
	var f F
	switch {
	case errors.Is(err, httpserve.ErrTimeRange):
		return &fieldError{f.name() + " is out of range: " + httpserve.TimeRangeRule}
	case err != nil:
		return &fieldError{f.name() + " must be unix seconds, unix milliseconds or an RFC 3339 time."}
	}
	w.t = t
	return nil
}

// parseTime parses a JSON number or string as unix seconds, unix milliseconds or RFC 3339.
// It returns httpserve.ErrTimeRange for a time out of the range of times.
func parseTime(b []byte) (time.Time, error) {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return time.Time{}, err
		}
		return httpserve.ParseTimeText(s)
	}
	return httpserve.ParseUnixTime(string(b))
}

// wireNumber accepts a JSON number, a numeric string, or null.
type wireNumber struct {
	v   float64
	set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (w *wireNumber) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*w = wireNumber{}
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	f, ok := parseRevenue(s)
	if !ok {
		return &fieldError{"revenue must be a number."}
	}
	*w = wireNumber{v: f, set: true}
	return nil
}

// parseRevenue parses the text of a JSON number, or of a JSON string, as revenue: a finite
// number, spaces around it allowed.
func parseRevenue(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// splitBatch returns the raw events of a batch body: {"events":[...]} or a bare array.
func splitBatch(body []byte) ([]json.RawMessage, error) {
	return splitList(body, "events", func(b *struct {
		List *[]json.RawMessage `json:"events"`
	}) *[]json.RawMessage {
		return b.List
	})
}

// splitTouchpoints returns the raw touchpoints of a POST /v1/touchpoints body:
// {"touchpoints":[...]} or, as for event batches, a bare array.
func splitTouchpoints(body []byte) ([]json.RawMessage, error) {
	return splitList(body, "touchpoints", func(b *struct {
		List *[]json.RawMessage `json:"touchpoints"`
	}) *[]json.RawMessage {
		return b.List
	})
}

// splitList returns the raw elements of a body that is a JSON array, or an object B whose
// array under field list returns. The struct keeps decoding to one pass over the body.
func splitList[B any](body []byte, field string, list func(*B) *[]json.RawMessage) ([]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	var elems []json.RawMessage
	switch {
	case len(body) > 0 && body[0] == '[':
		if err := json.Unmarshal(body, &elems); err != nil {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Body is not valid JSON.")
		}
	case len(body) > 0 && body[0] == '{':
		var b B
		if err := json.Unmarshal(body, &b); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be a JSON array.", field)
			}
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Body is not valid JSON.")
		}
		l := list(&b)
		if l == nil {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, `Body must be {"%s":[...]} or a JSON array of %s.`, field, field)
		}
		elems = *l
	default:
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Body is not valid JSON.")
	}
	return elems, nil
}

// wireTouchpoint is a touchpoint as servers and ad networks send it to POST
// /v1/touchpoints (API.md, section 1). sub1..sub5 are taken as on tracking links.
type wireTouchpoint struct {
	Type          string                   `json:"type"`
	LinkID        string                   `json:"link_id"`
	MediaSource   string                   `json:"media_source"`
	Campaign      string                   `json:"campaign"`
	Adset         string                   `json:"adset"`
	Ad            string                   `json:"ad"`
	SiteID        string                   `json:"site_id"`
	Channel       string                   `json:"channel"`
	ClickID       string                   `json:"click_id"`
	Timestamp     wireTime[timestampField] `json:"timestamp"`
	IP            string                   `json:"ip"`
	UserAgent     string                   `json:"user_agent"`
	IDFA          string                   `json:"idfa"`
	GAID          string                   `json:"gaid"`
	AndroidID     string                   `json:"android_id"`
	DeviceID      string                   `json:"device_id"`
	DeepLinkValue string                   `json:"deep_link_value"`
	Sub1          string                   `json:"sub1"`
	Sub2          string                   `json:"sub2"`
	Sub3          string                   `json:"sub3"`
	Sub4          string                   `json:"sub4"`
	Sub5          string                   `json:"sub5"`
	// The cost (cost.go), under its names and AppsFlyer's.
	CostModel      string        `json:"cost_model"`
	CostValue      wireCostValue `json:"cost_value"`
	CostCurrency   string        `json:"cost_currency"`
	AFCostModel    string        `json:"af_cost_model"`
	AFCostValue    wireCostValue `json:"af_cost_value"`
	AFCostCurrency string        `json:"af_cost_currency"`
	// ThirdPartySharing is true, false, or absent (null too).
	ThirdPartySharing *bool `json:"third_party_sharing"`
}

// decodeTouchpoint decodes one touchpoint object into tp, as sent: link defaults are not
// applied and nothing is validated (Touchpoint.ApplyLink, Touchpoint.Validate). The error
// is an *unmogrowp.Error with code EINVALID whose message names the field at fault.
func decodeTouchpoint(raw []byte, tp *unmogrowp.Touchpoint) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Each touchpoint must be a JSON object.")
	}
	var w wireTouchpoint
	if err := json.Unmarshal(raw, &w); err != nil {
		return decodeError(err)
	}
	if err := httpserve.CheckJSONText(raw, "Each touchpoint", touchpointStringFields); err != nil {
		return err
	}
	*tp = unmogrowp.Touchpoint{
		Type: w.Type, LinkID: w.LinkID, MediaSource: w.MediaSource, Campaign: w.Campaign,
		Adset: w.Adset, Ad: w.Ad, SiteID: w.SiteID, Channel: w.Channel, ClickID: w.ClickID,
		Time: w.Timestamp.t, IP: w.IP, UserAgent: w.UserAgent, IDFA: w.IDFA, GAID: w.GAID,
		AndroidID: w.AndroidID, DeviceID: w.DeviceID, DeepLinkValue: w.DeepLinkValue,
		Sub:               [5]string{w.Sub1, w.Sub2, w.Sub3, w.Sub4, w.Sub5},
		ThirdPartySharing: w.ThirdPartySharing,
	}
	value := w.CostValue
	if !value.set {
		value = w.AFCostValue
	}
	return setCost(tp, cmp.Or(w.CostModel, w.AFCostModel), value.s, cmp.Or(w.CostCurrency, w.AFCostCurrency), value.set)
}
