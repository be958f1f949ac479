package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/redis"
	"github.com/unmogrowp/unmogrowp/wal"
)

// fixture is an ingestion listener on a real WAL and a real SQLite metadata store (apps
// and links), with a fixed clock and an in-memory Devices.
type fixture struct {
	t       testing.TB
	srv     *Server
	log     *wal.WAL
	meta    *metadata.DB
	devices *memDevices
	app     *unmogrowp.App
	keys    unmogrowp.NewAppKeys
	other   *unmogrowp.App
	now     time.Time
	remote  string
	dir     string // holds the log in wal/ and the metadata store
}

func newFixture(t testing.TB, mutate func(*unmogrowp.AppSettings)) *fixture {
	t.Helper()
	dir := t.TempDir()
	meta, err := metadata.Open(context.Background(), metadata.SQLiteURL(dir+"/metadata.db"), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	log, err := wal.Open(context.Background(), dir+"/wal", wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	f := &fixture{t: t, log: log, meta: meta, devices: &memDevices{}, now: time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC), remote: "198.51.100.9:5555", dir: dir}
	settings := unmogrowp.DefaultAppSettings()
	if mutate != nil {
		mutate(&settings)
	}
	f.app = &unmogrowp.App{Name: "Game", Platform: "ios", Settings: settings}
	if f.keys, err = meta.CreateApp(context.Background(), f.app); err != nil {
		t.Fatal(err)
	}
	f.other = &unmogrowp.App{Name: "Other", Settings: unmogrowp.DefaultAppSettings()}
	if _, err := meta.CreateApp(context.Background(), f.other); err != nil {
		t.Fatal(err)
	}
	trusted, _ := httpserve.ParseTrustedProxies("10.0.0.0/8")
	f.srv = New(Config{
		Log: log, Apps: meta, Links: meta, SKANApps: meta, Devices: f.devices, Consents: meta, Registry: prometheus.NewRegistry(), TrustedProxies: trusted,
		CORSOrigins: []string{"https://game.example"}, Now: func() time.Time { return f.now },
		Health: map[string]func(context.Context) error{"metadata": meta.Ping, "log": log.Health},
	})
	return f
}

type response struct {
	Code int
	Head http.Header
	Body map[string]any
	Raw  string
}

// do sends a request with the headers and returns the decoded answer.
func (f *fixture) do(method, path string, body []byte, headers ...string) response {
	f.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = f.remote
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	res := response{Code: rec.Code, Head: rec.Header(), Raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && strings.HasPrefix(res.Raw, "{") { // an array, or HEAD's empty body, is read from Raw
		if err := json.Unmarshal(rec.Body.Bytes(), &res.Body); err != nil {
			f.t.Fatalf("%s %s: answer is not JSON: %q", method, path, rec.Body.String())
		}
	}
	return res
}

func (f *fixture) sdk(path string, body string, headers ...string) response {
	f.t.Helper()
	return f.do("POST", path, []byte(body), append([]string{"X-App-Key", f.app.SDKKey, "User-Agent", "GameSDK/1.0"}, headers...)...)
}

// records reads every record the log has that it did not read before.
func (f *fixture) records() []unmogrowp.Record {
	f.t.Helper()
	var out []unmogrowp.Record
	for {
		n, _ := f.log.Lag()
		if n == 0 {
			return out
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		recs, err := f.log.Read(ctx, 10000)
		cancel()
		if err != nil {
			f.t.Fatalf("read log: %v", err)
		}
		out = append(out, recs...)
		if err := f.log.Commit(context.Background(), recs); err != nil {
			f.t.Fatal(err)
		}
	}
}

// logged reads every event the log has so far.
func (f *fixture) logged() []unmogrowp.Event {
	f.t.Helper()
	var out []unmogrowp.Event
	for _, r := range f.records() {
		var e unmogrowp.Event
		if err := unmogrowp.DecodeEventRecord(r.Value, &e); err != nil {
			f.t.Fatalf("decode logged record: %v", err)
		}
		if r.Key != e.AppID {
			f.t.Fatalf("record of app %s logged under key %q", e.AppID, r.Key)
		}
		out = append(out, e)
	}
	return out
}

// touchpoints reads every touchpoint the log has so far.
func (f *fixture) touchpoints() []unmogrowp.Touchpoint {
	f.t.Helper()
	var out []unmogrowp.Touchpoint
	for _, r := range f.records() {
		var tp unmogrowp.Touchpoint
		if err := unmogrowp.DecodeTouchpointRecord(r.Value, &tp); err != nil {
			f.t.Fatalf("decode logged record: %v", err)
		}
		if r.Key != tp.AppID {
			f.t.Fatalf("touchpoint of app %s logged under key %q", tp.AppID, r.Key)
		}
		out = append(out, tp)
	}
	return out
}

func wantError(t *testing.T, r response, code int, contains string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status = %d, want %d; body %s", r.Code, code, r.Raw)
	}
	msg, _ := r.Body["error"].(string)
	if msg == "" || !strings.Contains(msg, contains) {
		t.Fatalf("error = %q, want a sentence containing %q", msg, contains)
	}
	// A server that cannot be reached now says when to come back.
	if ra := r.Head.Get("Retry-After"); code == 503 && strings.Contains(msg, "retry later") && ra != strconv.Itoa(RetryAfterUnavailable) {
		t.Fatalf("503 %q with Retry-After %q, want %d", msg, ra, RetryAfterUnavailable)
	}
}

func TestSingleEventAccepted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.sdk("/v1/events", `{"event_type":"app_install","device_id":"d1","event_id":"e1","timestamp":1761056400,
		"platform":"IOS","os_version":"17.1","idfa":"00000000-0000-0000-0000-000000000000","revenue":"1.5","currency":"usd",
		"ip":"1.2.3.4","user_agent":"spoofed","attribution":{"pid":"x"},"event_data":{"k":[1,2]}}`)
	if r.Code != 200 || r.Body["status"] != "accepted" || r.Body["event_id"] != "e1" {
		t.Fatalf("answer %d %s", r.Code, r.Raw)
	}
	got := f.logged()
	if len(got) != 1 {
		t.Fatalf("logged %d events, want 1", len(got))
	}
	e := got[0]
	want := unmogrowp.Event{
		EventID: "e1", AppID: f.app.ID, EventType: "install", DeviceID: "d1", Platform: "ios", OSVersion: "17.1",
		Timestamp: time.Unix(1761056400, 0).UTC(), ReceivedAt: f.now, Revenue: 1.5, HasRevenue: true, Currency: "USD",
		IP: "198.51.100.9", UserAgent: "GameSDK/1.0", Attribution: []byte(`{"pid":"x"}`), EventData: []byte(`{"k":[1,2]}`),
	}
	if fmt.Sprintf("%+v", e) != fmt.Sprintf("%+v", want) {
		t.Fatalf("logged event\n got %+v\nwant %+v", e, want)
	}
}

// TestThirdPartySharing checks that the consent flag reaches the log as sent, through the
// single and the batch endpoint (the fast decoder) and as absent when not sent or null.
func TestThirdPartySharing(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.sdk("/v1/events", `{"event_type":"session","device_id":"d1","third_party_sharing":false}`); r.Code != 200 {
		t.Fatalf("answer %d %s", r.Code, r.Raw)
	}
	if r := f.sdk("/v1/events/batch", `{"events":[{"event_type":"session","device_id":"d2","third_party_sharing":true},
		{"event_type":"session","device_id":"d3"},{"event_type":"session","device_id":"d4","third_party_sharing":null},
		{"event_type":"session","device_id":"d5","third_party_sharing":false}]}`); r.Code != 200 {
		t.Fatalf("answer %d %s", r.Code, r.Raw)
	}
	got := map[string]string{}
	for _, e := range f.logged() {
		got[e.DeviceID] = "absent"
		if e.ThirdPartySharing != nil {
			got[e.DeviceID] = strconv.FormatBool(*e.ThirdPartySharing)
		}
	}
	want := map[string]string{"d1": "false", "d2": "true", "d3": "absent", "d4": "absent", "d5": "false"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("logged consent %v, want %v", got, want)
	}
}

func TestEventIDGeneratedWhenAbsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.sdk("/v1/events", `{"event_type":"session","device_id":"d1"}`)
	id, _ := r.Body["event_id"].(string)
	if r.Code != 200 || len(id) != 32 {
		t.Fatalf("answer %d %s", r.Code, r.Raw)
	}
	if got := f.logged(); len(got) != 1 || got[0].EventID != id || !got[0].Timestamp.Equal(f.now) {
		t.Fatalf("logged %+v", got)
	}
}

