package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// The fast decoder of events.
//
// splitBatch and decodeEvent (decode.go) are the reference: what they answer for a body is
// what the event endpoints answer. eventBatch gives the same answers several times cheaper,
// in one pass over the body, for the bodies SDKs and servers send. It decodes only what it
// is sure of and hands everything else to the reference:
//
//   - The whole body goes to splitBatch when it is not strict JSON (RFC 8259: no control
//     character or invalid UTF-8 in a string, no odd number, no trailing garbage) or is
//     nested more than maxDepth deep; when it is an object whose keys other than "events"
//     have escapes, capitals or other than ASCII, or with "events" missing, twice or not an
//     array; and when it has more than MaxBatchEvents events or an event larger than
//     MaxEventBytes (which the reference answers with 413).
//   - An event goes to decodeEvent, with its exact bytes, when it is not an object; when one
//     of its keys has an escape or a rune other than ASCII, is a known key twice, or differs
//     from a known key by case only (the reference matches keys by case folding); when a
//     value does not have the type of its field (a string field takes a string or null, a
//     time a number or a string, revenue a number or a string, attribution and event_data
//     an object or null, third_party_sharing true, false or null); when a string has a \u escape of a UTF-16 surrogate; when a time
//     or revenue does not parse; and when checkDecodedEvent fails. The reference then gives
//     the error, which names the field at fault.
//
// FuzzFastDecodeMatchesReference checks that for any body the events, the errors and the
// raw bytes of every event are the reference's.

// maxDepth is how deep the fast decoder follows nested arrays and objects: far below the
// reference's limit (10000), which a deeper body is left to.
const maxDepth = 1000

// eventBatch is the events of one request to an event endpoint, split and decoded. Its
// strings and raw JSON are parts of the body, not copies (but for strings with escapes):
// the body must stay unchanged as long as an event of the batch, or an event it is decoded
// into, is used. accept keeps to that: every event is encoded into a log record before it
// returns, buf.event is cleared then, and release clears the batch before it is reused.
type eventBatch struct {
	elems   []batchElem
	scratch []byte // a string with escapes, unescaped
	// follows has, for each field of eventFields and for eventStart, the index plus one of
	// the field whose key came after it last (eventKey).
	follows [eventStart + 1]uint8
}

// batchElem is one event of a batch.
type batchElem struct {
	raw         []byte          // its exact bytes, as splitBatch returns them
	event       unmogrowp.Event // decoded, unless byReference
	byReference bool            // decoded by decodeEvent(raw)
}

var eventBatches = sync.Pool{New: func() any { return new(eventBatch) }}

// getEventBatch returns an empty eventBatch; release it after use.
func getEventBatch() *eventBatch { return eventBatches.Get().(*eventBatch) }

// release empties the batch and puts it back in the pool.
func (eb *eventBatch) release() {
	eb.reset()
	eventBatches.Put(eb)
}

// reset empties the batch, keeping nothing of the body it was split from.
func (eb *eventBatch) reset() {
	clear(eb.elems)
	eb.elems = eb.elems[:0]
}

// splitBatch splits a body of POST /v1/events/batch into its events and decodes them:
// like the splitBatch function, whose error it returns, and which it calls for a body it
// is not sure of.
func (eb *eventBatch) splitBatch(body []byte) error {
	if eb.split(body) {
		return nil
	}
	raws, err := splitBatch(body)
	if err != nil {
		return err
	}
	eb.reset()
	for _, raw := range raws {
		eb.elems = append(eb.elems, batchElem{raw: raw, byReference: true})
	}
	return nil
}

// single takes the body of POST /v1/events, one event, and decodes it.
func (eb *eventBatch) single(body []byte) {
	eb.reset()
	eb.elems = append(eb.elems, batchElem{raw: body, byReference: true})
	el := &eb.elems[0]
	b := bytes.TrimSpace(body) // as decodeEvent does
	if len(b) > 0 && b[0] == '{' {
		end, ok := eb.decodeObject(b, 0, 1, &el.event)
		el.byReference = !ok || end != len(b)
	}
}

// len returns the number of events.
func (eb *eventBatch) len() int { return len(eb.elems) }

// raw returns event i as it is in the body.
func (eb *eventBatch) raw(i int) []byte { return eb.elems[i].raw }

// decode decodes event i into e, with decodeEvent's result.
func (eb *eventBatch) decode(i int, e *unmogrowp.Event) error {
	el := &eb.elems[i]
	if el.byReference {
		return decodeEvent(el.raw, e)
	}
	*e = el.event
	return nil
}

