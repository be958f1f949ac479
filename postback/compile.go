package postback

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Postback is a postback with its templates parsed once, ready to make deliveries. It is
// immutable and safe for concurrent use.
type Postback struct {
	unmogrowp.Postback
	url     *Template
	body    *Template // nil without a body template
	headers []header  // sorted by name
	host    string    // lower-case host[:port], fixed by the URL template
}

type header struct {
	name string
	t    *Template
}

// Compile validates a postback (unmogrowp.Postback.Validate, defaults filled) and parses
// its templates. Returns EINVALID naming the offending field, macro or trigger.
func Compile(p unmogrowp.Postback) (*Postback, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := &Postback{Postback: p}
	var err error
	if c.url, err = ParseURL(p.URLTemplate); err != nil {
		return nil, err
	}
	origin, _ := unmogrowp.URLTemplateOrigin(unmogrowp.TemplateParts(p.URLTemplate))
	c.host = strings.ToLower(origin[strings.Index(origin, "://")+3:])
	if p.BodyTemplate != "" {
		if c.body, err = ParseBody(p.BodyTemplate); err != nil {
			return nil, err
		}
	}
	for name, v := range p.Headers {
		t, err := ParseHeader(name, v)
		if err != nil {
			return nil, err
		}
		c.headers = append(c.headers, header{name: http.CanonicalHeaderKey(name), t: t})
	}
	sort.Slice(c.headers, func(i, j int) bool { return c.headers[i].name < c.headers[j].name })
	return c, nil
}

// Delivery makes the delivery of the postback for src, pending and due at now: the URL,
// headers and body expanded (a webhook's body is the attribution or event object; see
// WebhookBody), Content-Type set for a body unless the postback's headers set it.
// src.DeliveryID must be set: the {delivery_id} macro is its value.
func (p *Postback) Delivery(src *Source, now time.Time) unmogrowp.Delivery {
	d := unmogrowp.Delivery{
		ID: src.DeliveryID, PostbackID: p.ID, AppID: p.AppID, ActivityKind: src.ActivityKind,
		Status: unmogrowp.DeliveryPending, URL: p.url.String(src), Host: p.host,
		Method: p.Method, CreatedAt: now, NextAttemptAt: now,
	}
	if src.Event != nil {
		d.DeviceID = src.Event.DeviceID
	}
	contentType := ""
	switch {
	case p.Kind == unmogrowp.KindWebhook:
		d.Body, contentType = WebhookBody(src), "application/json"
	case p.body != nil:
		d.Body, contentType = p.body.Expand(nil, src), "application/x-www-form-urlencoded"
		if p.body.JSON() {
			contentType = "application/json"
		}
	}
	if len(p.headers) > 0 || contentType != "" {
		d.Headers = make(map[string]string, len(p.headers)+1)
	}
	for _, h := range p.headers {
		d.Headers[h.name] = h.t.String(src)
	}
	if _, set := d.Headers["Content-Type"]; !set && contentType != "" {
		d.Headers["Content-Type"] = contentType
	}
	return d
}
