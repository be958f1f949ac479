package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// basic is the Authorization header of Segment's HTTP Basic auth for a write key.
func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// segment posts a Segment call with the app's SDK key as the Basic auth user.
func (f *fixture) segment(path, body string, headers ...string) response {
	f.t.Helper()
	return f.do("POST", path, []byte(body), append([]string{"Authorization", basic(f.app.SDKKey), "User-Agent", "GameSDK/1.0"}, headers...)...)
}

// segmentExample reads one of Segment's HTTP API documentation examples.
func segmentExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "segment", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSegmentDocumentationExamples sends the examples of Segment's HTTP Tracking API
// documentation (testdata/segment) unchanged: each is taken, and each call refused for its
// date of 2012 or 2015 by the app's max_event_age_days, naming timestamp (a call alone
// with 400, a batch's with 200 and the call listed). With their dates brought within the
// bounds, every call is stored, mapped as docs/sdk.md says.
func TestSegmentDocumentationExamples(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	singles := []struct{ file, path string }{
		{"identify.json", "/v1/identify"}, {"identify-integrations.json", "/v1/identify"},
		{"track.json", "/v1/track"}, {"page.json", "/v1/page"}, {"screen.json", "/v1/screen"},
		{"group.json", "/v1/group"}, {"alias.json", "/v1/alias"},
	}
	for _, c := range singles {
		wantError(t, f.segment(c.path, segmentExample(t, c.file)), 400, "timestamp is older than the app's max_event_age_days")
	}
	r := f.segment("/v1/batch", segmentExample(t, "batch.json"))
	if r.Code != 200 || r.Body["success"] != true || r.Body["accepted"] != 0.0 || r.Body["rejected"] != 4.0 {
		t.Fatalf("batch example: %d %s", r.Code, r.Raw)
	}
	for _, e := range r.Body["errors"].([]any) {
		if msg := e.(map[string]any)["error"].(string); !strings.Contains(msg, "timestamp is older") {
			t.Errorf("batch example's call refused with %q, want its timestamp", msg)
		}
	}
	if got := f.logged(); len(got) != 0 {
		t.Fatalf("logged %d events of the refused examples", len(got))
	}

	// The write key in the body instead of Basic auth: the example with its key replaced.
	body := strings.Replace(segmentExample(t, "track-writekey.json"), "DmBXIN4JnwqBnTqXccTF0wBnLXNQmFtk", f.app.SDKKey, 1)
	if r := f.do("POST", "/v1/track", []byte(body)); r.Code != 200 || r.Raw != `{"success":true}`+"\n" && r.Raw != `{"success":true}` {
		t.Fatalf("writeKey example: %d %q", r.Code, r.Raw)
	}

	recent := strings.NewReplacer("2012-12-02", "2025-10-21", "2015-2-02", "2025-10-21")
	for _, c := range singles {
		if r := f.segment(c.path, recent.Replace(segmentExample(t, c.file))); r.Code != 200 || r.Body["success"] != true {
			t.Fatalf("%s brought within the bounds: %d %s", c.file, r.Code, r.Raw)
		}
	}
	if r := f.segment("/v1/import", recent.Replace(segmentExample(t, "batch.json"))); r.Code != 200 || r.Body["accepted"] != 4.0 {
		t.Fatalf("batch example brought within the bounds: %d %s", r.Code, r.Raw)
	}
	got := f.logged()
	var summary []string
	for _, e := range got {
		if e.EventData != nil {
			var c bytes.Buffer
			json.Compact(&c, e.EventData)
			e.EventData = c.Bytes()
		}
		summary = append(summary, fmt.Sprintf("%s dev=%s user=%s ts=%s rev=%v %s ip=%s data=%s", e.EventType, e.DeviceID, e.UserID,
			e.Timestamp.Format(time.RFC3339Nano), e.Revenue, e.Currency, e.IP, e.EventData))
	}
	want := []string{
		`happy-path-a3ef8a6f-0482-4694-bc4d-4afba03a0eab dev=123 user=123 ts=2025-10-21T14:20:00Z rev=0  ip=198.51.100.9 data=`,
		`$identify dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:30:08.276Z rev=0  ip=198.51.100.9 data={"email":"pgibbons@example.com","name":"Peter Gibbons","industry":"Technology"}`,
		`$identify dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:30:08.276Z rev=0  ip=198.51.100.9 data={"email":"pgibbons@example.com","name":"Peter Gibbons","industry":"Technology"}`,
		`Item Purchased dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:30:12.984Z rev=14.99 USD ip=198.51.100.9 data={"name":"Leap to Conclusions Mat","revenue":14.99}`,
		`page dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:31:29.738Z rev=0  ip=198.51.100.9 data={"name":"Tracking HTTP API"}`,
		`screen dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:31:29.738Z rev=0  ip=198.51.100.9 data={"name":"Tracking HTTP API"}`,
		`$group dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:31:38.208Z rev=0  ip=198.51.100.9 data={"employees":420,"groupId":"8e9df332ac","industry":"Technology","name":"Initech"}`,
		`$alias dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:31:29.738Z rev=0  ip=198.51.100.9 data={"previousId":"39239-239239-239239-23923"}`,
		`$identify dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:30:08.276Z rev=0  ip=198.51.100.9 data={"email":"jake@yahoo.com","name":"Jake Peterson","age":26}`,
		`Song Played dev=019mr8mf4r user=019mr8mf4r ts=2025-10-21T00:30:12.984Z rev=0  ip=198.51.100.9 data={"name":"Fallin for You","artist":"Dierks Bentley"}`,
		`$identify dev=971mj8mk7p user=971mj8mk7p ts=2025-10-21T00:30:08.276Z rev=0  ip=198.51.100.9 data={"email":"cindy@example.com","name":"Cindy Gonzalez","age":23}`,
		`Song Played dev=971mj8mk7p user=971mj8mk7p ts=2025-10-21T00:30:12.984Z rev=0  ip=198.51.100.9 data={"name":"Get Right","artist":"Jennifer Lopez"}`,
	}
	if strings.Join(summary, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logged\n%s\nwant\n%s", strings.Join(summary, "\n"), strings.Join(want, "\n"))
	}
}