func TestTimeFormats(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	want := time.Date(2025, 10, 21, 14, 0, 0, 0, time.UTC)
	for _, ts := range []string{`1761055200`, `1761055200000`, `"2025-10-21T14:00:00Z"`, `"2025-10-21T16:00:00+02:00"`, `"1761055200"`} {
		r := f.sdk("/v1/events", `{"event_type":"session","device_id":"d","timestamp":`+ts+`,"install_begin_ts":`+ts+`}`)
		if r.Code != 200 {
			t.Fatalf("timestamp %s: %d %s", ts, r.Code, r.Raw)
		}
	}
	for _, e := range f.logged() {
		if !e.Timestamp.Equal(want) || !e.InstallBeginAt.Equal(want) {
			t.Fatalf("timestamp %v / %v, want %v", e.Timestamp, e.InstallBeginAt, want)
		}
	}
}

func TestServerKeyHonoursIPAndUserAgent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.do("POST", "/v1/events", []byte(`{"event_type":"session","device_id":"d","ip":"203.0.113.7","user_agent":"Dalvik/2.1"}`), "X-Api-Key", f.keys.ServerKey)
	if r.Code != 200 {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	r = f.do("POST", "/v1/events", []byte(`{"event_type":"session","device_id":"d2"}`), "X-Api-Key", f.keys.ServerKey)
	if r.Code != 200 {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	got := f.logged()
	if got[0].IP != "203.0.113.7" || got[0].UserAgent != "Dalvik/2.1" {
		t.Fatalf("server key's ip/user_agent not honoured: %q %q", got[0].IP, got[0].UserAgent)
	}
	if got[1].IP != "" || got[1].UserAgent != "" {
		t.Fatalf("server key without ip: got %q %q, want empty (the caller is a server, not the device)", got[1].IP, got[1].UserAgent)
	}
}

func TestTrustedProxyForwardedFor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, c := range []struct{ remote, xff, want string }{
		{"10.1.2.3:80", "203.0.113.9", "203.0.113.9"},
		{"10.1.2.3:80", "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"}, // right-most untrusted
		{"198.51.100.1:80", "203.0.113.9", "198.51.100.1"},               // untrusted peer: XFF ignored
		{"10.1.2.3:80", "garbage", "10.1.2.3"},
		{"[2001:db8::1]:443", "", "2001:db8::1"},
	} {
		f.remote = c.remote
		if r := f.sdk("/v1/events", `{"event_type":"session","device_id":"d"}`, "X-Forwarded-For", c.xff); r.Code != 200 {
			t.Fatalf("%d %s", r.Code, r.Raw)
		}
		if got := f.logged(); got[0].IP != c.want {
			t.Errorf("peer %s XFF %q: ip %q, want %q", c.remote, c.xff, got[0].IP, c.want)
		}
	}
}

func TestBatchKeepsValidListsInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	body := `{"events":[
		{"event_type":"session","device_id":"a"},
		{"device_id":"b"},
		{"event_type":"purchase","device_id":"c","revenue":3},
		"not an object",
		{"event_type":"purchase","device_id":"d","revenue":3,"currency":"EUR"}]}`
	r := f.sdk("/v1/events/batch", body)
	if r.Code != 200 || r.Body["accepted"] != 2.0 || r.Body["rejected"] != 3.0 {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	errs := r.Body["errors"].([]any)
	for i, want := range []struct {
		index float64
		text  string
	}{{1, "event_type"}, {2, "currency"}, {3, "JSON object"}} {
		e := errs[i].(map[string]any)
		if e["index"] != want.index || !strings.Contains(e["error"].(string), want.text) {
			t.Errorf("errors[%d] = %v, want index %v about %s", i, e, want.index, want.text)
		}
	}
	got := f.logged()
	if len(got) != 2 || got[0].DeviceID != "a" || got[1].DeviceID != "d" {
		t.Fatalf("logged %v", got)
	}
	// A bare array is a batch too, and an empty batch is fine.
	if r := f.sdk("/v1/events/batch", `[{"event_type":"session","device_id":"x"}]`); r.Code != 200 || r.Body["accepted"] != 1.0 {
		t.Fatalf("bare array: %d %s", r.Code, r.Raw)
	}
	if r := f.sdk("/v1/events/batch", `{"events":[]}`); r.Code != 200 || r.Body["accepted"] != 0.0 {
		t.Fatalf("empty batch: %d %s", r.Code, r.Raw)
	}
}

