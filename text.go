package unmogrowp

import (
	"unicode"
	"unicode/utf8"
)

// Text taken from outside is refused, never mended: a string that is not valid UTF-8 would
// be stored with replacement characters (two ids can merge into one), and a control
// character in an id or a name (a lone NUL as an event type) is never meant.

// ValidateText checks a string taken from outside: it must be valid UTF-8. It returns an
// *Error with code EINVALID naming the field.
func ValidateText(field, v string) error {
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, "%s must be valid UTF-8 text.", field)
	}
	return nil
}

// ValidateName checks an id or a name taken from outside: it must be valid UTF-8 without
// control characters (C0, DEL and C1: unicode.IsControl). It returns an *Error with code
// EINVALID naming the field.
func ValidateName(field, v string) error {
	// Printable ASCII, the common case, eight bytes at a time: a word passes when no byte
	// has its top bit set (not ASCII), is below 0x20 or is 0x7f (both control characters).
	// A word that fails is checked again byte by byte, below.
	i := 0
	for ; i+8 <= len(v); i += 8 {
		b := v[i : i+8]
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		del := w ^ 0x7f7f7f7f7f7f7f7f
		if (w|(w-0x2020202020202020)&^w|(del-0x0101010101010101)&^del)&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(v); i++ { // the rest, byte by byte
		c := v[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return Errorf(EINVALID, "%s must not hold control characters.", field)
		case c >= utf8.RuneSelf:
			return validateNameRunes(field, v[i:])
		}
	}
	return nil
}

// validateNameRunes is ValidateName past the first byte that is not ASCII.
func validateNameRunes(field, v string) error {
	for _, r := range v {
		switch {
		case r == utf8.RuneError && !utf8.ValidString(v):
			return Errorf(EINVALID, "%s must be valid UTF-8 text.", field)
		case unicode.IsControl(r):
			return Errorf(EINVALID, "%s must not hold control characters.", field)
		}
	}
	return nil
}