// TestSegmentMapping checks each row of the mapping table (docs/sdk.md) on the calls of
// Segment's mobile libraries.
func TestSegmentMapping(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	long := strings.Repeat("m", 80)
	batch := `{"batch":[
	 {"type":"track","event":"Application Installed","messageId":"m-install","anonymousId":"anon-1","userId":"u1",
	  "properties":{"version":"1.2","build":"12"},
	  "context":{"os":{"name":"Android","version":"14"},"device":{"id":"dev-x","advertisingId":"38400000-8cf0-11bd-b23e-10b96e40000d","adTrackingEnabled":true,"model":"Pixel 8","type":"android"},
	   "app":{"version":"1.2.0","build":"12"},"locale":"fr-FR","location":{"country":"FR"},"referrer":{"type":"google-play","url":"click_id=tp1&pid=net"},
	   "campaign":{"name":"spring","source":"net"},"ip":"203.0.113.7","userAgent":"Dalvik/2.1"},
	  "originalTimestamp":"2025-10-21T14:00:00Z","sentAt":"2025-10-21T14:05:00Z"},
	 {"type":"track","event":"Application Opened","messageId":"m-open","context":{"device":{"id":"dev-y","advertisingId":"AEBE52E7-03EE-455A-B3C4-E57283966239","adTrackingEnabled":false},"os":{"name":"iOS","version":"17.1"}},
	  "timestamp":"2025-10-21T14:10:00Z","originalTimestamp":"2025-10-21T10:00:00Z"},
	 {"type":"track","event":"Order Completed","messageId":"` + long + `","userId":"u3","properties":{"total":"30.5","currency":"eur","value":1},
	  "context":{"os":{"name":"iOS"},"device":{"advertisingId":"AEBE52E7-03EE-455A-B3C4-E57283966239"},"referrer":"click_id=ignored"}},
	 {"type":"track","event":"Subscribed","anonymousId":"anon-4","properties":{"value":4}},
	 {"type":"track","event":"Application Installed","anonymousId":"anon-5","properties":{"referrer":"utm_source=x&click_id=tp5"},"context":{"os":{"name":"Android"}}},
	 {"type":"screen","name":"Home","anonymousId":"anon-6","properties":{"name":"Kept","from":"push"},"context":{"os":{"name":"Windows"}}}
	],"context":{"locale":"en-US","device":{"model":"Batch model"}},"sentAt":"2025-10-21T14:05:00Z"}`
	r := f.do("POST", "/v1/batch", []byte(batch), "Authorization", basic(f.keys.ServerKey))
	if r.Code != 200 || r.Body["accepted"] != 6.0 {
		t.Fatalf("answer %d %s", r.Code, r.Raw)
	}
	got := f.logged()
	if len(got) != 6 {
		t.Fatalf("logged %d events, want 6", len(got))
	}
	check := func(i int, what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("call %d: %s = %v, want %v", i, what, got, want)
		}
	}
	e := got[0]
	check(0, "event_type", e.EventType, "install")
	check(0, "event_id", e.EventID, "m-install")
	check(0, "device_id (anonymousId first)", e.DeviceID, "anon-1")
	check(0, "user_id", e.UserID, "u1")
	check(0, "gaid", e.GAID, "38400000-8cf0-11bd-b23e-10b96e40000d")
	check(0, "idfa", e.IDFA, "")
	check(0, "platform", e.Platform, "android")
	check(0, "os_version", e.OSVersion, "14")
	check(0, "device_model (the call's over the batch's)", e.DeviceModel, "Pixel 8")
	check(0, "app_version", e.AppVersion, "1.2.0")
	check(0, "language (the call's)", e.Language, "fr-FR")
	check(0, "country", e.Country, "FR")
	check(0, "install_referrer", e.InstallReferrer, "click_id=tp1&pid=net")
	check(0, "attribution", string(e.Attribution), `{"name":"spring","source":"net"}`)
	check(0, "event_data", string(e.EventData), `{"version":"1.2","build":"12"}`)
	check(0, "ip (server key)", e.IP, "203.0.113.7")
	check(0, "user_agent (server key)", e.UserAgent, "Dalvik/2.1")
	check(0, "timestamp (originalTimestamp + receivedAt - sentAt)", e.Timestamp, f.now.Add(-5*time.Minute))

	e = got[1]
	check(1, "event_type", e.EventType, "session")
	check(1, "device_id (context.device.id)", e.DeviceID, "dev-y")
	check(1, "idfa (adTrackingEnabled false)", e.IDFA, "")
	check(1, "timestamp (timestamp first)", e.Timestamp, time.Date(2025, 10, 21, 14, 10, 0, 0, time.UTC))
	check(1, "language (the batch's)", e.Language, "en-US")
	check(1, "device_model (the batch's)", e.DeviceModel, "Batch model")

	e = got[2]
	check(2, "event_id (a long messageId hashed)", len(e.EventID), 64)
	check(2, "device_id (userId last)", e.DeviceID, "u3")
	check(2, "revenue (total before value)", e.Revenue, 30.5)
	check(2, "currency", e.Currency, "EUR")
	check(2, "idfa", e.IDFA, "AEBE52E7-03EE-455A-B3C4-E57283966239")
	check(2, "install_referrer (not an install)", e.InstallReferrer, "")
	check(2, "timestamp (receive time)", e.Timestamp, f.now)

	e = got[3]
	check(3, "revenue (value)", e.Revenue, 4.0)
	check(3, "currency (USD by default)", e.Currency, "USD")
	check(3, "event_id (generated)", len(e.EventID), 32)

	e = got[4]
	check(4, "install_referrer (properties.referrer)", e.InstallReferrer, "utm_source=x&click_id=tp5")

	e = got[5]
	check(5, "platform", e.Platform, "other")
	check(5, "event_data (properties' name kept)", string(e.EventData), `{"from":"push","name":"Kept"}`)

	// With the SDK key, the connection's address and User-Agent stand, not the context's.
	call := `{"event":"Signed Up","anonymousId":"a","context":{"ip":"203.0.113.7","userAgent":"spoofed"}}`
	if r := f.segment("/v1/track", call); r.Code != 200 {
		t.Fatalf("sdk key: %d %s", r.Code, r.Raw)
	}
	e = f.logged()[0]
	check(6, "ip (SDK key)", e.IP, "198.51.100.9")
	check(6, "user_agent (SDK key)", e.UserAgent, "GameSDK/1.0")
}