// split is the fast splitBatch: it returns false, leaving the batch to be refilled, for a
// body that the splitBatch function must split.
func (eb *eventBatch) split(body []byte) bool {
	eb.reset()
	b := bytes.TrimSpace(body) // as splitList does
	if len(b) == 0 {
		return false
	}
	var end int
	var ok bool
	switch b[0] {
	case '[':
		end, ok = eb.splitArray(b, 0, 1)
	case '{':
		end, ok = eb.splitObject(b)
	}
	return ok && skipSpace(b, end) == len(b)
}

// splitObject splits the body {"events":[...]} at b[0].
func (eb *eventBatch) splitObject(b []byte) (int, bool) {
	found := false
	i := skipSpace(b, 1)
	for i < len(b) && b[i] == '"' {
		end, flags, ok := scanString(b, i)
		if !ok || flags != 0 {
			return end, false
		}
		key := b[i+1 : end-1]
		if i = skipSpace(b, end); i >= len(b) || b[i] != ':' {
			return i, false
		}
		i = skipSpace(b, i+1)
		switch {
		case string(key) == "events":
			if found || i >= len(b) || b[i] != '[' {
				return i, false
			}
			found = true
			i, ok = eb.splitArray(b, i, 2)
		case hasUpper(key):
			return i, false
		default:
			i, ok = skipValue(b, i, 2)
		}
		if !ok {
			return i, false
		}
		switch i = skipSpace(b, i); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1, found
		default:
			return i, false
		}
	}
	return i, false
}

// splitArray splits the array of events at b[i], at depth depth, and decodes its events.
func (eb *eventBatch) splitArray(b []byte, i, depth int) (int, bool) {
	if i = skipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		if len(eb.elems) == unmogrowp.MaxBatchEvents {
			return i, false // the reference answers that the batch is too large
		}
		if len(eb.elems) < cap(eb.elems) { // decodeObject zeroes the event, the rest is set below
			eb.elems = eb.elems[:len(eb.elems)+1]
		} else {
			eb.elems = append(eb.elems, batchElem{})
		}
		el := &eb.elems[len(eb.elems)-1]
		start, end, ok := i, i, false
		if i < len(b) && b[i] == '{' {
			end, ok = eb.decodeObject(b, i, depth+1, &el.event)
		}
		if el.byReference = !ok; !ok {
			if end, ok = skipValue(b, start, depth+1); !ok {
				return end, false
			}
		}
		if end-start > unmogrowp.MaxEventBytes {
			return end, false // the reference answers that the event is too large
		}
		el.raw = b[start:end:end]
		switch i = skipSpace(b, end); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// decodeObject decodes the event object at b[i], at depth depth, into e, and returns where
// it ends. It is false when the reference must decode the event, or when the event is not
// strict JSON: then the returned index means nothing.
func (eb *eventBatch) decodeObject(b []byte, i, depth int, e *unmogrowp.Event) (int, bool) {
	*e = unmogrowp.Event{}
	var seen uint32
	prev := eventStart
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, checkDecodedEvent(e) == nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		f, end, ok := eb.eventKey(b, i, prev)
		if !ok {
			return end, false
		}
		if i = skipSpace(b, end); i >= len(b) || b[i] != ':' {
			return i, false
		}
		if i = skipSpace(b, i+1); i >= len(b) {
			return i, false
		}
		switch {
		case f == nil:
			i, ok = skipValue(b, i, depth+1)
		case seen&(1<<f.index) != 0:
			return i, false
		default:
			seen |= 1 << f.index
			prev = f.index
			i, ok = eb.decodeField(b, i, depth, f, e)
		}
		if !ok {
			return i, false
		}
		switch i = skipSpace(b, i); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1, checkDecodedEvent(e) == nil
		default:
			return i, false
		}
	}
}

