// Package postback tells ad networks and advertisers what their traffic did
// (POSTBACKS.md): the template engine that expands macros with the escaping of where each
// stands, the choice of deliveries owed for a decision or an event, request signatures,
// the sender that refuses private destinations at dial time, and the worker that delivers
// from an unmogrowp.Outbox with a concurrency limit per destination.
package postback

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/unmogrowp/unmogrowp"
)

// Values gives the value of each macro for one delivery; an absent value is "".
type Values interface {
	Value(macro string) string
}

// escaping says how a macro's value is written where it stands.
type escaping uint8

const (
	escPercent    escaping = iota // URL, form body: every byte but A-Z a-z 0-9 - . _ ~ percent-encoded
	escJSONString                 // inside a JSON string: JSON string escapes
	escJSONValue                  // a JSON value of its own: see appendJSONValue
	escHeader                     // header value: control characters become spaces
)

// segment is literal text followed by at most one macro.
type segment struct {
	lit   string
	macro string // "" when the segment is only text
	esc   escaping
}

// Template is a parsed template, ready to expand. It is immutable and safe for concurrent
// use.
type Template struct {
	segs []segment
	json bool
}

// ParseURL parses a URL template: an http(s) URL whose scheme and host stand before the
// first macro (see unmogrowp.Postback.Validate). Every value is percent-encoded but for the
// unreserved characters of RFC 3986, in the path as in the query ("a b&c" becomes
// a%20b%26c), so no value can add a path segment, a query parameter or change the host.
// Returns EINVALID naming the problem.
func ParseURL(s string) (*Template, error) {
	if err := unmogrowp.ValidateURLTemplate(s); err != nil {
		return nil, err
	}
	return build(unmogrowp.TemplateParts(s), func(int) escaping { return escPercent }), nil
}

// ParseBody parses a body template. A template that is JSON once its macros are replaced
// by placeholders (checked with two sets of them, so that no value can break out of where
// its macro stands) is a JSON template: a macro inside a JSON string is JSON-string
// escaped; a macro standing as a value of its own is written as a JSON value (see
// appendJSONValue). Any other template is taken for a form body
// (application/x-www-form-urlencoded): values are percent-encoded as in a URL. Returns
// EINVALID naming an unknown macro.
func ParseBody(s string) (*Template, error) {
	parts := unmogrowp.TemplateParts(s)
	if err := unmogrowp.CheckMacros("body_template", parts); err != nil {
		return nil, err
	}
	if escs, ok := jsonEscapings(parts); ok {
		t := build(parts, func(i int) escaping { return escs[i] })
		t.json = true
		return t, nil
	}
	return build(parts, func(int) escaping { return escPercent }), nil
}

// ParseHeader parses a header value template: values have their control characters
// (CR and LF among them) replaced by spaces, so a value can never start another header.
// Returns EINVALID naming an unknown macro or a line break in the template.
func ParseHeader(name, s string) (*Template, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "headers.%s must not contain a line break.", name)
	}
	parts := unmogrowp.TemplateParts(s)
	if err := unmogrowp.CheckMacros("headers."+name, parts); err != nil {
		return nil, err
	}
	return build(parts, func(int) escaping { return escHeader }), nil
}

// JSON reports whether the template is a JSON template (see ParseBody).
func (t *Template) JSON() bool { return t.json }

// Expand appends the template expanded with v's values to dst and returns the extended
// slice.
func (t *Template) Expand(dst []byte, v Values) []byte {
	for _, s := range t.segs {
		dst = append(dst, s.lit...)
		if s.macro == "" {
			continue
		}
		val := v.Value(s.macro)
		switch s.esc {
		case escPercent:
			dst = appendPercent(dst, val)
		case escJSONString:
			dst = appendJSONString(dst, val)
		case escJSONValue:
			dst = appendJSONValue(dst, s.macro, val)
		case escHeader:
			dst = appendHeader(dst, val)
		}
	}
	return dst
}

// String expands the template with v's values.
func (t *Template) String(v Values) string { return string(t.Expand(nil, v)) }

// build makes a template of parts, the i-th macro escaped by esc(i).
func build(parts []unmogrowp.TemplatePart, esc func(i int) escaping) *Template {
	t := &Template{}
	var lit strings.Builder
	m := 0
	for _, p := range parts {
		if !p.Macro {
			lit.WriteString(p.Text)
			continue
		}
		t.segs = append(t.segs, segment{lit: lit.String(), macro: p.Text, esc: esc(m)})
		lit.Reset()
		m++
	}
	if lit.Len() > 0 {
		t.segs = append(t.segs, segment{lit: lit.String()})
	}
	return t
}

// jsonEscapings tells, for each macro of parts, whether it stands inside a JSON string or
// as a value of its own, and false when the template is not JSON. The template must be
// valid JSON with every macro replaced by 0, and again with macros inside strings replaced
// by z and the others by "": a macro right after a backslash, in a \u escape, or glued to
// another token fails one of the two, so no expansion can make the body invalid.
func jsonEscapings(parts []unmogrowp.TemplatePart) ([]escaping, bool) {
	var first []byte
	var escs []escaping
	inString, escaped := false, false
	for _, p := range parts {
		text := p.Text
		if p.Macro {
			text = "0"
			if inString {
				escs = append(escs, escJSONString)
			} else {
				escs = append(escs, escJSONValue)
			}
		}
		first = append(first, text...)
		for i := 0; i < len(text); i++ {
			switch c := text[i]; {
			case escaped:
				escaped = false
			case inString && c == '\\':
				escaped = true
			case c == '"':
				inString = !inString
			}
		}
	}
	if len(escs) == 0 || !json.Valid(first) {
		return nil, len(escs) == 0 && json.Valid(first)
	}
	var second []byte
	m := 0
	for _, p := range parts {
		switch {
		case !p.Macro:
			second = append(second, p.Text...)
		case escs[m] == escJSONString:
			second = append(second, 'z')
			m++
		default:
			second = append(second, `""`...)
			m++
		}
	}
	return escs, json.Valid(second)
}

// appendPercent appends s with every byte but the unreserved characters of RFC 3986
// (A-Z a-z 0-9 - . _ ~) percent-encoded: safe in a path segment, a query and a form.
func appendPercent(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
			dst = append(dst, c)
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// appendJSONString appends s escaped for the inside of a JSON string: quote, backslash and
// control characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// rawJSONMacros are the macros written as themselves where they stand as a JSON value of
// their own and their value is a JSON number (or, for the flags, true or false; for
// event_data_json, a JSON object).
var rawJSONMacros = map[string]bool{
	"install_unix_ts": true, "click_unix_ts": true, "ctit": true, "event_unix_ts": true,
	"event_revenue": true, "is_reinstall": true, "is_reattribution": true,
	"event_data_json": true,
}

// appendJSONValue appends the value of a macro that stands as a JSON value of its own:
// the numeric macros, the flags and event_data_json as themselves when they hold a number,
// true/false or an object; every other value, and an absent one, as a JSON string.
func appendJSONValue(dst []byte, macro, v string) []byte {
	if v != "" && rawJSONMacros[macro] {
		switch {
		case v == "true" || v == "false":
			return append(dst, v...)
		case (v[0] == '-' || v[0] >= '0' && v[0] <= '9' || v[0] == '{') && json.Valid([]byte(v)):
			return append(dst, v...)
		}
	}
	dst = append(dst, '"')
	dst = appendJSONString(dst, v)
	return append(dst, '"')
}

// appendHeader appends s with every control character (CR and LF among them, tab aside)
// replaced by a space.
func appendHeader(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}
