package postback

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"

	"github.com/unmogrowp/unmogrowp"
)

// vals gives each macro its value in the map, "" for the others.
type vals map[string]string

func (v vals) Value(m string) string { return v[m] }

func TestExpandURL(t *testing.T) {
	tm, err := ParseURL("https://net.example/pb/{site_id}?c={campaign}&id={click_id}&ts={install_unix_ts}#{ad}")
	if err != nil {
		t.Fatal(err)
	}
	got := tm.String(vals{
		"campaign": "a b&c", "site_id": "../admin/x?y", "click_id": "AbC-1_2.3~", "install_unix_ts": "1700000000",
		"ad": "é#",
	})
	want := "https://net.example/pb/..%2Fadmin%2Fx%3Fy?c=a%20b%26c&id=AbC-1_2.3~&ts=1700000000#%C3%A9%23"
	if got != want {
		t.Fatalf("expanded URL\n got %s\nwant %s", got, want)
	}
	u, err := url.Parse(got)
	if err != nil || u.Host != "net.example" || u.Query().Get("c") != "a b&c" || len(u.Query()) != 3 {
		t.Fatalf("the expanded URL parses as %+v (query %v), %v", u, u.Query(), err)
	}
	for _, bad := range []struct{ tmpl, want string }{
		{"https://net.example/?x={nope}", "unknown macro {nope}"},
		{"https://{campaign}.example/", "scheme or the host"},
		{"file:///etc/passwd", "http or https"},
	} {
		_, err := ParseURL(bad.tmpl)
		if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID || !strings.Contains(unmogrowp.ErrorMessage(err), bad.want) {
			t.Errorf("ParseURL(%q) = %v, want EINVALID naming %q", bad.tmpl, err, bad.want)
		}
	}
}

func TestParseBody(t *testing.T) {
	v := vals{
		"campaign": "say \"hi\"\n\\ </script>\x01", "event_revenue": "9.99", "ctit": "",
		"event_data_json": `{"sku":"a","n":[1,2]}`, "is_reinstall": "false", "click_id": "42",
		"sub1": "\xff\xfe",
	}
	for _, c := range []struct {
		name, tmpl string
		json       bool
		want       string
	}{
		{"strings", `{"c":"{campaign}","id":"x{click_id}y"}`, true,
			`{"c":"say \"hi\"\n\\ </script>\u0001","id":"x42y"}`},
		{"values", `{"r":{event_revenue},"t":{ctit},"d":{event_data_json},"re":{is_reinstall},"c":{click_id}}`, true,
			`{"r":9.99,"t":"","d":{"sku":"a","n":[1,2]},"re":false,"c":"42"}`},
		{"array and key", `[{campaign}, "{sub1}", {"{click_id}": 1}]`, true,
			`["say \"hi\"\n\\ </script>\u0001", "\ufffd\ufffd", {"42": 1}]`},
		{"no macro", `{"a":1}`, true, `{"a":1}`},
		{"form", `c={campaign}&r={event_revenue}`, false, `c=say%20%22hi%22%0A%5C%20%3C%2Fscript%3E%01&r=9.99`},
		{"after a backslash", `{"a":"\{campaign}"}`, false, `{"a":"\say%20%22hi%22%0A%5C%20%3C%2Fscript%3E%01"}`},
		{"in a \\u escape", `{"a":"\u00{click_id}"}`, false, `{"a":"\u0042"}`},
		{"glued to a number", `{"a":1{ctit}}`, false, `{"a":1}`},
		{"two values glued", `[{ctit}{ctit}]`, false, `[]`},
		{"not JSON", `{"a":`, false, `{"a":`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm, err := ParseBody(c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if tm.JSON() != c.json {
				t.Fatalf("JSON() = %v, want %v", tm.JSON(), c.json)
			}
			got := tm.String(v)
			if got != c.want {
				t.Fatalf("expanded\n got %s\nwant %s", got, c.want)
			}
			if c.json && !json.Valid([]byte(got)) {
				t.Fatalf("a JSON template expanded to invalid JSON: %s", got)
			}
		})
	}
	_, err := ParseBody(`{"a":"{Campaign}"}`)
	if !strings.Contains(unmogrowp.ErrorMessage(err), "body_template: unknown macro {Campaign}") {
		t.Fatalf("ParseBody with an unknown macro = %v", err)
	}
}

