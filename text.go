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
	for i := 0; i < len(v); i++ { // ASCII, the common case, byte by byte
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