// eventKey returns the field of the key at b[i], a '"', of an event whose previous known
// key was that of the field prev (eventStart for none), or nil for an unknown key, and the
// index after the key. It is false for a key that is not strict JSON, and when the
// reference must decode the event: for a key with an escape or a rune other than ASCII,
// which the reference may match to a field by case folding, and for a known key but for
// case. It first tries the key that came after prev last time, as the events of a sender
// have their keys in one order.
func (eb *eventBatch) eventKey(b []byte, i int, prev uint8) (*eventField, int, bool) {
	if next := eb.follows[prev]; next != 0 {
		f := &eventFields[next-1]
		if end := i + 1 + len(f.name); end < len(b) && b[end] == '"' && string(b[i+1:end]) == f.name {
			return f, end + 1, true
		}
	}
	end, flags, ok := scanString(b, i)
	if !ok || flags != 0 {
		return nil, end, false
	}
	key := b[i+1 : end-1]
	f := lookupEventField(key)
	if f == nil {
		return nil, end, !foldsToEventField(key)
	}
	eb.follows[prev] = f.index + 1
	return f, end, true
}

// decodeField decodes the value at b[i] of the event's field f, in an object at depth depth.
func (eb *eventBatch) decodeField(b []byte, i, depth int, f *eventField, e *unmogrowp.Event) (int, bool) {
	if isNull(b, i) { // each field's zero value, as the reference decodes null
		return i + 4, true
	}
	p := unsafe.Add(unsafe.Pointer(e), f.offset)
	switch f.kind {
	case stringKind:
		if b[i] != '"' {
			return i, false
		}
		s, end, ok := eb.stringValue(b, i)
		*(*string)(p) = s
		return end, ok
	case timeKind:
		t, end, ok := eb.timeValue(b, i)
		*(*time.Time)(p) = t
		return end, ok
	case revenueKind:
		var end int
		var ok bool
		e.Revenue, end, ok = eb.revenueValue(b, i)
		e.HasRevenue = true
		return end, ok
	case boolKind:
		for _, lit := range [...]string{"false", "true"} {
			if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
				v := lit == "true"
				*(**bool)(p) = &v
				return i + len(lit), true
			}
		}
		return i, false
	}
	if b[i] != '{' { // objectKind
		return i, false
	}
	end, ok := skipObject(b, i, depth+1)
	*(*json.RawMessage)(p) = b[i:end:end]
	return end, ok
}

// timeValue decodes the time at b[i], a number or a string, as wireTime does.
func (eb *eventBatch) timeValue(b []byte, i int) (time.Time, int, bool) {
	if b[i] == '"' {
		s, end, ok := eb.stringValue(b, i)
		if !ok {
			return time.Time{}, end, false
		}
		t, err := httpserve.ParseTimeText(s)
		return t, end, err == nil
	}
	end, ok := scanNumber(b, i)
	if !ok {
		return time.Time{}, end, false
	}
	if n, ok := smallUint(b[i:end]); ok { // exact as a float64, as ParseFloat returns it
		t, ok := httpserve.UnixTime(float64(n))
		return t, end, ok
	}
	t, err := httpserve.ParseUnixTime(bytesString(b[i:end]))
	return t, end, err == nil
}

// revenueValue decodes the revenue at b[i], a number or a string, as wireNumber does.
func (eb *eventBatch) revenueValue(b []byte, i int) (float64, int, bool) {
	if b[i] == '"' {
		s, end, ok := eb.stringValue(b, i)
		if !ok {
			return 0, end, false
		}
		f, ok := parseRevenue(s)
		return f, end, ok
	}
	end, ok := scanNumber(b, i)
	if !ok {
		return 0, end, false
	}
	f, ok := parseRevenue(bytesString(b[i:end]))
	return f, end, ok
}

// stringValue decodes the string at b[i]: a part of b, or a copy for a string with escapes.
// It is false for a string that is not strict JSON, or that has a \u escape of a UTF-16
// surrogate.
func (eb *eventBatch) stringValue(b []byte, i int) (string, int, bool) {
	end, flags, ok := scanString(b, i)
	switch {
	case !ok:
		return "", end, false
	case flags&hasEscape == 0:
		return bytesString(b[i+1 : end-1]), end, true
	}
	ok = eb.unescape(b[i+1 : end-1])
	return string(eb.scratch), end, ok
}

// unescape writes the text of the content s of a string that scanString has checked into
// eb.scratch. It is false when s has a \u escape of a UTF-16 surrogate.
func (eb *eventBatch) unescape(s []byte) bool {
	eb.scratch = eb.scratch[:0]
	for {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			eb.scratch = append(eb.scratch, s...)
			return true
		}
		eb.scratch = append(eb.scratch, s[:k]...)
		c := s[k+1]
		s = s[k+2:]
		switch c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r := rune(hexValue(s[0])<<12 | hexValue(s[1])<<8 | hexValue(s[2])<<4 | hexValue(s[3]))
			if utf16.IsSurrogate(r) {
				return false
			}
			eb.scratch = utf8.AppendRune(eb.scratch, r)
			s = s[4:]
			continue
		}
		eb.scratch = append(eb.scratch, c) // '"', '\\' and '/' stand for themselves
	}
}