// TestSegmentRequests checks authentication, the limits, gzip and the answers to bad
// requests on Segment's routes.
func TestSegmentRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	call := `{"event":"Signed Up","anonymousId":"a","messageId":"m1"}`
	wantError(t, f.do("POST", "/v1/track", []byte(call)), 401, "write key is required")
	wantError(t, f.do("POST", "/v1/track", []byte(call), "Authorization", basic("pk_unknown")), 401, "Unknown")
	wantError(t, f.do("POST", "/v1/track", []byte(`{"event":"x","anonymousId":"a","writeKey":"pk_unknown"}`)), 401, "Unknown")
	wantError(t, f.do("POST", "/v1/batch", []byte(`{"batch":[],"writeKey":"sk_unknown"}`)), 401, "Unknown")
	// A Bearer token (Segment's OAuth) is not a key: the body's writeKey is.
	if r := f.do("POST", "/v1/track", []byte(`{"event":"x","anonymousId":"a","writeKey":"`+f.app.SDKKey+`"}`), "Authorization", "Bearer token"); r.Code != 200 {
		t.Fatalf("Bearer and writeKey: %d %s", r.Code, r.Raw)
	}

	wantError(t, f.segment("/v1/track", "not json"), 400, "not a JSON object")
	wantError(t, f.segment("/v1/batch", "not json"), 400, "batch")
	wantError(t, f.segment("/v1/batch", `{"batch":{}}`), 400, "batch must be a JSON array")
	wantError(t, f.segment("/v1/batch", `{"events":[]}`), 400, `{"batch":[...]}`)
	wantError(t, f.segment("/v1/track", `{"anonymousId":"a"}`), 400, "event is required")
	wantError(t, f.segment("/v1/track", `{"event":"x"}`), 400, "anonymousId or userId")
	wantError(t, f.segment("/v1/track", `{"event":"x","anonymousId":"a","properties":[1]}`), 400, "properties must be a JSON object")
	wantError(t, f.segment("/v1/track", `{"event":"x","anonymousId":"a","properties":{"revenue":"lots"}}`), 400, "properties.revenue must be a number")
	wantError(t, f.segment("/v1/track", `{"event":"x","anonymousId":"a","timestamp":"yesterday"}`), 400, "timestamp must be an ISO 8601 time")
	wantError(t, f.segment("/v1/track", `{"event":"x","anonymousId":"a","timestamp":"2025-10-21T16:00:00Z"}`), 400, "future")
	r := f.segment("/v1/batch", `{"batch":[{"event":"x","anonymousId":"a"},{"type":"launch","anonymousId":"a"},{"type":"track","event":"ok","anonymousId":"a"}]}`)
	if r.Code != 200 || r.Body["accepted"] != 1.0 || r.Body["rejected"] != 2.0 || !strings.Contains(r.Raw, "type is required") || !strings.Contains(r.Raw, "type must be one of") {
		t.Fatalf("batch with bad calls: %d %s", r.Code, r.Raw)
	}

	// Limits, after decompression: 32 KiB a call, 500 KiB a batch, answered 400.
	big := `{"event":"x","anonymousId":"a","properties":{"p":"` + strings.Repeat("x", MaxSegmentCallBytes) + `"}}`
	wantError(t, f.segment("/v1/track", big), 400, "larger than 32768 bytes")
	wantError(t, f.segment("/v1/batch", `{"batch":[`+big+`]}`), 400, "Call 0 of the batch is larger than 32768 bytes")
	calls := strings.TrimSuffix(strings.Repeat(`{"type":"track","event":"x","anonymousId":"a","properties":{"p":"`+strings.Repeat("x", 30000)+`"}},`, 18), ",")
	wantError(t, f.segment("/v1/batch", `{"batch":[`+calls+`]}`), 400, "larger than 512000 bytes")
	// A bomb, small on the wire and 100 MB inflated, refused once past the limit: a gzip
	// member of 1 MiB of zeros repeated (a gzip stream may hold several members), which
	// spares the test compressing 100 MB.
	var bomb, member bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write([]byte(`{"batch":[`))
	zw.Close()
	zw = gzip.NewWriter(&member)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	for range 100 {
		bomb.Write(member.Bytes())
	}
	start := time.Now()
	wantError(t, f.segment("/v1/batch", bomb.String(), "Content-Encoding", "gzip"), 400, "larger than 512000 bytes")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the gzip bomb took %v to refuse: it was inflated past the limit", d)
	}
	var zipped bytes.Buffer
	zw = gzip.NewWriter(&zipped)
	zw.Write([]byte(`{"batch":[{"type":"track",` + call[1:] + `]}`))
	zw.Close()
	if r := f.segment("/v1/batch", zipped.String(), "Content-Encoding", "gzip"); r.Code != 200 || r.Body["accepted"] != 1.0 {
		t.Fatalf("gzip batch: %d %s", r.Code, r.Raw)
	}
	// The same messageId again: taken, with the same event id, for the pipeline to store once.
	if r := f.segment("/v1/track", call); r.Code != 200 {
		t.Fatalf("call: %d %s", r.Code, r.Raw)
	}
	var ids []string
	for _, e := range f.logged() {
		ids = append(ids, e.EventID)
	}
	if got := strings.Join(ids[len(ids)-2:], ","); got != "m1,m1" {
		t.Fatalf("event ids %s, want m1,m1", got)
	}
}

