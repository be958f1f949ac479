package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// The decoder of Segment's HTTP Tracking API (docs/sdk.md, "Segment-compatible intake"):
// each call (track, identify, screen, page, group, alias) becomes one event of the same
// path as /v1/events takes.

// Limits of Segment's HTTP Tracking API, after decompression: a larger call or batch is
// refused with 400, as Segment does.
const (
	MaxSegmentCallBytes  = 32 << 10  // one call, alone or in a batch
	MaxSegmentBatchBytes = 500 << 10 // one /v1/batch or /v1/import body
	MaxSegmentBatchCalls = 2500      // calls in one batch, as Segment takes
)

// The event types of Segment's calls other than track.
const (
	segmentScreen   = "screen"
	segmentPage     = "page"
	segmentIdentify = "$identify"
	segmentGroup    = "$group"
	segmentAlias    = "$alias"
)

// segmentCall is one call of Segment's HTTP Tracking API, as its libraries send it. Fields
// this mapping has no use for (integrations, _metadata, channel...) are ignored.
type segmentCall struct {
	Type              string                              `json:"type"`
	MessageID         string                              `json:"messageId"`
	AnonymousID       segmentID                           `json:"anonymousId"`
	UserID            segmentID                           `json:"userId"`
	Event             string                              `json:"event"`
	Name              string                              `json:"name"`
	Category          string                              `json:"category"`
	GroupID           segmentID                           `json:"groupId"`
	PreviousID        segmentID                           `json:"previousId"`
	Properties        json.RawMessage                     `json:"properties"`
	Traits            json.RawMessage                     `json:"traits"`
	Context           segmentContext                      `json:"context"`
	Timestamp         segmentTime[timestampField]         `json:"timestamp"`
	OriginalTimestamp segmentTime[originalTimestampField] `json:"originalTimestamp"`
	SentAt            segmentTime[sentAtField]            `json:"sentAt"`
	WriteKey          string                              `json:"writeKey"`
}

// segmentBatch is the body of /v1/batch and /v1/import: the calls, and what applies to
// each of them (the write key, a context merged into theirs, when they were sent).
type segmentBatch struct {
	Batch    *[]json.RawMessage       `json:"batch"`
	WriteKey string                   `json:"writeKey"`
	Context  segmentContext           `json:"context"`
	SentAt   segmentTime[sentAtField] `json:"sentAt"`
	// noContext says that the body has no context (set by the fast decoder only): each
	// call's is kept as it is, without merging an empty one into it.
	noContext bool
}