// A batch of which nothing was accepted says so in its status, with the same shape and 200,
// on /v1/events/batch, /v1/touchpoints and Track (the API's /api/attribution/batch); one
// accepted item keeps "accepted", and so does an empty batch, which refused nothing.
func TestBatchNothingAcceptedIsRejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	track := func(body string) response {
		t.Helper()
		answer, err := f.srv.Track(context.Background(), f.app, []byte(body), true)
		if err != nil {
			t.Fatalf("Track: %v", err)
		}
		raw, err := json.Marshal(answer)
		if err != nil {
			t.Fatal(err)
		}
		res := response{Code: http.StatusOK, Raw: string(raw)}
		if err := json.Unmarshal(raw, &res.Body); err != nil {
			t.Fatalf("answer is not JSON: %q", raw)
		}
		return res
	}
	for _, c := range []struct {
		name     string
		send     func() response
		status   string
		accepted float64
		rejected float64
		errors   int
	}{
		{"events none", func() response { return f.sdk("/v1/events/batch", `{"events":[{"device_id":"a"},"x"]}`) }, "rejected", 0, 2, 2},
		{"events some", func() response {
			return f.sdk("/v1/events/batch", `{"events":[{"device_id":"a"},{"event_type":"session","device_id":"b"}]}`)
		}, "accepted", 1, 1, 1},
		{"events empty", func() response { return f.sdk("/v1/events/batch", `[]`) }, "accepted", 0, 0, 0},
		{"touchpoints none", func() response { return f.server("/v1/touchpoints", `{"touchpoints":[{"type":"click"}]}`) }, "rejected", 0, 1, 1},
		{"touchpoints some", func() response {
			return f.server("/v1/touchpoints", `{"touchpoints":[{"type":"click"},{"type":"click","media_source":"x"}]}`)
		}, "accepted", 1, 1, 1},
		{"track none", func() response { return track(`{"events":[{"event_type":"session"}]}`) }, "rejected", 0, 1, 1},
		{"track some", func() response {
			return track(`{"events":[{"event_type":"session"},{"event_type":"session","device_id":"c"}]}`)
		}, "accepted", 1, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.send()
			if r.Code != 200 || r.Body["status"] != c.status || r.Body["accepted"] != c.accepted || r.Body["rejected"] != c.rejected {
				t.Fatalf("%d %s, want status %q accepted %v rejected %v", r.Code, r.Raw, c.status, c.accepted, c.rejected)
			}
			if errs, _ := r.Body["errors"].([]any); len(errs) != c.errors {
				t.Fatalf("errors %v, want %d of them", r.Body["errors"], c.errors)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	old := f.now.Add(-31 * 24 * time.Hour).Unix()
	for name, c := range map[string]struct {
		path, body string
		code       int
		contains   string
	}{
		"not json":                 {"/v1/events", `{"event_type":`, 400, "not valid JSON"},
		"not json batch":           {"/v1/events/batch", `nope`, 400, "not valid JSON"},
		"batch without events":     {"/v1/events/batch", `{"evts":[]}`, 400, "events"},
		"batch events not array":   {"/v1/events/batch", `{"events":{}}`, 400, "events must be a JSON array"},
		"array as single":          {"/v1/events", `[]`, 400, "JSON object"},
		"missing event_type":       {"/v1/events", `{"device_id":"d"}`, 400, "event_type"},
		"long event_type":          {"/v1/events", `{"event_type":"` + strings.Repeat("x", 65) + `","device_id":"d"}`, 400, "event_type"},
		"missing device_id":        {"/v1/events", `{"event_type":"session"}`, 400, "device_id"},
		"long device_id":           {"/v1/events", `{"event_type":"session","device_id":"` + strings.Repeat("x", 129) + `"}`, 400, "device_id"},
		"long event_id":            {"/v1/events", `{"event_type":"session","device_id":"d","event_id":"` + strings.Repeat("x", 65) + `"}`, 400, "event_id"},
		"device_id not string":     {"/v1/events", `{"event_type":"session","device_id":12}`, 400, "device_id must be a string"},
		"bad platform":             {"/v1/events", `{"event_type":"session","device_id":"d","platform":"symbian"}`, 400, "platform"},
		"future timestamp":         {"/v1/events", `{"event_type":"session","device_id":"d","timestamp":"2025-10-21T14:31:00Z"}`, 400, "future"},
		"too old":                  {"/v1/events", `{"event_type":"session","device_id":"d","timestamp":` + strconv.FormatInt(old, 10) + `}`, 400, "max_event_age_days"},
		"bad timestamp":            {"/v1/events", `{"event_type":"session","device_id":"d","timestamp":"yesterday"}`, 400, "timestamp"},
		"negative timestamp":       {"/v1/events", `{"event_type":"session","device_id":"d","timestamp":-5}`, 400, "timestamp"},
		"revenue without currency": {"/v1/events", `{"event_type":"purchase","device_id":"d","revenue":1}`, 400, "currency"},
		"bad currency":             {"/v1/events", `{"event_type":"purchase","device_id":"d","revenue":1,"currency":"EURO"}`, 400, "currency"},
		"revenue not number":       {"/v1/events", `{"event_type":"purchase","device_id":"d","revenue":"lots","currency":"EUR"}`, 400, "revenue"},
		"attribution not object":   {"/v1/events", `{"event_type":"session","device_id":"d","attribution":[1]}`, 400, "attribution"},
		"event_data not object":    {"/v1/events", `{"event_type":"session","device_id":"d","event_data":"x"}`, 400, "event_data"},
		"bad ip":                   {"/v1/events", `{"event_type":"session","device_id":"d","ip":"999.1.1.1"}`, 400, "ip"},
		"consent not boolean":      {"/v1/events", `{"event_type":"session","device_id":"d","third_party_sharing":"no"}`, 400, "third_party_sharing must be a boolean"},
		"unsupported encoding":     {"/v1/events", `{}`, 400, "Content-Encoding"},
		"unknown endpoint":         {"/v1/nothing", `{}`, 404, "No such endpoint"},
	} {
		t.Run(name, func(t *testing.T) {
			var extra []string
			if name == "unsupported encoding" {
				extra = []string{"Content-Encoding", "br"}
			}
			wantError(t, f.sdk(c.path, c.body, extra...), c.code, c.contains)
		})
	}
	if got := f.logged(); len(got) != 0 {
		t.Fatalf("bad requests stored %d events", len(got))
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ev := []byte(`{"event_type":"session","device_id":"d"}`)
	wantError(t, f.do("POST", "/v1/events", ev), 401, "X-App-Key")
	wantError(t, f.do("POST", "/v1/events", ev, "X-App-Key", "pk_nope"), 401, "Unknown app key")
	wantError(t, f.do("POST", "/v1/events", ev, "X-Api-Key", f.app.SDKKey), 401, "Unknown app key")     // an SDK key is no server key
	wantError(t, f.do("POST", "/v1/events", ev, "X-App-Key", f.keys.ServerKey), 401, "Unknown app key") // and the reverse
	wantError(t, f.sdk("/v1/events", `{"event_type":"session","device_id":"d","app_id":"`+f.other.ID+`"}`), 403, "another app")
	wantError(t, f.sdk("/v1/events/batch", `[{"event_type":"session","device_id":"d"},{"event_type":"session","device_id":"d","app_id":"`+f.other.ID+`"}]`), 403, "another app")
	if r := f.sdk("/v1/events", `{"event_type":"session","device_id":"d","app_id":"`+f.app.ID+`"}`); r.Code != 200 {
		t.Fatalf("own app_id: %d %s", r.Code, r.Raw)
	}
	if got := f.logged(); len(got) != 1 {
		t.Fatalf("logged %d events, want only the one with its own app_id", len(got))
	}
}

func TestSizeLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	one := `{"event_type":"session","device_id":"d"}`
	many := "[" + strings.TrimSuffix(strings.Repeat(one+",", 1001), ",") + "]"
	wantError(t, f.sdk("/v1/events/batch", many), 413, "at most 1000")
	big := `{"event_type":"session","device_id":"d","event_data":{"x":"` + strings.Repeat("a", 64<<10) + `"}}`
	wantError(t, f.sdk("/v1/events", big), 413, "larger than")
	wantError(t, f.sdk("/v1/events/batch", "["+one+","+big+"]"), 413, "Event 1")
	huge := `{"events":[` + strings.Repeat(`{"event_type":"session","device_id":"d","event_data":{"x":"`+strings.Repeat("a", 60<<10)+`"}},`, 90) + one + `]}`
	wantError(t, f.sdk("/v1/events/batch", huge), 413, "larger than")
	var zipped bytes.Buffer // a gzip bomb: small on the wire, over the limit inflated
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(`{"events":[` + strings.Repeat(" ", 6<<20) + `]}`))
	zw.Close()
	wantError(t, f.sdk("/v1/events/batch", zipped.String(), "Content-Encoding", "gzip"), 413, "larger than")
	if got := f.logged(); len(got) != 0 {
		t.Fatalf("oversized requests stored %d events", len(got))
	}
}

func TestGzipBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(`[{"event_type":"session","device_id":"d"},{"event_type":"session","device_id":"e"}]`))
	zw.Close()
	if r := f.sdk("/v1/events/batch", zipped.String(), "Content-Encoding", "gzip"); r.Code != 200 || r.Body["accepted"] != 2.0 {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	wantError(t, f.sdk("/v1/events", "not gzip", "Content-Encoding", "gzip"), 400, "gzip")
}

