package ingest

import (
	"bytes"
	"encoding/binary"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// The fast decoder of Segment's calls.
//
// decodeSegmentBatch and decodeSegmentCall (segment.go, segmenthandler.go) are the
// reference: what they answer for a body is what Segment's routes answer. segmentFast
// decodes the same calls in one pass over the body, with the scanner of fastdecode.go, for
// the bodies Segment's libraries send, and hands everything else to the reference:
//
//   - The whole body goes to the reference when it is not strict JSON or is nested more
//     than maxDepth deep; when a member of the batch's body has a key with an escape or a
//     rune other than ASCII, a known key twice, a key that differs from a known one by
//     case only (the reference matches keys by case folding), or a value of another type
//     than its field's; when "batch" is missing or not an array.
//   - A call goes to decodeSegmentCall, with its exact bytes, when it is not an object; when
//     one of its objects (the call, its context and the context's device, os, app and
//     location, its properties' revenue, total, value, currency and referrer) has such a
//     key or such a value; when an id that the reference takes as a number's text is a
//     number; and when a time does not parse (the reference names the field).
//
// FuzzSegmentFastMatchesReference checks that for any body the events and the errors are
// the reference's.

// segmentFast holds the calls of one body, split and decoded. Their strings are parts of
// the body, not copies (but for strings with escapes): the body must stay unchanged while
// they are used.
type segmentFast struct {
	eb    eventBatch // for its scratch, the text of strings with escapes
	batch segmentBatch
	// calls are zero from their length to their capacity (what shortens them clears
	// them), so that a call is zeroed once, not again when it is added.
	calls []segmentElem
	raws  []json.RawMessage // the calls' bytes, which batch.Batch points to
	// orders has, for each kind of object, the order of its keys in the bodies seen so
	// far (kept across bodies: a sender's calls have their keys in one order).
	orders [objectKinds]keyOrder
}

// The kinds of objects of a body, each with its keys and its keyOrder.
const (
	batchObject = iota
	callObject
	propertiesObject
	contextObject
	deviceObject
	osObject
	appObject
	locationObject
	objectKinds
)

// keyOrder has, at 0 for an object's start and at k+1 for its known key k, the index plus
// one of the known key that came next last time (0: none known yet).
type keyOrder [17]uint8

var segmentFasts = sync.Pool{New: func() any { return new(segmentFast) }}

// getSegmentFast returns a segmentFast from the pool; release it after use.
func getSegmentFast() *segmentFast { return segmentFasts.Get().(*segmentFast) }

// release empties sf, keeping nothing of the body, and puts it back in the pool.
func (sf *segmentFast) release() {
	clear(sf.calls)
	sf.calls = sf.calls[:0]
	clear(sf.raws)
	sf.raws = sf.raws[:0]
	sf.batch = segmentBatch{}
	segmentFasts.Put(sf)
}

// useReference fills sf with the calls the reference split, each to be decoded by it.
func (sf *segmentFast) useReference(calls []json.RawMessage) {
	clear(sf.calls)
	sf.calls = sf.calls[:0]
	for _, c := range calls {
		sf.calls = append(sf.calls, segmentElem{raw: c})
	}
}

// decode decodes call i into e, with decodeSegmentCall's result for the call's bytes
// (batch as decodeSegmentCall takes it).
func (sf *segmentFast) decode(i int, typ string, batch *segmentBatch, now time.Time, e *unmogrowp.Event) error {
	el := &sf.calls[i]
	if !el.fast {
		return decodeSegmentCall(el.raw, typ, batch, now, e)
	}
	if batch == nil { // a batch's body is checked whole
		if err := checkText(el.raw, "Each call"); err != nil {
			return err
		}
	}
	return mapSegmentCall(&el.call, &el.props, typ, batch, now, e) // each call is decoded once
}

// checkText is httpserve.CheckJSONText(body, what, nil) for a body this decoder took: its
// strings are valid UTF-8 already (scanString), so only a \u escape can be at fault.
func checkText(body []byte, what string) error {
	if !bytes.Contains(body, []byte(`\u`)) {
		return nil
	}
	return httpserve.CheckJSONText(body, what, nil)
}

// segmentElem is one call of a body.
type segmentElem struct {
	raw   []byte // its exact bytes
	call  segmentCall
	props segmentProperties
	fast  bool // decoded here; else by decodeSegmentCall(raw)
}

// splitBatch splits and decodes the body of /v1/batch; it returns false, and then the
// reference must decode the body, for a body it is not sure of.
func (sf *segmentFast) splitBatch(body []byte) bool {
	clear(sf.calls)
	sf.calls = sf.calls[:0]
	sf.batch = segmentBatch{}
	b := body
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	found := false
	sf.batch.noContext = true
	end, ok := sf.members(b, i, 1, &segmentBatchKeys, &sf.orders[batchObject], func(k int, i int) (int, bool) {
		switch k {
		case 0:
			if b[i] != '[' {
				return i, false
			}
			found = true
			return sf.splitCalls(b, i, 2)
		case 1:
			return sf.str(b, i, &sf.batch.WriteKey)
		case 2:
			sf.batch.noContext = false
			return sf.context(b, i, 2, &sf.batch.Context)
		}
		return timeField(b, i, 2, &sf.batch.SentAt)
	})
	if !ok || !found || skipSpace(b, end) != len(b) {
		return false
	}
	sf.raws = sf.raws[:0] // the reference's pointer, to a slice of the calls' bytes
	for j := range sf.calls {
		sf.raws = append(sf.raws, sf.calls[j].raw)
	}
	sf.batch.Batch = &sf.raws
	return true
}

// single decodes the body of a route of one call; fast says whether it could.
func (sf *segmentFast) single(body []byte) (fast bool) {
	clear(sf.calls)
	sf.calls = append(sf.calls[:0], segmentElem{raw: body})
	el := &sf.calls[0]
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	end, ok := sf.call(body, i, 1, el)
	el.fast = ok && skipSpace(body, end) == len(body)
	return el.fast
}

// splitCalls splits the array of calls at b[i] and decodes each.
func (sf *segmentFast) splitCalls(b []byte, i, depth int) (int, bool) {
	if i = skipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		if n := len(sf.calls); n < cap(sf.calls) {
			sf.calls = sf.calls[:n+1] // zero already: see segmentFast.calls
		} else {
			sf.calls = append(sf.calls, segmentElem{})
		}
		el := &sf.calls[len(sf.calls)-1]
		start, end, ok := i, i, false
		if i < len(b) && b[i] == '{' {
			end, ok = sf.call(b, i, depth+1, el)
		}
		if el.fast = ok; !ok {
			el.call, el.props = segmentCall{}, segmentProperties{}
			if end, ok = skipValue(b, start, depth+1); !ok {
				return end, false
			}
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

// segmentCallKeys are the keys of a call that segmentCall decodes, in the order of call's
// switch.
var segmentCallKeys = newSegmentKeys(
	"type", "messageId", "anonymousId", "userId", "event", "name", "category", "groupId", "previousId",
	"properties", "traits", "context", "timestamp", "originalTimestamp", "sentAt", "writeKey",
)

// call decodes the call at b[i] into el.
func (sf *segmentFast) call(b []byte, i, depth int, el *segmentElem) (int, bool) {
	c := &el.call
	return sf.members(b, i, depth, &segmentCallKeys, &sf.orders[callObject], func(k int, i int) (int, bool) {
		switch k {
		case 0:
			return sf.str(b, i, &c.Type)
		case 1:
			return sf.str(b, i, &c.MessageID)
		case 2:
			return sf.id(b, i, &c.AnonymousID)
		case 3:
			return sf.id(b, i, &c.UserID)
		case 4:
			return sf.str(b, i, &c.Event)
		case 5:
			return sf.str(b, i, &c.Name)
		case 6:
			return sf.str(b, i, &c.Category)
		case 7:
			return sf.id(b, i, &c.GroupID)
		case 8:
			return sf.id(b, i, &c.PreviousID)
		case 9:
			if b[i] != '{' {
				return raw(b, i, depth+1, &c.Properties)
			}
			// One walk: properties checks the object as skipValue would.
			end, ok := sf.properties(b, i, depth+1, &el.props)
			c.Properties = b[i:end:end]
			return end, ok
		case 10:
			return raw(b, i, depth+1, &c.Traits)
		case 11:
			return sf.context(b, i, depth+1, &c.Context)
		case 12:
			return timeField(b, i, depth+1, &c.Timestamp)
		case 13:
			return timeField(b, i, depth+1, &c.OriginalTimestamp)
		case 14:
			return timeField(b, i, depth+1, &c.SentAt)
		}
		return sf.str(b, i, &c.WriteKey)
	})
}

// The keys that properties, context and the context's objects decode, each in the order of
// its switch.
var (
	segmentBatchKeys      = newSegmentKeys("batch", "writeKey", "context", "sentAt")
	segmentPropertiesKeys = newSegmentKeys("revenue", "total", "value", "currency", "referrer")
	segmentContextKeys    = newSegmentKeys("ip", "userAgent", "locale", "device", "os", "app", "location", "referrer", "campaign")
	segmentDeviceKeys     = newSegmentKeys("id", "advertisingId", "adTrackingEnabled", "model", "type")
	segmentOSKeys         = newSegmentKeys("name", "version")
	segmentVersionKeys    = newSegmentKeys("version")
	segmentLocationKeys   = newSegmentKeys("country")
)

// segmentKey is a known key of an object, with what members compares a key's text with:
// the first 24 bytes of the name, its closing quote and a ':', little endian, zero padded,
// and the masks of the bytes that count.
type segmentKey struct {
	name         string
	words, masks [3]uint64
}

// segmentKeys are the known keys of a kind of object, in the order of the switch that
// decodes their values.
type segmentKeys struct {
	keys []segmentKey
	lens uint64 // bit n set when a key has n bytes
	// firsts has bit c set for the first byte of each key, c, and for c|0x20: a key whose
	// first byte, c|0x20, is not in it is none of keys, even but for case.
	firsts [2]uint64
}

// newSegmentKeys returns the segmentKeys of names, in their order.
func newSegmentKeys(names ...string) segmentKeys {
	keys := make([]segmentKey, len(names))
	var lens uint64
	var firsts [2]uint64
	for j, name := range names {
		lens |= 1 << len(name)
		for _, c := range [...]byte{name[0], name[0] | 0x20} {
			firsts[c/64&1] |= 1 << (c % 64)
		}
		k := &keys[j]
		k.name = name
		for n, c := range []byte(name + `":`) {
			if n < 24 {
				k.words[n/8] |= uint64(c) << (8 * (n % 8))
				k.masks[n/8] |= 0xff << (8 * (n % 8))
			}
		}
	}
	return segmentKeys{keys, lens, firsts}
}

// at reports whether the text of the key that starts at b[i], after its opening quote, is
// k's name followed at once by its ':': the name's bytes, a '"' (which the name, with no
// backslash, does not escape) and a ':'.
func (k *segmentKey) at(b []byte, i int) bool {
	if len(k.name) < 22 && len(b)-i >= 24 {
		w := b[i : i+24 : i+24]
		return k.atWords(binary.LittleEndian.Uint64(w), binary.LittleEndian.Uint64(w[8:]), binary.LittleEndian.Uint64(w[16:]))
	}
	end := i + len(k.name)
	return end+1 < len(b) && b[end] == '"' && b[end+1] == ':' && string(b[i:end]) == k.name
}

// atWords is at for a name shorter than 22 bytes, given the 24 bytes at i as three words,
// little endian.
func (k *segmentKey) atWords(x0, x1, x2 uint64) bool {
	return (x0^k.words[0])&k.masks[0]|(x1^k.words[1])&k.masks[1]|(x2^k.words[2])&k.masks[2] == 0
}

// properties decodes what the properties at b[i] say of revenue and the referrer.
func (sf *segmentFast) properties(b []byte, i, depth int, p *segmentProperties) (int, bool) {
	return sf.members(b, i, depth, &segmentPropertiesKeys, &sf.orders[propertiesObject], func(k int, i int) (int, bool) {
		end, ok := skipValue(b, i, depth+1)
		if !ok {
			return end, false
		}
		v := b[i:end]
		switch k {
		case 0:
			return end, p.Revenue.UnmarshalJSON(v) == nil
		case 1:
			return end, p.Total.UnmarshalJSON(v) == nil
		case 2:
			return end, p.Value.UnmarshalJSON(v) == nil
		case 3:
			return end, v[0] != '"' && p.Currency.UnmarshalJSON(v) == nil || v[0] == '"' && sf.setID(b, i, &p.Currency)
		}
		return end, v[0] != '"' && p.Referrer.UnmarshalJSON(v) == nil || v[0] == '"' && sf.setID(b, i, &p.Referrer)
	})
}

// context decodes the context at b[i].
func (sf *segmentFast) context(b []byte, i, depth int, c *segmentContext) (int, bool) {
	if isNull(b, i) {
		return i + 4, true
	}
	return sf.members(b, i, depth, &segmentContextKeys, &sf.orders[contextObject], func(k int, i int) (int, bool) {
		d := depth + 1
		switch k {
		case 0:
			return sf.str(b, i, &c.IP)
		case 1:
			return sf.str(b, i, &c.UserAgent)
		case 2:
			return sf.str(b, i, &c.Locale)
		case 3:
			return sf.object(b, i, d, &segmentDeviceKeys, &sf.orders[deviceObject], func(k int, i int) (int, bool) {
				switch k {
				case 0:
					return sf.str(b, i, &c.Device.ID)
				case 1:
					return sf.str(b, i, &c.Device.AdvertisingID)
				case 2:
					return boolField(b, i, &c.Device.AdTrackingEnabled)
				case 3:
					return sf.str(b, i, &c.Device.Model)
				}
				return sf.str(b, i, &c.Device.Type)
			})
		case 4:
			return sf.object(b, i, d, &segmentOSKeys, &sf.orders[osObject], func(k int, i int) (int, bool) {
				if k == 0 {
					return sf.str(b, i, &c.OS.Name)
				}
				return sf.str(b, i, &c.OS.Version)
			})
		case 5:
			return sf.object(b, i, d, &segmentVersionKeys, &sf.orders[appObject], func(_ int, i int) (int, bool) { return sf.id(b, i, &c.App.Version) })
		case 6:
			return sf.object(b, i, d, &segmentLocationKeys, &sf.orders[locationObject], func(_ int, i int) (int, bool) { return sf.str(b, i, &c.Location.Country) })
		case 7:
			return raw(b, i, d, &c.Referrer)
		}
		return raw(b, i, d, &c.Campaign)
	})
}

// object decodes the object at b[i] (null: nothing) with sf.members.
func (sf *segmentFast) object(b []byte, i, depth int, keys *segmentKeys, order *keyOrder, member func(int, int) (int, bool)) (int, bool) {
	if isNull(b, i) {
		return i + 4, true
	}
	return sf.members(b, i, depth, keys, order, member)
}

// members walks the object at b[i], at depth depth, and calls member with the index in
// keys of each known key and the index of its value; member returns the index after the
// value. Other keys' values are skipped. It is false for an object that is not strict
// JSON, and for one the reference must decode: a key with an escape or a rune other than
// ASCII, a known key twice, a key that is a known one but for case. order (of the kind
// of the object, for keys) is first tried for each key, then learns the order.
func (sf *segmentFast) members(b []byte, i, depth int, keys *segmentKeys, order *keyOrder, member func(k, i int) (int, bool)) (int, bool) {
	if depth > maxDepth || i >= len(b) || b[i] != '{' {
		return i, false
	}
	var seen uint32
	prev := 0 // the index plus one of the last known key, 0 at the start
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		// The key that came after prev last time is compared first, with the ':' that
		// follows it, without scanning the key: the text between the quotes is that key,
		// with no escape, when it is followed by '"' (a key has no backslash). end is then
		// the index after the ':'.
		// (at, its common case written here, as members is too large to inline a call)
		var k, end int
		var ok bool
		if next := order[prev]; next != 0 {
			kk := &keys.keys[next-1]
			if j := i + 25; len(kk.name) < 22 && j <= len(b) {
				w := b[i+1 : j : j]
				ok = kk.atWords(binary.LittleEndian.Uint64(w), binary.LittleEndian.Uint64(w[8:]), binary.LittleEndian.Uint64(w[16:]))
			} else {
				ok = kk.at(b, i+1)
			}
			k, end = int(next)-1, i+len(kk.name)+3
		}
		if !ok {
			if k, end, ok = keyAt(b, i, keys, order, prev); !ok {
				return end, false
			}
			if end = skipSpace(b, end); end >= len(b) || b[end] != ':' {
				return end, false
			}
			end++
		}
		if i = skipSpace(b, end); i >= len(b) {
			return i, false
		}
		if k >= 0 {
			prev = k + 1
		}
		switch {
		case k < 0:
			i, ok = skipValue(b, i, depth+1)
		case seen&(1<<k) != 0:
			return i, false
		default:
			seen |= 1 << k
			i, ok = member(k, i)
		}
		if !ok {
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

// keyAt returns the index in keys of the key at b[i], a '"', or -1 for an unknown key,
// and the index after the key; prev is as members has it, which compared the key that
// came after prev last time already. It is false for a key that is not strict JSON or
// that members must leave to the reference; it learns the key that comes after prev.
func keyAt(b []byte, i int, keys *segmentKeys, order *keyOrder, prev int) (int, int, bool) {
	end, flags, ok := scanString(b, i)
	if !ok || flags != 0 {
		return -1, end, false
	}
	key := bytesString(b[i+1 : end-1])
	if len(key) >= 64 || keys.lens&(1<<len(key)) == 0 { // no known key of its length
		return -1, end, true
	}
	if c := key[0] | 0x20; keys.firsts[c/64&1]&(1<<(c%64)) == 0 { // nor of its first letter
		return -1, end, true
	}
	for j := range keys.keys {
		if key == keys.keys[j].name {
			order[prev] = uint8(j) + 1
			return j, end, true
		}
	}
	return -1, end, !foldsToKnown(key, keys.keys)
}

// foldsToKnown reports whether key, ASCII, equals one of keys, ASCII, but for case: the
// reference (encoding/json's case folding) would take it for that key. Folded ASCII keeps
// the length, so only keys of key's length can match.
func foldsToKnown(key string, keys []segmentKey) bool {
	for _, k := range keys {
		known := k.name
		if len(known) != len(key) {
			continue
		}
		same := true
		for j := 0; j < len(key) && same; j++ {
			x, y := key[j], known[j]
			same = x == y || x|0x20 == y|0x20 && 'a' <= x|0x20 && x|0x20 <= 'z'
		}
		if same {
			return true
		}
	}
	return false
}

// str decodes the string (or null) at b[i] into dst.
func (sf *segmentFast) str(b []byte, i int, dst *string) (int, bool) {
	if b[i] != '"' {
		if isNull(b, i) {
			*dst = ""
			return i + 4, true
		}
		return i, false
	}
	end, flags, ok := scanString(b, i)
	if ok && flags&hasEscape == 0 { // eb.stringValue's common case, without the call
		*dst = bytesString(b[i+1 : end-1])
		return end, true
	}
	s, end, ok := sf.eb.stringValue(b, i) // a copy of the scratch when it has escapes
	*dst = s
	return end, ok
}

// id decodes the id (a string or null) at b[i] into dst; a number goes to the reference.
func (sf *segmentFast) id(b []byte, i int, dst *segmentID) (int, bool) {
	return sf.str(b, i, (*string)(dst))
}

// setID is id for a value known to be a string; it reports whether it decoded.
func (sf *segmentFast) setID(b []byte, i int, dst *segmentID) bool {
	_, ok := sf.id(b, i, dst)
	return ok
}

// raw sets dst to the value at b[i], as json.RawMessage decodes it.
func raw(b []byte, i, depth int, dst *json.RawMessage) (int, bool) {
	end, ok := skipValue(b, i, depth)
	*dst = b[i:end:end]
	return end, ok
}

// timeField decodes the time at b[i] as segmentTime does; a time it refuses goes to the
// reference, which names the field.
func timeField[F fieldName](b []byte, i, depth int, dst *segmentTime[F]) (int, bool) {
	if b[i] == '"' {
		end, flags, ok := scanString(b, i)
		if !ok || flags&hasEscape != 0 {
			return end, false
		}
		t, err := parseSegmentTimeText(bytesString(b[i+1 : end-1]))
		return end, err == nil && dst.set(t, nil) == nil
	}
	end, ok := skipValue(b, i, depth)
	if !ok || b[i] != '-' && (b[i] < '0' || b[i] > '9') && !isNull(b, i) {
		return end, false
	}
	return end, dst.UnmarshalJSON(b[i:end]) == nil
}

// trueValue and falseValue are what boolField points to; never written.
var trueValue, falseValue = true, false

// boolField decodes true, false or null at b[i] into dst.
func boolField(b []byte, i int, dst **bool) (int, bool) {
	for _, lit := range [...]string{"false", "true", "null"} {
		if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
			switch lit {
			case "null":
				*dst = nil
			case "true":
				*dst = &trueValue
			default:
				*dst = &falseValue
			}
			return i + len(lit), true
		}
	}
	return i, false
}