// TestSegmentSignatureRateLimitLog checks that Segment's routes answer as /v1/events do to
// a missing signature, a rate limit and a log that cannot take the events.
func TestSegmentSignatureRateLimitLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *unmogrowp.AppSettings) { s.RequireSignature = true; s.RateLimitPerSecond = 2 })
	body := []byte(`{"batch":[{"type":"track","event":"x","anonymousId":"a"}],"writeKey":"` + f.app.SDKKey + `"}`)
	wantError(t, f.do("POST", "/v1/batch", body), 401, "X-Signature")
	ts := f.now.Unix()
	signed := func(ts int64) response {
		return f.do("POST", "/v1/batch", body, "X-Timestamp", strconv.FormatInt(ts, 10), "X-Signature", Sign(f.app.SigningSecret, ts, body))
	}
	if r := signed(ts); r.Code != 200 {
		t.Fatalf("signed: %d %s", r.Code, r.Raw)
	}
	wantError(t, signed(ts), 401, "received already")
	if r := signed(ts + 1); r.Code != 200 {
		t.Fatalf("signed anew: %d %s", r.Code, r.Raw)
	}
	r := signed(ts + 2)
	wantError(t, r, 429, "rate limit")
	if r.Head.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// The server key needs no signature.
	f.now = f.now.Add(time.Second)
	if r := f.do("POST", "/v1/track", []byte(`{"event":"x","anonymousId":"a"}`), "Authorization", basic(f.keys.ServerKey)); r.Code != 200 {
		t.Fatalf("server key: %d %s", r.Code, r.Raw)
	}
	if got := len(f.logged()); got != 3 {
		t.Fatalf("logged %d events, want 3", got)
	}
	f.log.Close()
	wantError(t, f.do("POST", "/v1/track", []byte(`{"event":"x","anonymousId":"a"}`), "Authorization", basic(f.keys.ServerKey)), 503, "nothing was accepted")
}