func TestExpandHeader(t *testing.T) {
	tm, err := ParseHeader("X-Campaign", "c={campaign};")
	if err != nil {
		t.Fatal(err)
	}
	got := tm.String(vals{"campaign": "a\r\nX-Injected: 1\x00\x7f\tb"})
	if want := "c=a  X-Injected: 1  \tb;"; got != want || !httpguts.ValidHeaderFieldValue(got) {
		t.Fatalf("header = %q, want %q", got, want)
	}
	if _, err := ParseHeader("X-A", "a\nb"); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Fatalf("ParseHeader with a line break = %v", err)
	}
}

// every gives every macro the same value.
type every string

func (v every) Value(string) string { return string(v) }

// FuzzParse parses any template as URL, body and header: no panic, and what ParseURL
// accepts always expands to a URL of the same origin.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"https://net.example/pb?c={campaign}", `{"a":"{click_id}","r":{event_revenue}}`, "{", "{a}{",
		"http://h/{x}", `{"a":"\u{sub1}"}`, "https://h:1/{sub1}#{sub2}", "c={campaign}&d={ad}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, err := ParseURL(s); err == nil {
			checkURL(t, s, tm.String(every("x")))
		}
		if tm, err := ParseBody(s); err == nil && tm.JSON() {
			if got := tm.String(every(`"}{\`)); !json.Valid([]byte(got)) {
				t.Fatalf("JSON template %q expanded to invalid JSON %q", s, got)
			}
		}
		_, _ = ParseHeader("X-A", s)
	})
}

// FuzzExpand expands fixed templates with any value: the URL keeps its origin and parses,
// the JSON body stays JSON and gives the value back, the header holds no line break.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"a b&c", "", "\r\nHost: evil", `"}]`, "\xff", "@evil.example/", "//evil/", "%2e%2e"} {
		f.Add(s)
	}
	const urlTmpl = "https://net.example:8443/p/{campaign}/q?c={campaign}&d={ad}#{sub1}"
	urlT, err := ParseURL(urlTmpl)
	if err != nil {
		f.Fatal(err)
	}
	bodyT, err := ParseBody(`{"c":"{campaign}","v":{ctit},"d":{event_data_json}}`)
	if err != nil || !bodyT.JSON() {
		f.Fatal(err)
	}
	headerT, err := ParseHeader("X-A", "{campaign}")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		u := checkURL(t, urlTmpl, urlT.String(every(v)))
		if got := u.Query().Get("c"); got != v {
			t.Fatalf("query value = %q, want %q", got, v)
		}
		body := bodyT.String(every(v))
		var j struct{ C string }
		if err := json.Unmarshal([]byte(body), &j); err != nil {
			t.Fatalf("body %q is not JSON: %v", body, err)
		}
		if string([]rune(v)) != j.C { // each invalid byte is one U+FFFD
			t.Fatalf("body's value = %q, want %q", j.C, v)
		}
		if h := headerT.String(every(v)); !httpguts.ValidHeaderFieldValue(h) {
			t.Fatalf("header value %q is not valid", h)
		}
	})
}

// checkURL fails unless expanded parses as an http(s) URL with the origin the template
// fixes.
func checkURL(t *testing.T, tmpl, expanded string) *url.URL {
	t.Helper()
	u, err := url.Parse(expanded)
	if err != nil {
		t.Fatalf("template %q expanded to %q, which does not parse: %v", tmpl, expanded, err)
	}
	origin, ok := unmogrowp.URLTemplateOrigin(unmogrowp.TemplateParts(tmpl))
	if !ok || !strings.EqualFold(u.Scheme+"://"+u.Host, origin) || u.User != nil {
		t.Fatalf("template %q expanded to %q: origin %s://%s, want %s", tmpl, expanded, u.Scheme, u.Host, origin)
	}
	return u
}

func BenchmarkExpand(b *testing.B) {
	p, err := Compile(unmogrowp.Postback{
		ID: "pb", AppID: "app", Name: "net", MediaSource: "net", Method: "POST", Enabled: true,
		URLTemplate:  "https://postback.net.example/install?clickid={click_id}&gaid={gaid}&c={campaign}&site={site_id}&ts={install_unix_ts}&ctit={ctit}&ip={ip}&ua={user_agent}",
		BodyTemplate: `{"click_id":"{click_id}","campaign":"{campaign}","device":"{device_id}","revenue":{event_revenue}}`,
		Headers:      map[string]string{"Authorization": "Bearer t-{app_id}"},
	})
	if err != nil {
		b.Fatal(err)
	}
	src := sampleSource()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = p.Delivery(src, src.Install.InstallTime)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