func TestSignature(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *unmogrowp.AppSettings) { s.RequireSignature = true })
	body := []byte(`{"event_type":"session","device_id":"d"}`)
	ts := f.now.Unix()
	good := Sign(f.app.SigningSecret, ts, body)
	send := func(h ...string) response {
		return f.do("POST", "/v1/events", body, append([]string{"X-App-Key", f.app.SDKKey}, h...)...)
	}
	wantError(t, send(), 401, "X-Signature")
	wantError(t, send("X-Timestamp", strconv.FormatInt(ts, 10), "X-Signature", "sha256=00"), 401, "does not match")
	wantError(t, send("X-Timestamp", strconv.FormatInt(ts, 10), "X-Signature", "md5="+good[7:]), 401, "sha256=")
	wantError(t, send("X-Timestamp", "soon", "X-Signature", good), 401, "unix seconds")
	stale := ts - 301
	wantError(t, send("X-Timestamp", strconv.FormatInt(stale, 10), "X-Signature", Sign(f.app.SigningSecret, stale, body)), 401, "300 seconds")
	wantError(t, send("X-Timestamp", strconv.FormatInt(ts, 10), "X-Signature", Sign("ss_wrong", ts, body)), 401, "does not match")
	if r := send("X-Timestamp", strconv.FormatInt(ts, 10), "X-Signature", good); r.Code != 200 {
		t.Fatalf("signed: %d %s", r.Code, r.Raw)
	}
	edge := ts - 300
	if r := send("X-Timestamp", strconv.FormatInt(edge, 10), "X-Signature", Sign(f.app.SigningSecret, edge, body)); r.Code != 200 {
		t.Fatalf("signed 300 s ago: %d %s", r.Code, r.Raw)
	}
	// The server key is a secret already: no signature needed.
	if r := f.do("POST", "/v1/events", body, "X-Api-Key", f.keys.ServerKey); r.Code != 200 {
		t.Fatalf("server key: %d %s", r.Code, r.Raw)
	}
	if got := f.logged(); len(got) != 3 {
		t.Fatalf("logged %d events, want 3", len(got))
	}
}

