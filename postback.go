package unmogrowp

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// Kinds of postback (POSTBACKS.md).
const (
	// KindPostback goes to an ad network: only its own media source's activity (or every
	// source's, with SendAll), never a device that does not share with third parties.
	KindPostback = "postback"
	// KindWebhook goes to the advertiser: a POST of the attribution or event object, for
	// every source, consent or not.
	KindWebhook = "webhook"
)

// Triggers: the activity kinds a postback may be sent for. They are also the values of the
// {activity_kind} macro and of Delivery.ActivityKind.
const (
	TriggerInstall         = "install"
	TriggerReinstall       = "reinstall"
	TriggerReattribution   = "reattribution"
	TriggerEvent           = "event"
	TriggerRejectedInstall = "rejected_install"
)

// Triggers lists every trigger, in the order the spec gives them.
var Triggers = []string{
	TriggerInstall, TriggerReinstall, TriggerReattribution, TriggerEvent, TriggerRejectedInstall,
}

// PostbackMacros lists the name of every macro a template may hold as {name}: exactly the
// macros of POSTBACKS.md.
var PostbackMacros = []string{
	"activity_kind",
	"app_id", "bundle_id", "platform", "os_version", "app_version", "country",
	"device_id", "idfa", "idfv", "gaid", "android_id", "ip", "user_agent",
	"media_source", "campaign", "adset", "ad", "site_id", "channel",
	"sub1", "sub2", "sub3", "sub4", "sub5", "deep_link_value",
	"click_id",
	"touchpoint_id", "match_type", "touch_type",
	"install_unix_ts", "click_unix_ts", "ctit",
	"is_reinstall", "is_reattribution",
	"event_name", "event_id", "event_unix_ts", "event_revenue", "event_currency", "event_data_json",
	"reject_reason", "reject_reason_value",
	"delivery_id",
}

// Limits on a postback's fields.
const (
	MaxPostbackNameLen     = 200
	MaxURLTemplateLen      = 4096
	MaxBodyTemplateLen     = 64 << 10
	MaxPostbackHeaders     = 32
	MaxHeaderNameLen       = 256
	MaxHeaderValueLen      = 4096
	MaxPostbackSecretLen   = 256
	MaxPostbackEventTypes  = 100
	maxPostbackStringField = maxShortFieldLen
)

