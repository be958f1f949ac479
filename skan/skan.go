// Package skan reads and verifies Apple's attribution postbacks: SKAdNetwork's
// install-validation postbacks (versions 1.0 to 4.0) and AdAttributionKit's compact JWS,
// against Apple's published keys, as Apple's documentation "Verifying an
// install-validation postback" and AdAttributionKit's "Verifying a postback" describe.
//
// Apple signs with a handful of fixed keys, so each key of a Keys table gets a
// precomputed table of its multiples (a fixed-base comb, 1.2 MiB, built on the key's
// first verification in about 10 ms of CPU): the multiplication by the signer's point,
// most of an ECDSA verification, becomes at most 26 point additions (nistec's, the
// standard library's P-256 assembly) instead of 256 doublings and about 52 additions.
// Every answer is crypto/ecdsa.VerifyASN1's, which TestCombMatchesStdlib and
// FuzzCombMatchesStdlib check on valid, altered and malformed signatures; the time it
// saves is what BenchmarkCombVerify (one verification, both ways) and BenchmarkVerify (a
// postback read and verified) measure.
package skan

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
)

// separator joins the signed fields of an SKAdNetwork postback: U+2063, INVISIBLE
// SEPARATOR.
const separator = "\u2063"

// separatorBytes is separator as bytes.
var separatorBytes = []byte(separator)

// maxFieldLen is the longest string field kept, in bytes; a longer one is cut (after
// verification, which sees it whole).
const maxFieldLen = 512

// wire is either body: an SKAdNetwork postback, or AdAttributionKit's outer object
// (jws-string and the unsigned fields). Values are kept raw: Apple's examples send
// numbers, some forwarders strings, and the signature covers the text.
type wire struct {
	Version               json.RawMessage `json:"version"`
	AdNetworkID           json.RawMessage `json:"ad-network-id"`
	SourceIdentifier      json.RawMessage `json:"source-identifier"`
	CampaignID            json.RawMessage `json:"campaign-id"`
	AppID                 json.RawMessage `json:"app-id"`
	TransactionID         json.RawMessage `json:"transaction-id"`
	Redownload            json.RawMessage `json:"redownload"`
	SourceAppID           json.RawMessage `json:"source-app-id"`
	SourceDomain          json.RawMessage `json:"source-domain"`
	FidelityType          json.RawMessage `json:"fidelity-type"`
	DidWin                json.RawMessage `json:"did-win"`
	ConversionValue       json.RawMessage `json:"conversion-value"`
	CoarseConversionValue json.RawMessage `json:"coarse-conversion-value"`
	PostbackSequenceIndex json.RawMessage `json:"postback-sequence-index"`
	AttributionSignature  json.RawMessage `json:"attribution-signature"`
	JWS                   json.RawMessage `json:"jws-string"`
	AdInteractionType     json.RawMessage `json:"ad-interaction-type"`
	CountryCode           json.RawMessage `json:"country-code"`
}

// aakPayload is the signed payload of an AdAttributionKit JWS.
type aakPayload struct {
	PostbackIdentifier       json.RawMessage `json:"postback-identifier"`
	PublisherItemIdentifier  json.RawMessage `json:"publisher-item-identifier"`
	AdvertisedItemIdentifier json.RawMessage `json:"advertised-item-identifier"`
	AdNetworkIdentifier      json.RawMessage `json:"ad-network-identifier"`
	SourceIdentifier         json.RawMessage `json:"source-identifier"`
	SourceDomain             json.RawMessage `json:"source-domain"`
	DidWin                   json.RawMessage `json:"did-win"`
	PostbackSequenceIndex    json.RawMessage `json:"postback-sequence-index"`
	ConversionType           json.RawMessage `json:"conversion-type"`
	CountryCode              json.RawMessage `json:"country-code"`
}