// TestRateLimit checks the in-process limiter: a token bucket whose burst is the limit,
// so an app limited to 100/s takes 100 events at once after an idle spell, not 1000; a
// batch larger than the limit is answered 429 with Retry-After, full bucket or not.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *unmogrowp.AppSettings) { s.RateLimitPerSecond = 100 })
	batch := func(n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(`{"event_type":"session","device_id":"d"},`, n), ",") + "]"
	}
	if r := f.sdk("/v1/events/batch", batch(100)); r.Code != 200 {
		t.Fatalf("first batch (the burst): %d %s", r.Code, r.Raw)
	}
	r := f.sdk("/v1/events/batch", batch(100))
	wantError(t, r, 429, "rate limit")
	if r.Head.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After = %q, want 1 (100 events at 100/s)", r.Head.Get("Retry-After"))
	}
	f.now = f.now.Add(time.Second)
	if r := f.sdk("/v1/events/batch", batch(100)); r.Code != 200 {
		t.Fatalf("after waiting: %d %s", r.Code, r.Raw)
	}

	// After an idle hour the bucket holds the limit, no more.
	f.now = f.now.Add(time.Hour)
	r = f.sdk("/v1/events/batch", batch(101))
	wantError(t, r, 429, "more than the app's rate limit of 100 per second")
	if r.Head.Get("Retry-After") == "" {
		t.Error("a batch larger than the burst is answered without Retry-After")
	}
	accepted := 0
	for range 1000 {
		if r := f.sdk("/v1/events", `{"event_type":"session","device_id":"d"}`); r.Code == 200 {
			accepted++
		}
	}
	if accepted != 100 {
		t.Errorf("%d of 1000 events accepted at once after an idle spell, want the limit of 100", accepted)
	}
	if got := f.logged(); len(got) != 300 {
		t.Fatalf("logged %d, want 300", len(got))
	}
}

func TestLogUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.log.Close()
	wantError(t, f.sdk("/v1/events", `{"event_type":"session","device_id":"d"}`), 503, "nothing was accepted")
}

func TestHealthMetricsCORS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	if r := f.do("GET", "/health", nil); r.Code != 200 || r.Body["status"] != "ok" {
		t.Fatalf("health: %d %s", r.Code, r.Raw)
	}
	f.sdk("/v1/events", `{"event_type":"session","device_id":"d"}`)
	f.sdk("/v1/events", `{"event_type":"session"}`)
	r := f.do("GET", "/metrics", nil)
	for _, want := range []string{"unmogrowp_events_accepted_total 1", `unmogrowp_events_rejected_total{reason="invalid"} 1`, "unmogrowp_log_append_seconds_bucket", `unmogrowp_http_request_duration_seconds_bucket{code="200",listener="ingest",route="POST /v1/events"`} {
		if !strings.Contains(r.Raw, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	pre := f.do("OPTIONS", "/v1/events", nil, "Origin", "https://game.example", "Access-Control-Request-Method", "POST")
	if pre.Code != 204 || pre.Head.Get("Access-Control-Allow-Origin") != "https://game.example" || !strings.Contains(pre.Head.Get("Access-Control-Allow-Headers"), "X-App-Key") {
		t.Fatalf("preflight: %d %v", pre.Code, pre.Head)
	}
	if r := f.do("OPTIONS", "/v1/events", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST"); r.Head.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from an unlisted origin allowed")
	}
}

// TestSharedRateLimit gives two ingestion servers one Redis rate limiter: the app's budget
// is shared, so the second server refuses what the first used up. A limiter that cannot be
// reached lets events pass.
func TestSharedRateLimit(t *testing.T) {
	// Not parallel: both batches must fall in one second of the real clock.
	addr := testenv.Server(t, testenv.RedisEnv, "apt-get install redis-server")
	prefix := fmt.Sprintf("unmogrowp-test:ingest-%d:", time.Now().UnixNano())
	lim, err := redis.OpenRateLimiter(context.Background(), "", redis.Options{Addr: addr, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lim.Close() })
	a := newFixture(t, func(s *unmogrowp.AppSettings) { s.RateLimitPerSecond = 150 })
	a.srv.cfg.RateLimiter = lim
	b := &fixture{t: t, log: a.log, meta: a.meta, app: a.app, keys: a.keys, remote: a.remote}
	b.srv = New(Config{Log: a.log, Apps: a.meta, Registry: prometheus.NewRegistry(), RateLimiter: lim})
	batch := "[" + strings.TrimSuffix(strings.Repeat(`{"event_type":"session","device_id":"d"},`, 100), ",") + "]"
	for {
		// Start at the beginning of a second, so that both batches fall in one window.
		if time.Now().Nanosecond() < 300e6 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := a.sdk("/v1/events/batch", batch); r.Code != 200 {
		t.Fatalf("first server: %d %s", r.Code, r.Raw)
	}
	r := b.sdk("/v1/events/batch", batch)
	wantError(t, r, 429, "rate limit")
	if r.Head.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.Head.Get("Retry-After"))
	}

	lim.Close() // unreachable from now on
	if r := b.sdk("/v1/events/batch", batch); r.Code != 200 {
		t.Fatalf("with the limiter away: %d %s, want the events accepted", r.Code, r.Raw)
	}
}