// segmentContext is the part of a call's context that maps to an event's fields.
type segmentContext struct {
	IP        string `json:"ip"`
	UserAgent string `json:"userAgent"`
	Locale    string `json:"locale"`
	Device    struct {
		ID                string `json:"id"`
		AdvertisingID     string `json:"advertisingId"`
		AdTrackingEnabled *bool  `json:"adTrackingEnabled"`
		Model             string `json:"model"`
		Type              string `json:"type"`
	} `json:"device"`
	OS struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"os"`
	App struct {
		Version segmentID `json:"version"`
	} `json:"app"`
	Location struct {
		Country string `json:"country"`
	} `json:"location"`
	Referrer json.RawMessage `json:"referrer"` // a string, or Segment's object {type, name, url, link}
	Campaign json.RawMessage `json:"campaign"`
}

// fill sets every field of c that is empty to b's: a batch's context merged into a call's.
func (c *segmentContext) fill(b *segmentContext) {
	for _, f := range [...]struct{ dst, src *string }{
		{&c.IP, &b.IP}, {&c.UserAgent, &b.UserAgent}, {&c.Locale, &b.Locale},
		{&c.Device.ID, &b.Device.ID}, {&c.Device.AdvertisingID, &b.Device.AdvertisingID},
		{&c.Device.Model, &b.Device.Model}, {&c.Device.Type, &b.Device.Type},
		{&c.OS.Name, &b.OS.Name}, {&c.OS.Version, &b.OS.Version},
		{(*string)(&c.App.Version), (*string)(&b.App.Version)}, {&c.Location.Country, &b.Location.Country},
	} {
		if *f.dst == "" {
			*f.dst = *f.src
		}
	}
	if c.Device.AdTrackingEnabled == nil {
		c.Device.AdTrackingEnabled = b.Device.AdTrackingEnabled
	}
	if c.Referrer == nil {
		c.Referrer = b.Referrer
	}
	if c.Campaign == nil {
		c.Campaign = b.Campaign
	}
}

// segmentProperties is what a call's properties say of revenue and the install referrer.
// Numbers may be JSON numbers or numeric strings.
type segmentProperties struct {
	Revenue  segmentNumber `json:"revenue"`
	Total    segmentNumber `json:"total"`
	Value    segmentNumber `json:"value"`
	Currency segmentID     `json:"currency"`
	Referrer segmentID     `json:"referrer"`
}

// segmentID is an id or a name that Segment's libraries send as a string, and some as a
// number: a JSON string, number or boolean, taken as its text; null is empty.
type segmentID string

// UnmarshalJSON implements json.Unmarshaler.
func (s *segmentID) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = segmentID(v)
	case string(b) == "null":
		*s = ""
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return &json.UnmarshalTypeError{Value: "object", Type: reflect.TypeFor[string]()}
	default:
		*s = segmentID(b)
	}
	return nil
}

// segmentNumber is a number of properties: a JSON number or a numeric string. Anything
// else (null, text, an object) is taken as absent, except that bad says it was there.
type segmentNumber struct {
	v        float64
	set, bad bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *segmentNumber) UnmarshalJSON(b []byte) error {
	*n = segmentNumber{}
	if string(b) == "null" {
		return nil
	}
	s := bytesString(b) // the number's text, not kept
	if len(b) > 0 && b[0] == '"' {
		var q string // a copy only for a quoted number, which json.Unmarshal needs
		if json.Unmarshal(b, &q) != nil {
			n.bad = true
			return nil
		}
		s = q
	}
	if f, ok := parseRevenue(s); ok {
		n.v, n.set = f, true
	} else {
		n.bad = true
	}
	return nil
}

// segmentTime is a time of Segment's calls, in the field F names: an ISO 8601 string
// (RFC 3339, or with a one-digit month or day, as Segment's own examples write
// "2015-2-02T00:30:08.276Z"; without a zone, UTC), unix seconds or milliseconds, or null
// (absent). A time is refused, naming the field, unless it falls in the range of times.
type segmentTime[F fieldName] struct{ t time.Time }

// The fields of Segment's calls that take times, but timestamp (timestampField).
type (
	originalTimestampField struct{}
	sentAtField            struct{}
)

func (originalTimestampField) name() string { return "originalTimestamp" }
func (sentAtField) name() string            { return "sentAt" }

// segmentTimeLayouts are the ISO 8601 forms taken besides RFC 3339.
var segmentTimeLayouts = [...]string{
	"2006-1-2T15:04:05.999999999Z07:00",
	"2006-1-2T15:04:05.999999999Z0700",
	"2006-1-2T15:04:05.999999999",
	"2006-1-2 15:04:05.999999999Z07:00",
	"2006-1-2 15:04:05.999999999",
	"2006-1-2",
}

// UnmarshalJSON implements json.Unmarshaler.
func (st *segmentTime[F]) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		st.t = time.Time{}
		return nil
	}
	var t time.Time
	var err error
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err = json.Unmarshal(b, &s); err == nil {
			t, err = parseSegmentTimeText(s)
		}
	} else {
		t, err = httpserve.ParseUnixTime(string(b))
	}
	return st.set(t, err)
}

// set sets the time parsed with err, or returns the error that names the field.
func (st *segmentTime[F]) set(t time.Time, err error) error {
	var f F
	switch {
	case errors.Is(err, httpserve.ErrTimeRange):
		return &fieldError{f.name() + " is out of range: " + httpserve.TimeRangeRule}
	case err != nil:
		return &fieldError{f.name() + " must be an ISO 8601 time, unix seconds or unix milliseconds."}
	}
	st.t = t
	return nil
}

// parseSegmentTimeText parses the text of a JSON string as a time of Segment's calls
// (segmentTime).
func parseSegmentTimeText(s string) (time.Time, error) {
	t, err := httpserve.ParseTimeText(s)
	if err == nil || errors.Is(err, httpserve.ErrTimeRange) {
		return t, err
	}
	for _, layout := range segmentTimeLayouts {
		if t, err = time.Parse(layout, strings.TrimSpace(s)); err == nil {
			if t = t.UTC(); t.Unix() <= 0 || t.Year() > 9999 {
				err = httpserve.ErrTimeRange
			}
			return t, err
		}
	}
	return t, err
}

// decodeSegmentCall decodes one call into e. typ is the call's type when the route says
// it (/v1/track...), "" when the call must (/v1/batch); batch is the batch's context and
// sentAt, nil for a call alone. now is when the call was received: a call without
// timestamp but with originalTimestamp is placed at originalTimestamp + (now - sentAt),
// correcting the sender's clock. e's strings may share raw's bytes. The error is an
// *unmogrowp.Error with code EINVALID whose message names the field at fault.
func decodeSegmentCall(raw []byte, typ string, batch *segmentBatch, now time.Time, e *unmogrowp.Event) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Each call must be a JSON object.")
	}
	var c segmentCall
	if err := json.Unmarshal(raw, &c); err != nil {
		return decodeError(err)
	}
	if batch == nil { // a batch's body is checked whole (decodeSegmentBatch)
		if err := httpserve.CheckJSONText(raw, "Each call", nil); err != nil {
			return err
		}
	}
	return mapSegmentCall(&c, nil, typ, batch, now, e)
}

// mapSegmentCall makes the event of a decoded call, as decodeSegmentCall says; props is
// what its properties say when the caller decoded them already, else nil. It changes c.
func mapSegmentCall(c *segmentCall, props *segmentProperties, typ string, batch *segmentBatch, now time.Time, e *unmogrowp.Event) error {
	// The event is made on the stack and copied once: e is on the heap, where each field
	// written would pass the GC's write barrier.
	var ev unmogrowp.Event
	err := makeSegmentEvent(c, props, typ, batch, now, &ev)
	*e = ev
	return err
}

// makeSegmentEvent is mapSegmentCall, into e, which must be zero.
func makeSegmentEvent(c *segmentCall, props *segmentProperties, typ string, batch *segmentBatch, now time.Time, e *unmogrowp.Event) error {
	sentAt := c.SentAt.t
	if batch != nil {
		if !batch.noContext {
			c.Context.fill(&batch.Context)
		}
		if sentAt.IsZero() {
			sentAt = batch.SentAt.t
		}
	}
	if typ == "" {
		typ = c.Type
	}
	e.UserID = string(c.UserID)
	var extra []segmentExtra // the call's own fields, added to event_data
	switch typ {
	case "track":
		switch c.Event {
		case "":
			return unmogrowp.Errorf(unmogrowp.EINVALID, "event is required in a track call.")
		case "Application Installed":
			e.EventType = unmogrowp.EventInstall
		case "Application Opened":
			e.EventType = unmogrowp.EventSession
		default:
			e.EventType = c.Event
		}
	case "screen", "page":
		e.EventType = typ
		extra = []segmentExtra{{"name", c.Name}, {"category", c.Category}}
	case "identify":
		e.EventType = segmentIdentify
	case "group":
		e.EventType = segmentGroup
		extra = []segmentExtra{{"groupId", string(c.GroupID)}}
	case "alias":
		e.EventType = segmentAlias
		extra = []segmentExtra{{"previousId", string(c.PreviousID)}}
	case "":
		return unmogrowp.Errorf(unmogrowp.EINVALID, "type is required: track, identify, screen, page, group or alias.")
	default:
		return unmogrowp.Errorf(unmogrowp.EINVALID, "type must be one of track, identify, screen, page, group, alias.")
	}
	for _, obj := range [...]struct {
		name string
		v    *json.RawMessage
	}{{"properties", &c.Properties}, {"traits", &c.Traits}, {"context.campaign", &c.Context.Campaign}} {
		if err := objectOrNil(obj.name, obj.v); err != nil {
			return err
		}
	}
	data := c.Properties // track, screen, page
	switch typ {
	case "identify", "group":
		data = c.Traits
	case "alias":
		data = nil
	}
	var err error
	if e.EventData, err = withSegmentExtra(data, extra); err != nil {
		return err
	}
	if !isEmptyObject(c.Context.Campaign) { // libraries send "campaign":{} for none
		e.Attribution = c.Context.Campaign
	}

	switch {
	case c.AnonymousID != "":
		e.DeviceID = string(c.AnonymousID)
	case c.Context.Device.ID != "":
		e.DeviceID = c.Context.Device.ID
	default:
		e.DeviceID = string(c.UserID)
	}
	if e.DeviceID == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "anonymousId or userId is required.")
	}
	e.EventID = segmentEventID(c.MessageID)

	switch {
	case !c.Timestamp.t.IsZero():
		e.Timestamp = c.Timestamp.t
	case !c.OriginalTimestamp.t.IsZero() && !sentAt.IsZero():
		e.Timestamp = c.OriginalTimestamp.t.Add(now.Sub(sentAt))
	default:
		e.Timestamp = c.OriginalTimestamp.t
	}

	ctx := &c.Context
	e.Platform = segmentPlatform(ctx.OS.Name, ctx.Device.Type)
	e.OSVersion, e.DeviceModel, e.AppVersion = ctx.OS.Version, ctx.Device.Model, string(ctx.App.Version)
	e.Language, e.Country = ctx.Locale, ctx.Location.Country
	e.IP, e.UserAgent = ctx.IP, ctx.UserAgent
	if ctx.Device.AdvertisingID != "" && (ctx.Device.AdTrackingEnabled == nil || *ctx.Device.AdTrackingEnabled) {
		switch e.Platform {
		case unmogrowp.PlatformIOS:
			e.IDFA = ctx.Device.AdvertisingID
		case unmogrowp.PlatformAndroid:
			e.GAID = ctx.Device.AdvertisingID
		}
	}

	if c.Properties != nil {
		p := props
		if p == nil {
			if p, err = decodeSegmentProperties(c.Properties); err != nil {
				return err
			}
		}
		switch {
		case p.Revenue.bad:
			return unmogrowp.Errorf(unmogrowp.EINVALID, "properties.revenue must be a number.")
		case p.Revenue.set:
			e.Revenue, e.HasRevenue = p.Revenue.v, true
		case p.Total.set:
			e.Revenue, e.HasRevenue = p.Total.v, true
		case p.Value.set:
			e.Revenue, e.HasRevenue = p.Value.v, true
		}
		if e.HasRevenue {
			e.Currency = string(p.Currency)
			if e.Currency == "" {
				e.Currency = "USD"
			}
		}
		e.InstallReferrer = string(p.Referrer)
	}
	// The install referrer: Play's on Android, the landing page's click_id=... on the web
	// (as the web SDK sends it); on an install only, and never iOS's.
	if e.EventType != unmogrowp.EventInstall || e.Platform == unmogrowp.PlatformIOS {
		e.InstallReferrer = ""
	} else if ref := segmentReferrer(ctx.Referrer); ref != "" {
		e.InstallReferrer = ref
	}
	return checkDecodedEvent(e)
}

// decodeSegmentProperties decodes what the properties object raw says of revenue and the
// referrer.
func decodeSegmentProperties(raw json.RawMessage) (*segmentProperties, error) {
	var p segmentProperties
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, segmentPropertiesError(err)
	}
	return &p, nil
}

// segmentPropertiesError names the property whose type a call's properties got wrong.
func segmentPropertiesError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "properties.%s must be a string.", te.Field)
	}
	return unmogrowp.Errorf(unmogrowp.EINVALID, "properties must be a JSON object.")
}

// segmentEventID is the event id of a call's messageId: the messageId itself, or, when it
// is longer than an event id may be (Segment allows 100 characters), its SHA-256 in hex,
// which deduplicates as well. Empty when the call has none: ingestion makes one.
func segmentEventID(messageID string) string {
	if len(messageID) <= unmogrowp.MaxEventIDLen {
		return messageID
	}
	sum := sha256.Sum256([]byte(messageID))
	return hex.EncodeToString(sum[:])
}

// segmentPlatform is the platform of a call's context.os.name: ios (iOS, iPadOS, tvOS,
// watchOS), android, web, other for any other name; without it, that of
// context.device.type when it is ios or android (as Segment's mobile libraries send it);
// else "".
func segmentPlatform(osName, deviceType string) string {
	switch osName { // as Segment's libraries write them, before folding case
	case "iOS":
		return unmogrowp.PlatformIOS
	case "Android":
		return unmogrowp.PlatformAndroid
	case "":
		switch {
		case strings.EqualFold(deviceType, "ios"):
			return unmogrowp.PlatformIOS
		case strings.EqualFold(deviceType, "android"):
			return unmogrowp.PlatformAndroid
		}
		return ""
	}
	for _, name := range [...]string{"ios", "ipados", "tvos", "watchos", "iphone os"} {
		if strings.EqualFold(osName, name) {
			return unmogrowp.PlatformIOS
		}
	}
	switch {
	case strings.EqualFold(osName, "android"):
		return unmogrowp.PlatformAndroid
	case strings.EqualFold(osName, "web"):
		return unmogrowp.PlatformWeb
	}
	return unmogrowp.PlatformOther
}

// segmentReferrer is the install referrer in context.referrer: the string itself, or the
// url (else link, else id) of Segment's referrer object; "" when it has none.
func segmentReferrer(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		return s
	}
	var ref struct {
		URL  segmentID `json:"url"`
		Link segmentID `json:"link"`
		ID   segmentID `json:"id"`
	}
	if json.Unmarshal(raw, &ref) != nil {
		return ""
	}
	for _, s := range [...]segmentID{ref.URL, ref.Link, ref.ID} {
		if s != "" {
			return string(s)
		}
	}
	return ""
}

// segmentExtra is one of a call's own fields (a screen's name, a group's id) that its
// event keeps in event_data.
type segmentExtra struct{ key, value string }

// withSegmentExtra returns the object data (properties or traits, nil for none) with the
// extra fields that are not empty and that data does not have already.
func withSegmentExtra(data json.RawMessage, extra []segmentExtra) (json.RawMessage, error) {
	need := false
	for _, x := range extra {
		need = need || x.value != ""
	}
	if !need {
		return data, nil
	}
	m := map[string]json.RawMessage{}
	if data != nil {
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "properties must be a JSON object.")
		}
	}
	for _, x := range extra {
		if _, ok := m[x.key]; !ok && x.value != "" {
			v, _ := json.Marshal(x.value)
			m[x.key] = v
		}
	}
	return json.Marshal(m)
}

// isEmptyObject reports whether raw, a JSON object or nil, has no member.
func isEmptyObject(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return true
	}
	return len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}