// Read parses one postback body, SKAdNetwork's or AdAttributionKit's (it has
// jws-string), and verifies its signature: the result's Signature and Environment say
// what was found, never an error. It returns an EINVALID error only for a body that is
// not a JSON object. Fields the body lacks, or carries with the wrong type, are absent
// (unmogrowp.Absent, ""); AppStoreID absent means the postback names no app. Strings are
// made valid UTF-8 and cut at 512 bytes. ID, AppID, FromApple and ReceivedAt are left for
// the caller.
func (k *Keys) Read(body []byte) (unmogrowp.SKANPostback, error) {
	var w wire
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || gojson.Unmarshal(body, &w) != nil {
		return unmogrowp.SKANPostback{}, unmogrowp.Errorf(unmogrowp.EINVALID, "A postback must be a JSON object.")
	}
	p := unmogrowp.SKANPostback{
		Environment:           unmogrowp.EnvironmentProduction,
		ConversionValue:       conversionValue(w.ConversionValue),
		CoarseConversionValue: coarse(w.CoarseConversionValue),
		AdInteractionType:     str(w.AdInteractionType),
		CountryCode:           str(w.CountryCode),
	}
	if jws, ok := text(w.JWS); ok {
		p.Kind = unmogrowp.SKANKindAAK
		k.readJWS(jws, &p)
	} else {
		p.Kind = unmogrowp.SKANKindSKAN
		k.readSKAN(&w, &p)
	}
	for _, s := range []*string{&p.Version, &p.AdNetworkID, &p.SourceIdentifier, &p.SourceDomain,
		&p.TransactionID, &p.PostbackIdentifier, &p.ConversionType, &p.AdInteractionType, &p.CountryCode} {
		*s = clean(*s)
	}
	return p, nil
}

// readSKAN fills p from an SKAdNetwork postback and verifies its attribution-signature.
func (k *Keys) readSKAN(w *wire, p *unmogrowp.SKANPostback) {
	p.Version = str(w.Version)
	p.AdNetworkID = str(w.AdNetworkID)
	p.SourceIdentifier = str(w.SourceIdentifier)
	p.CampaignID = integer(w.CampaignID)
	p.AppStoreID = integer(w.AppID)
	p.TransactionID = str(w.TransactionID)
	p.Redownload = boolean(w.Redownload)
	p.SourceAppID = integer(w.SourceAppID)
	p.SourceDomain = str(w.SourceDomain)
	p.FidelityType = integer(w.FidelityType)
	p.DidWin = boolean(w.DidWin)
	p.PostbackSequenceIndex = integer(w.PostbackSequenceIndex)
	p.PublisherItemIdentifier = unmogrowp.Absent
	p.Signature = k.verifySKAN(w, p.Version)
}

// signedFields lists, per SKAdNetwork version, the fields its signature covers, in order.
// "source" is source-app-id (or, from 4.0, source-domain), included only when present.
var signedFields = map[string][]string{
	"2.1": {"version", "ad-network-id", "campaign-id", "app-id", "transaction-id", "redownload", "source"},
	"2.2": {"version", "ad-network-id", "campaign-id", "app-id", "transaction-id", "redownload", "source", "fidelity-type"},
	"3.0": {"version", "ad-network-id", "campaign-id", "app-id", "transaction-id", "redownload", "source", "fidelity-type", "did-win"},
	"4.0": {"version", "ad-network-id", "source-identifier", "app-id", "transaction-id", "redownload", "source", "fidelity-type", "did-win", "postback-sequence-index"},
}

// verifySKAN checks an SKAdNetwork postback's signature against the SKAdNetwork key. A
// version without a P-256 signature (1.0, 2.0, none) or one we do not know is
// unsupported; a missing signed field, a value holding the separator (which would move a
// field boundary under the same signature) or a signature that does not verify is
// invalid. The signed string is built in a buffer on the stack.
func (k *Keys) verifySKAN(w *wire, version string) string {
	fields, ok := signedFields[version]
	if !ok || k.skan == nil {
		return unmogrowp.SignatureUnsupported
	}
	var sigBuf [80]byte // an ASN.1 P-256 signature is at most 72 bytes
	sigText, ok := appendText(sigBuf[:0], w.AttributionSignature)
	if !ok {
		return unmogrowp.SignatureInvalid
	}
	var decoded [80]byte
	sig, err := base64.StdEncoding.AppendDecode(decoded[:0], sigText)
	if err != nil {
		if sig, err = base64.RawStdEncoding.AppendDecode(decoded[:0], sigText); err != nil {
			return unmogrowp.SignatureInvalid
		}
	}
	var msgBuf [512]byte
	msg, ok := appendSigned(msgBuf[:0], w, fields, version)
	if !ok {
		return unmogrowp.SignatureInvalid
	}
	if !k.verify(k.skan, sha256.Sum256(msg), sig, false) {
		return unmogrowp.SignatureInvalid
	}
	return unmogrowp.SignatureValid
}

