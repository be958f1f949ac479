package ingest

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
)

// The JSON decoder mends what is not text: it decodes bytes that are not UTF-8, and a \u
// escape of a lone UTF-16 surrogate, as U+FFFD, so that two different ids could be stored
// as one. The decoders of outside input refuse such text instead (checkJSONText). The fast
// decoder agrees: it leaves a body with bytes that are not UTF-8 to splitBatch, and an
// event with a surrogate escape in a string field to decodeEvent; a lone surrogate escape
// inside attribution or event_data is kept as sent, escape and all, by both.

// CheckJSONText returns an EINVALID *Error, naming the field when it can, when the JSON
// object body (which decoded without error) has bytes that are not UTF-8 or a \u escape
// of a lone UTF-16 surrogate in one of its strings; nil otherwise.
func CheckJSONText(body []byte) error { return checkJSONText(body, "The body", nil) }

// checkJSONText is CheckJSONText for an object of the kind what ("Each event"), whose
// lone surrogate escapes only count in the top-level members named in decoded (matched
// as the decoder matches keys, ignoring case), or in every member when decoded is nil.
func checkJSONText(raw []byte, what string, decoded []string) error {
	valid := utf8.Valid(raw)
	if valid && !hasLoneSurrogate(raw) {
		return nil
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) == nil {
		for _, key := range slices.Sorted(maps.Keys(members)) {
			v := members[key]
			bad := !utf8.Valid(v) || (decoded == nil || slices.ContainsFunc(decoded, func(f string) bool { return strings.EqualFold(f, key) })) && hasLoneSurrogate(v)
			if bad && len(key) <= unmogrowp.MaxEventTypeLen && unmogrowp.ValidateName("key", key) == nil {
				return unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be valid UTF-8 text, without \\u escapes of lone surrogates.", key)
			}
		}
	}
	if !valid {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be valid UTF-8 JSON.", what)
	}
	return nil
}

// hasLoneSurrogate reports whether the JSON text b has a \u escape of a UTF-16 surrogate
// that is not half of a pair (a high one followed by a low one).
func hasLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b)-1; i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] != 'u' {
			i++ // the escaped byte, which may be a backslash
			continue
		}
		r, ok := escapedRune(b, i)
		switch {
		case !ok || !utf16.IsSurrogate(r):
		case r >= 0xdc00: // a low surrogate first
			return true
		default:
			if low, ok := escapedRune(b, i+6); !ok || low < 0xdc00 || low > 0xdfff {
				return true
			}
			i += 6
		}
		i += 5
	}
	return false
}

// escapedRune returns the rune of the \uXXXX escape at b[i], if there is one.
func escapedRune(b []byte, i int) (rune, bool) {
	if len(b)-i < 6 || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[i+2 : i+6] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(hexValue(c))
	}
	return r, true
}

// stringFields returns the JSON names of the string fields of the struct type T.
func stringFields[T any]() []string {
	var names []string
	t := reflect.TypeFor[T]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Type.Kind() == reflect.String {
			names = append(names, strings.Split(f.Tag.Get("json"), ",")[0])
		}
	}
	return names
}

// The string fields of an event and of a touchpoint: those whose lone surrogate escapes
// the decoder would turn into U+FFFD.
var (
	eventStringFields      = stringFields[wireEvent]()
	touchpointStringFields = stringFields[wireTouchpoint]()
)
