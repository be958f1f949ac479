package unmogrowp

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPostbackValidate(t *testing.T) {
	valid := func() Postback {
		return Postback{
			Name: "net", MediaSource: "net",
			URLTemplate: "https://net.example/pb?click={click_id}&c={campaign}",
		}
	}
	t.Run("defaults", func(t *testing.T) {
		p := valid()
		p.Triggers = []string{"install", "event", "install"}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if p.Kind != KindPostback || p.Method != "GET" || !reflect.DeepEqual(p.Triggers, []string{"install", "event"}) {
			t.Fatalf("defaults: kind %q method %q triggers %v", p.Kind, p.Method, p.Triggers)
		}
		w := Postback{Name: "hook", Kind: KindWebhook, URLTemplate: "https://adv.example/hook/{app_id}"}
		if err := w.Validate(); err != nil {
			t.Fatal(err)
		}
		if w.Method != "POST" || !reflect.DeepEqual(w.Triggers, []string{"install"}) {
			t.Fatalf("webhook defaults: method %q triggers %v", w.Method, w.Triggers)
		}
	})
	for _, c := range []struct {
		name string
		edit func(*Postback)
		want string // in the message
	}{
		{"no name", func(p *Postback) { p.Name = " " }, "name is required"},
		{"bad kind", func(p *Postback) { p.Kind = "beacon" }, "kind must be"},
		{"postback without media source", func(p *Postback) { p.MediaSource = "" }, "media_source is required"},
		{"webhook with media source", func(p *Postback) { p.Kind = KindWebhook }, "media_source must be empty"},
		{"unknown trigger", func(p *Postback) { p.Triggers = []string{"install", "purchase"} }, `unknown trigger "purchase"`},
		{"bad method", func(p *Postback) { p.Method = "put" }, "method must be GET or POST"},
		{"unknown macro in url", func(p *Postback) { p.URLTemplate += "&x={clickid}" }, "url_template: unknown macro {clickid}"},
		{"unknown macro in body", func(p *Postback) { p.Method, p.BodyTemplate = "POST", `{"a":"{Campaign}"}` }, "body_template: unknown macro {Campaign}"},
		{"unknown macro in header", func(p *Postback) { p.Headers = map[string]string{"X-Key": "{secret}"} }, "headers.X-Key: unknown macro {secret}"},
		{"no url", func(p *Postback) { p.URLTemplate = "" }, "url_template is required"},
		{"ftp url", func(p *Postback) { p.URLTemplate = "ftp://net.example/x" }, "http or https URL"},
		{"relative url", func(p *Postback) { p.URLTemplate = "/pb?c={campaign}" }, "http or https URL"},
		{"javascript url", func(p *Postback) { p.URLTemplate = "javascript:alert(1)" }, "http or https URL"},
		{"macro in host", func(p *Postback) { p.URLTemplate = "https://{site_id}.net.example/pb" }, "scheme or the host"},
		{"macro as host", func(p *Postback) { p.URLTemplate = "https://{campaign}" }, "scheme or the host"},
		{"macro after host without slash", func(p *Postback) { p.URLTemplate = "https://net.example{campaign}" }, "scheme or the host"},
		{"macro as scheme", func(p *Postback) { p.URLTemplate = "{campaign}://net.example/" }, "http or https URL"},
		{"credentials", func(p *Postback) { p.URLTemplate = "https://u:p@net.example/" }, "user name or password"},
		{"body with GET", func(p *Postback) { p.BodyTemplate = "x" }, "needs method POST"},
		{"webhook body", func(p *Postback) {
			p.Kind, p.MediaSource, p.Method, p.BodyTemplate = KindWebhook, "", "POST", "{}"
		}, "body_template must be empty"},
		{"webhook GET", func(p *Postback) { p.Kind, p.MediaSource, p.Method = KindWebhook, "", "GET" }, "POST for a webhook"},
		{"reserved header", func(p *Postback) { p.Headers = map[string]string{"X-UnMoGrowP-Signature": "x"} }, "set by UnMoGrowP"},
		{"bad header name", func(p *Postback) { p.Headers = map[string]string{"X Key": "x"} }, "not a valid header name"},
		{"header line break", func(p *Postback) { p.Headers = map[string]string{"X-Key": "a\r\nHost: b"} }, "line break"},
		{"header twice", func(p *Postback) { p.Headers = map[string]string{"X-Key": "a", "x-key": "b"} }, "given twice"},
		{"empty event type", func(p *Postback) { p.EventTypes = []string{""} }, "event_types"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := valid()
			c.edit(&p)
			err := p.Validate()
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), c.want) {
				t.Fatalf("Validate = %v, want EINVALID containing %q", err, c.want)
			}
		})
	}
	t.Run("every macro is known", func(t *testing.T) {
		p := valid()
		p.URLTemplate = "https://net.example/pb?"
		for _, m := range PostbackMacros {
			p.URLTemplate += m + "={" + m + "}&"
		}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("origin before query", func(t *testing.T) {
		p := valid()
		p.URLTemplate = "HTTPS://Net.Example:8443?c={campaign}"
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTemplateParts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []TemplatePart
	}{
		{"", nil},
		{"plain", []TemplatePart{{Text: "plain"}}},
		{"{a}", []TemplatePart{{Text: "a", Macro: true}}},
		{`{"id":"{click_id}"}`, []TemplatePart{{Text: `{"id":"`}, {Text: "click_id", Macro: true}, {Text: `"}`}}},
		{"{}{ a}{a-b}{", []TemplatePart{{Text: "{}{ a}{a-b}{"}}},
		{"{{sub1}}", []TemplatePart{{Text: "{"}, {Text: "sub1", Macro: true}, {Text: "}"}}},
		{"x{a}{b}y", []TemplatePart{{Text: "x"}, {Text: "a", Macro: true}, {Text: "b", Macro: true}, {Text: "y"}}},
		{"{a", []TemplatePart{{Text: "{a"}}},
	} {
		if got := TemplateParts(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("TemplateParts(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestDeliveryID(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)
	a := DeliveryID("pb1", 0, 42, at, TriggerInstall, "")
	if a != DeliveryID("pb1", 0, 42, at, TriggerInstall, "") || len(a) != 32 || strings.ToLower(a) != a {
		t.Fatalf("DeliveryID is not a stable 32-digit id: %q", a)
	}
	if want := fmt.Sprintf("%012x", at.UnixMilli()); a[:12] != want {
		t.Fatalf("DeliveryID %s does not start with the received time %s", a, want)
	}
	if later := DeliveryID("pb0", 0, 1, at.Add(time.Millisecond), TriggerInstall, ""); later <= a {
		t.Fatalf("an id received later sorts first: %s <= %s", later, a)
	}
	seen := map[string]bool{a: true}
	for _, other := range []string{
		DeliveryID("pb2", 0, 42, at, TriggerInstall, ""),
		DeliveryID("pb1", 1, 42, at, TriggerInstall, ""),
		DeliveryID("pb1", 0, 43, at, TriggerInstall, ""),
		DeliveryID("pb1", 0, 42, at.Add(time.Millisecond), TriggerInstall, ""),
		DeliveryID("pb1", 0, 42, at, TriggerRejectedInstall, ""),
		DeliveryID("pb1", 0, 42, at, TriggerRejectedInstall, "tp1"),
		DeliveryID("pb1", 0, 42, at, TriggerRejectedInstall, "tp2"),
		DeliveryID("pb", 0, 42, at, "1"+TriggerInstall, ""), // length-prefixed: no ambiguity
	} {
		if seen[other] {
			t.Fatalf("DeliveryID collides: %q", other)
		}
		seen[other] = true
	}
}