// appendSigned appends to msg the string an SKAdNetwork postback's signature covers: the
// fields, in the version's order, joined by the separator. It reports false when a field
// is missing or holds the separator (which would move a field boundary under the same
// signature).
func appendSigned(msg []byte, w *wire, fields []string, version string) ([]byte, bool) {
	var ok bool
	for _, f := range fields {
		var raw json.RawMessage
		isBool := false
		switch f {
		case "version":
			raw = w.Version
		case "ad-network-id":
			raw = w.AdNetworkID
		case "campaign-id":
			raw = w.CampaignID
		case "source-identifier":
			raw = w.SourceIdentifier
		case "app-id":
			raw = w.AppID
		case "transaction-id":
			raw = w.TransactionID
		case "redownload":
			raw, isBool = w.Redownload, true
		case "source":
			raw = w.SourceAppID
			if _, ok := appendText(nil, raw); !ok && version == "4.0" {
				raw = w.SourceDomain
			}
			if _, ok := appendText(nil, raw); !ok {
				continue // only when present
			}
		case "fidelity-type":
			raw = w.FidelityType
		case "did-win":
			raw, isBool = w.DidWin, true
		case "postback-sequence-index":
			raw = w.PostbackSequenceIndex
		}
		if len(msg) > 0 {
			msg = append(msg, separator...)
		}
		start := len(msg)
		if isBool {
			msg, ok = appendBoolText(msg, raw)
		} else {
			msg, ok = appendText(msg, raw)
		}
		if !ok || bytes.Contains(msg[start:], separatorBytes) {
			return msg, false
		}
	}
	return msg, true
}

// jwsHeader is the protected header of an AdAttributionKit JWS.
type jwsHeader struct {
	Alg string `json:"alg"`
	KID string `json:"kid"`
}

// readJWS fills p from an AdAttributionKit compact JWS and verifies it: the header must
// say ES256 and name a key of the table by kid; the signature is the raw 64-byte r‖s over
// base64url(header).base64url(payload). The payload is read whatever the signature, so
// that the postback's app is found. The environment is the key's; for an unknown kid, a
// development one when the kid says so.
func (k *Keys) readJWS(jws string, p *unmogrowp.SKANPostback) {
	p.Signature = unmogrowp.SignatureInvalid
	p.CampaignID, p.AppStoreID, p.SourceAppID, p.PublisherItemIdentifier = unmogrowp.Absent, unmogrowp.Absent, unmogrowp.Absent, unmogrowp.Absent
	p.PostbackSequenceIndex, p.DidWin, p.Redownload, p.FidelityType = unmogrowp.Absent, unmogrowp.Absent, unmogrowp.Absent, unmogrowp.Absent
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return
	}
	var pl aakPayload
	if b, err := b64url(parts[1]); err == nil && gojson.Unmarshal(b, &pl) == nil {
		p.PostbackIdentifier = str(pl.PostbackIdentifier)
		p.PublisherItemIdentifier = integer(pl.PublisherItemIdentifier)
		p.AppStoreID = integer(pl.AdvertisedItemIdentifier)
		p.AdNetworkID = str(pl.AdNetworkIdentifier)
		p.SourceIdentifier = str(pl.SourceIdentifier)
		p.SourceDomain = str(pl.SourceDomain)
		p.DidWin = boolean(pl.DidWin)
		p.PostbackSequenceIndex = integer(pl.PostbackSequenceIndex)
		p.ConversionType = str(pl.ConversionType)
		switch p.ConversionType {
		case "download":
			p.Redownload = 0
		case "redownload":
			p.Redownload = 1
		}
		if cc := str(pl.CountryCode); cc != "" && p.CountryCode == "" {
			p.CountryCode = cc
		}
	}
	var h jwsHeader
	b, err := b64url(parts[0])
	if err != nil || json.Unmarshal(b, &h) != nil {
		return
	}
	key, ok := k.byKID[h.KID]
	if !ok {
		if strings.HasPrefix(h.KID, "apple-development-identifier") {
			p.Environment = unmogrowp.EnvironmentDevelopment
		}
		return
	}
	p.Environment = key.environment
	if h.Alg != "ES256" {
		return
	}
	sig, err := b64url(parts[2])
	if err != nil || len(sig) != 64 {
		return
	}
	digest := sha256.Sum256([]byte(jws[:len(parts[0])+1+len(parts[1])]))
	if k.verify(&key, digest, sig, true) {
		p.Signature = unmogrowp.SignatureValid
	}
}

