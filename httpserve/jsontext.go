package httpserve

import (
	"maps"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
)

// CheckJSONText returns an EINVALID *Error, naming the member when it can, else what the
// object is ("The body", "Each event"), when the JSON object raw (which decoded without
// error) has bytes that are not UTF-8, or a \u escape of a lone UTF-16 surrogate in a
// string of one of the top-level members named in decoded (matched as the JSON decoder
// matches keys, ignoring case), or of any member when decoded is nil; nil otherwise. The
// JSON decoder would mend both into U+FFFD, so that two different ids could be stored as
// one: text from outside is refused instead.
func CheckJSONText(raw []byte, what string, decoded []string) error {
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
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