// Postback is an app's postback or webhook: where and how to tell a network (or the
// advertiser) about installs, rejected installs and events (POSTBACKS.md). Templates hold
// {name} macros of PostbackMacros; see TemplateParts for the syntax.
type Postback struct {
	ID          string   `json:"id"`
	AppID       string   `json:"-"` // the app in the URL, not in the object
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`         // KindPostback or KindWebhook
	MediaSource string   `json:"media_source"` // the network served; "" for a webhook
	SendAll     bool     `json:"send_all"`     // also other sources' and organic activity
	Triggers    []string `json:"triggers"`
	EventTypes  []string `json:"event_types"` // which events TriggerEvent sends; empty: all
	Method      string   `json:"method"`      // GET or POST
	URLTemplate string   `json:"url_template"`
	// BodyTemplate is the body of a POST postback; values are JSON-string-escaped where
	// the template is JSON, form-escaped elsewhere. Empty for a webhook, whose body is the
	// attribution or event object.
	BodyTemplate string            `json:"body_template"`
	Headers      map[string]string `json:"headers"` // extra request headers; macros allowed in values only
	// Secret signs requests when set. It is write-only: never in the JSON of a postback
	// (a request that sets it is decoded into a type of its own).
	Secret    string    `json:"-"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks a postback's configuration and fills its defaults: kind postback,
// triggers [install], method GET (POST for a webhook); the method is upper-cased and
// duplicate triggers and event types are dropped. It returns an *Error with code EINVALID
// whose message names the offending field, and the unknown macro or trigger when that is
// what is wrong. Enabled and SendAll have no default here: their zero value is false, so
// a caller that decodes a request sets Enabled's default (true) itself.
func (p *Postback) Validate() error {
	if p.Kind == "" {
		p.Kind = KindPostback
	}
	if len(p.Triggers) == 0 {
		p.Triggers = []string{TriggerInstall}
	}
	if p.Method == "" {
		p.Method = "GET"
		if p.Kind == KindWebhook {
			p.Method = "POST"
		}
	}
	p.Method = strings.ToUpper(p.Method)
	p.Triggers = dedupStrings(p.Triggers)
	p.EventTypes = dedupStrings(p.EventTypes)
	for _, check := range []func() error{
		p.validateShape, p.validateTriggers, p.validateURL, p.validateBody, p.validateHeaders,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateShape checks the fields that are not templates.
func (p *Postback) validateShape() error {
	switch {
	case strings.TrimSpace(p.Name) == "":
		return Errorf(EINVALID, "name is required.")
	case len(p.Name) > MaxPostbackNameLen:
		return Errorf(EINVALID, "name must be at most %d characters.", MaxPostbackNameLen)
	case p.Kind != KindPostback && p.Kind != KindWebhook:
		return Errorf(EINVALID, "kind must be postback or webhook.")
	case p.Kind == KindPostback && p.MediaSource == "":
		return Errorf(EINVALID, "media_source is required for a postback.")
	case p.Kind == KindWebhook && p.MediaSource != "":
		return Errorf(EINVALID, "media_source must be empty for a webhook: a webhook gets every source.")
	case len(p.MediaSource) > maxPostbackStringField:
		return Errorf(EINVALID, "media_source must be at most %d characters.", maxPostbackStringField)
	case p.Method != "GET" && p.Method != "POST":
		return Errorf(EINVALID, "method must be GET or POST.")
	case p.Kind == KindWebhook && p.Method != "POST":
		return Errorf(EINVALID, "method must be POST for a webhook.")
	case len(p.Secret) > MaxPostbackSecretLen:
		return Errorf(EINVALID, "secret must be at most %d characters.", MaxPostbackSecretLen)
	}
	return nil
}

// validateTriggers checks the triggers and event types.
func (p *Postback) validateTriggers() error {
	for _, tr := range p.Triggers {
		if !slices.Contains(Triggers, tr) {
			return Errorf(EINVALID, "triggers: unknown trigger %q; the triggers are %s.", tr, strings.Join(Triggers, ", "))
		}
	}
	if len(p.EventTypes) > MaxPostbackEventTypes {
		return Errorf(EINVALID, "event_types must hold at most %d types.", MaxPostbackEventTypes)
	}
	for _, et := range p.EventTypes {
		if et == "" || len(et) > MaxEventTypeLen {
			return Errorf(EINVALID, "event_types: each type must be 1 to %d characters.", MaxEventTypeLen)
		}
	}
	return nil
}

// validateURL checks url_template.
func (p *Postback) validateURL() error { return ValidateURLTemplate(p.URLTemplate) }

// ValidateURLTemplate checks a URL template: an http(s) URL whose scheme and host are
// literal text before the first macro, without user name or password, with known macros
// only. It returns an *Error with code EINVALID that names url_template and the problem.
func ValidateURLTemplate(t string) error {
	switch {
	case t == "":
		return Errorf(EINVALID, "url_template is required.")
	case len(t) > MaxURLTemplateLen:
		return Errorf(EINVALID, "url_template must be at most %d characters.", MaxURLTemplateLen)
	}
	parts := TemplateParts(t)
	if err := CheckMacros("url_template", parts); err != nil {
		return err
	}
	// With every macro replaced by a harmless value, the template must be an http(s) URL.
	var b strings.Builder
	for _, part := range parts {
		if part.Macro {
			b.WriteString("x")
		} else {
			b.WriteString(part.Text)
		}
	}
	u, err := url.Parse(b.String())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return Errorf(EINVALID, "url_template must be an http or https URL.")
	}
	if u.User != nil {
		return Errorf(EINVALID, "url_template must not hold a user name or password; send credentials in headers.")
	}
	// The scheme and the host must come before the first macro: no value may change where
	// the request goes.
	if fixed, ok := URLTemplateOrigin(parts); !ok || !strings.EqualFold(fixed, u.Scheme+"://"+u.Host) {
		return Errorf(EINVALID, "url_template: macros may not stand in the scheme or the host.")
	}
	return nil
}

// URLTemplateOrigin returns the "scheme://host[:port]" that a URL template's literal text
// fixes before its first macro, and false when a macro stands before the end of the host
// (the first '/', '?' or '#' after "://").
func URLTemplateOrigin(parts []TemplatePart) (string, bool) {
	if len(parts) == 0 || parts[0].Macro {
		return "", false
	}
	lit := parts[0].Text
	i := strings.Index(lit, "://")
	if i < 0 {
		return "", false
	}
	end := strings.IndexAny(lit[i+3:], "/?#")
	if end < 0 {
		if len(parts) > 1 {
			return "", false
		}
		return lit, true
	}
	return lit[:i+3+end], true
}

// validateBody checks body_template: only for POST postbacks, known macros only.
func (p *Postback) validateBody() error {
	switch {
	case p.BodyTemplate == "":
		return nil
	case p.Kind == KindWebhook:
		return Errorf(EINVALID, "body_template must be empty for a webhook: its body is the attribution or event object.")
	case p.Method != "POST":
		return Errorf(EINVALID, "body_template needs method POST.")
	case len(p.BodyTemplate) > MaxBodyTemplateLen:
		return Errorf(EINVALID, "body_template must be at most %d bytes.", MaxBodyTemplateLen)
	}
	return CheckMacros("body_template", TemplateParts(p.BodyTemplate))
}

// reservedHeaders are the request headers a postback may not set: the transport's and the
// signature's.
var reservedHeaders = []string{
	"host", "content-length", "transfer-encoding", "connection", "te", "trailer", "upgrade",
	"x-unmogrowp-timestamp", "x-unmogrowp-signature", "x-unmogrowp-delivery-id",
}

// validateHeaders checks the extra headers: valid names that are not reserved, values
// without line breaks and with known macros only.
func (p *Postback) validateHeaders() error {
	if len(p.Headers) > MaxPostbackHeaders {
		return Errorf(EINVALID, "headers must hold at most %d headers.", MaxPostbackHeaders)
	}
	seen := map[string]bool{}
	for name, value := range p.Headers {
		lower := strings.ToLower(name)
		if seen[lower] {
			return Errorf(EINVALID, "headers: %s is given twice (names are case-insensitive).", name)
		}
		seen[lower] = true
		switch {
		case name == "" || len(name) > MaxHeaderNameLen || strings.IndexFunc(name, notTokenChar) >= 0:
			return Errorf(EINVALID, "headers: %q is not a valid header name.", name)
		case slices.Contains(reservedHeaders, lower):
			return Errorf(EINVALID, "headers: %s is set by UnMoGrowP and cannot be configured.", name)
		case len(value) > MaxHeaderValueLen:
			return Errorf(EINVALID, "headers.%s must be at most %d characters.", name, MaxHeaderValueLen)
		case strings.ContainsAny(value, "\r\n\x00"):
			return Errorf(EINVALID, "headers.%s must not contain a line break.", name)
		}
		if err := CheckMacros("headers."+name, TemplateParts(value)); err != nil {
			return err
		}
	}
	return nil
}

// notTokenChar reports whether r may not stand in an HTTP header name (RFC 9110 token).
func notTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// CheckMacros returns an *Error with code EINVALID naming the field and the first unknown
// macro of a template's parts, and nil when every macro is in PostbackMacros.
func CheckMacros(field string, parts []TemplatePart) error {
	for _, part := range parts {
		if part.Macro && !slices.Contains(PostbackMacros, part.Text) {
			return Errorf(EINVALID, "%s: unknown macro {%s}.", field, part.Text)
		}
	}
	return nil
}

// TemplatePart is one piece of a template: literal text, or the name of a macro.
type TemplatePart struct {
	Text  string // the literal text, or the macro's name without braces
	Macro bool
}

// TemplateParts splits a template into literal text and macros. A macro is '{', one or more
// ASCII letters, digits or underscores, and '}'; its name may be unknown (Validate rejects
// those). Every other brace is literal text, so JSON bodies need no escaping: in
// `{"id":"{click_id}"}` only {click_id} is a macro. There is no escape for a literal
// "{name}": write it percent-encoded in a URL (%7Bname%7D) or as \u007b in JSON. Adjacent
// literal pieces are merged; the parts of "" are none.
func TemplateParts(s string) []TemplatePart {
	var parts []TemplatePart
	lit := 0 // start of the pending literal text
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(s) && isMacroChar(s[j]) {
			j++
		}
		if j == i+1 || j == len(s) || s[j] != '}' {
			continue
		}
		if lit < i {
			parts = append(parts, TemplatePart{Text: s[lit:i]})
		}
		parts = append(parts, TemplatePart{Text: s[i+1 : j], Macro: true})
		lit = j + 1
		i = j
	}
	if lit < len(s) {
		parts = append(parts, TemplatePart{Text: s[lit:]})
	}
	return parts
}

func isMacroChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// dedupStrings returns s without repeated values, in first-seen order.
func dedupStrings(s []string) []string {
	out := s[:0:0]
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