// b64url decodes base64url, with or without padding.
func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// text returns the value's text as a signature covers it: a string's contents, a number's
// or a boolean's literal. It reports false for an absent value, null, an object or an
// array.
func text(raw json.RawMessage) (string, bool) {
	if len(raw) > 0 && raw[0] != '"' {
		switch c := raw[0]; {
		case c == 't' || c == 'f' || c == '-' || (c >= '0' && c <= '9'):
			return string(raw), true
		}
		return "", false
	}
	var buf [128]byte
	b, ok := appendText(buf[:0], raw)
	return string(b), ok
}

// appendText appends text(raw) to dst. A string without escapes, in valid UTF-8, is
// copied as it is (the JSON decoder has checked it); any other goes through
// json.Unmarshal, which makes invalid UTF-8 U+FFFD as text always has.
func appendText(dst []byte, raw json.RawMessage) ([]byte, bool) {
	if len(raw) == 0 {
		return dst, false
	}
	switch c := raw[0]; {
	case c == '"':
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return append(dst, inner...), true
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return dst, false
		}
		return append(dst, s...), true
	case c == 't' || c == 'f' || c == '-' || (c >= '0' && c <= '9'):
		return append(dst, raw...), true
	}
	return dst, false
}

// boolText is text for a boolean field: true and false, as strings or literals, and 1
// and 0, which an early example of Apple's sent, as "true" and "false".
func boolText(raw json.RawMessage) (string, bool) {
	var buf [16]byte
	b, ok := appendBoolText(buf[:0], raw)
	return string(b), ok
}

// appendBoolText appends boolText(raw) to dst.
func appendBoolText(dst []byte, raw json.RawMessage) ([]byte, bool) {
	start := len(dst)
	dst, ok := appendText(dst, raw)
	switch string(dst[start:]) {
	case "1":
		return append(dst[:start], "true"...), ok
	case "0":
		return append(dst[:start], "false"...), ok
	}
	return dst, ok
}

// str is text, "" when absent.
func str(raw json.RawMessage) string {
	v, _ := text(raw)
	return v
}

// integer is the value as a whole number, unmogrowp.Absent when absent or not one (or
// negative).
func integer(raw json.RawMessage) int64 {
	v, ok := text(raw)
	if !ok {
		return unmogrowp.Absent
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return unmogrowp.Absent
	}
	return n
}

// boolean is the value as 1 (true) or 0 (false), unmogrowp.Absent otherwise.
func boolean(raw json.RawMessage) int64 {
	switch v, _ := boolText(raw); v {
	case "true":
		return 1
	case "false":
		return 0
	}
	return unmogrowp.Absent
}

// conversionValue is the fine value, 0 to 63, unmogrowp.Absent for anything else.
func conversionValue(raw json.RawMessage) int64 {
	if n := integer(raw); n <= 63 {
		return n
	}
	return unmogrowp.Absent
}

// coarse is the coarse value, "" for anything but low, medium and high.
func coarse(raw json.RawMessage) string {
	switch v := str(raw); v {
	case "low", "medium", "high":
		return v
	}
	return ""
}

// clean makes s valid UTF-8 and cuts it at maxFieldLen bytes, on a rune boundary.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= maxFieldLen {
		return s
	}
	cut := maxFieldLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