// eventField is a key of wireEvent (decode.go) and the field of unmogrowp.Event that its
// value is decoded into.
type eventField struct {
	name   string
	kind   fieldKind
	offset uintptr // of the field in unmogrowp.Event, of the type of kind
	index  uint8   // in eventFields
}

// fieldKind is how the value of a key is decoded.
type fieldKind uint8

const (
	stringKind  fieldKind = iota // a string, into a string
	timeKind                     // a time, as wireTime decodes it, into a time.Time
	revenueKind                  // revenue, as wireNumber decodes it, into Revenue and HasRevenue
	objectKind                   // an object, kept as it is, into a json.RawMessage
	boolKind                     // true or false, into a *bool
)

// eventFields are the keys of wireEvent, spelt as its json tags are.
var eventFields = func() []eventField {
	var e unmogrowp.Event
	fields := []eventField{
		{name: "event_type", offset: unsafe.Offsetof(e.EventType)},
		{name: "app_id", offset: unsafe.Offsetof(e.AppID)},
		{name: "device_id", offset: unsafe.Offsetof(e.DeviceID)},
		{name: "event_id", offset: unsafe.Offsetof(e.EventID)},
		{name: "user_id", offset: unsafe.Offsetof(e.UserID)},
		{name: "session_id", offset: unsafe.Offsetof(e.SessionID)},
		{name: "timestamp", kind: timeKind, offset: unsafe.Offsetof(e.Timestamp)},
		{name: "platform", offset: unsafe.Offsetof(e.Platform)},
		{name: "os_version", offset: unsafe.Offsetof(e.OSVersion)},
		{name: "app_version", offset: unsafe.Offsetof(e.AppVersion)},
		{name: "device_model", offset: unsafe.Offsetof(e.DeviceModel)},
		{name: "country", offset: unsafe.Offsetof(e.Country)},
		{name: "language", offset: unsafe.Offsetof(e.Language)},
		{name: "idfa", offset: unsafe.Offsetof(e.IDFA)},
		{name: "gaid", offset: unsafe.Offsetof(e.GAID)},
		{name: "idfv", offset: unsafe.Offsetof(e.IDFV)},
		{name: "android_id", offset: unsafe.Offsetof(e.AndroidID)},
		{name: "att_status", offset: unsafe.Offsetof(e.ATTStatus)},
		{name: "install_referrer", offset: unsafe.Offsetof(e.InstallReferrer)},
		{name: "install_begin_ts", kind: timeKind, offset: unsafe.Offsetof(e.InstallBeginAt)},
		{name: "revenue", kind: revenueKind},
		{name: "currency", offset: unsafe.Offsetof(e.Currency)},
		{name: "ip", offset: unsafe.Offsetof(e.IP)},
		{name: "user_agent", offset: unsafe.Offsetof(e.UserAgent)},
		{name: "attribution", kind: objectKind, offset: unsafe.Offsetof(e.Attribution)},
		{name: "event_data", kind: objectKind, offset: unsafe.Offsetof(e.EventData)},
		{name: "third_party_sharing", kind: boolKind, offset: unsafe.Offsetof(e.ThirdPartySharing)},
	}
	if len(fields) > int(eventStart) {
		panic("ingest: more keys of an event than bits in a uint32")
	}
	for j := range fields {
		fields[j].index = uint8(j)
	}
	return fields
}()

// eventStart stands for the start of an event where a field of eventFields may: it is above
// the index of every field.
const eventStart uint8 = 31

// eventFieldTable is eventFields by the hash of their names (eventKeyHash), as indexes
// plus one; 0 is no field.
var eventFieldTable = func() (table [64]uint8) {
	for j, f := range eventFields {
		h := eventKeyHash([]byte(f.name))
		if table[h] != 0 {
			panic("ingest: two keys of an event have the same hash: " + f.name)
		}
		table[h] = uint8(j + 1)
	}
	return table
}()

// eventKeyHash returns a hash in [0, 64) of a key of two bytes or more, from its first two
// bytes, its last one and its length, which tell the keys of an event apart.
func eventKeyHash(key []byte) uint32 {
	w := uint32(key[0]) | uint32(key[1])<<8 | uint32(key[len(key)-1])<<16 | uint32(len(key))<<24
	return w * 0x24d3 >> 26
}

// lookupEventField returns the field of key, which must be spelt as wireEvent's json tags
// are, or nil.
func lookupEventField(key []byte) *eventField {
	if len(key) < 2 {
		return nil
	}
	j := eventFieldTable[eventKeyHash(key)]
	if j == 0 || eventFields[j-1].name != string(key) {
		return nil
	}
	return &eventFields[j-1]
}

// foldsToEventField reports whether key, of ASCII without escapes, is a known key but for
// the case of its letters. No known key is longer than 32 bytes.
func foldsToEventField(key []byte) bool {
	if !hasUpper(key) || len(key) > 32 {
		return false
	}
	var lower [32]byte
	for j, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[j] = c
	}
	return lookupEventField(lower[:len(key)]) != nil
}

// hasUpper reports whether s has a capital ASCII letter.
func hasUpper(s []byte) bool {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// bytesString returns b as a string without a copy: b must not change while it is used.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// smallUint returns the value of a number of at most 15 digits and nothing else, which a
// float64 holds exactly.
func smallUint(num []byte) (uint64, bool) {
	if len(num) > 15 {
		return 0, false
	}
	var n uint64
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// The strict JSON scanner. Its functions take the input and the index of a value, and
// return the index after the value and whether the value is strict JSON (RFC 8259) nested
// at most maxDepth deep.

// skipSpace returns the index of the first byte from i on that is not JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// isNull reports whether the literal null is at b[i].
func isNull(b []byte, i int) bool {
	return len(b)-i >= 4 && string(b[i:i+4]) == "null"
}

// skipValue skips the value at b[i], which is at depth depth.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '{':
		return skipObject(b, i, depth)
	case c == '[':
		return skipArray(b, i, depth)
	case c == '-' || '0' <= c && c <= '9':
		return scanNumber(b, i)
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
			return i + len(lit), true
		}
	}
	return i, false
}

// skipObject skips the object at b[i], which is at depth depth.
func skipObject(b []byte, i, depth int) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		end, _, ok := scanString(b, i)
		if !ok {
			return end, false
		}
		if i = skipSpace(b, end); i >= len(b) || b[i] != ':' {
			return i, false
		}
		if i, ok = skipValue(b, skipSpace(b, i+1), depth+1); !ok {
			return i, false
		}
		switch i = skipSpace(b, i); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// skipArray skips the array at b[i], which is at depth depth.
func skipArray(b []byte, i, depth int) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = skipValue(b, i, depth+1); !ok {
			return i, false
		}
		switch i = skipSpace(b, i); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// scanNumber scans the number at b[i]: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// Flags of a string that scanString returns.
const (
	hasEscape   = 1 << iota // a backslash escape
	hasNonASCII             // a rune that is not ASCII
)

// scanString scans the string at b[i]: no control character, only the escapes of RFC 8259,
// valid UTF-8. It returns the flags of what the string has.
func scanString(b []byte, i int) (end int, flags uint8, ok bool) {
	i++
	for {
		// eight bytes at a time while none is special: '"', '\\', a control character or
		// a byte of a rune that is not ASCII
		for i+8 <= len(b) {
			if m := specialBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, flags, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, flags, true
		case c == '\\':
			flags |= hasEscape
			if i+1 >= len(b) {
				return i, flags, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, flags, false
				}
				i += 6
			default:
				return i, flags, false
			}
		case c < ' ':
			return i, flags, false
		case c >= utf8.RuneSelf:
			flags |= hasNonASCII
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, flags, false
			}
			i += size
		default:
			i++
		}
	}
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// specialBytes returns a word whose lowest set bit is the high bit of the first byte of x
// (little endian) that is '"', '\\', below ' ' or above 0x7f, or 0 when there is none.
// Bits above the lowest may be set for bytes that are not special.
func specialBytes(x uint64) uint64 {
	q := x ^ (lowBits * '"')
	s := x ^ (lowBits * '\\')
	return ((x-lowBits*' ')&^x | (q-lowBits)&^q | (s-lowBits)&^s | x) & highBits
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hexValue returns the value of the hexadecimal digit c.
func hexValue(c byte) uint32 {
	switch {
	case c <= '9':
		return uint32(c - '0')
	case c >= 'a':
		return uint32(c-'a') + 10
	}
	return uint32(c-'A') + 10
}
