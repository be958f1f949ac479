package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/postback"
)

// createPostback creates a postback of the fixture's app and returns it as answered.
func (f *fixture) createPostback(body string) map[string]any {
	f.t.Helper()
	code, p := f.do("POST", "/api/apps/"+f.app.ID+"/postbacks", f.key, body)
	if code != 201 {
		f.t.Fatalf("create postback %s: %d %v", body, code, p)
	}
	return p
}

const pbSecret = "s3cr3t-never-shown"

// TestPostbackCRUD creates, reads, lists, changes and deletes a postback through the API:
// defaults are filled, every answer leaves the secret out (has_secret says whether there is
// one), and a change or a delete is seen by the next read.
func TestPostbackCRUD(t *testing.T) {
	f := newFixture(t)
	base := "/api/apps/" + f.app.ID + "/postbacks"
	noSecret := func(what string, b []byte) {
		t.Helper()
		if strings.Contains(string(b), pbSecret) || strings.Contains(string(b), `"secret"`) {
			t.Errorf("%s shows the secret: %s", what, b)
		}
	}

	code, b := f.raw("POST", base, f.key, `{"name":"Net","media_source":"net","url_template":"https://net.example/pb?c={campaign}","secret":"`+pbSecret+`"}`)
	noSecret("create", b)
	var created map[string]any
	if err := json.Unmarshal(b, &created); err != nil || code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	id, _ := created["id"].(string)
	for k, want := range map[string]any{
		"name": "Net", "kind": "postback", "media_source": "net", "send_all": false, "method": "GET",
		"url_template": "https://net.example/pb?c={campaign}", "body_template": "", "has_secret": true, "enabled": true,
	} {
		if created[k] != want {
			t.Errorf("created %s = %v, want %v", k, created[k], want)
		}
	}
	if fmt.Sprint(created["triggers"]) != "[install]" || fmt.Sprint(created["event_types"]) != "[]" || fmt.Sprint(created["headers"]) != "map[]" {
		t.Errorf("created triggers, event_types, headers = %v %v %v, want [install] [] {}", created["triggers"], created["event_types"], created["headers"])
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(created["created_at"])); err != nil || id == "" {
		t.Errorf("created id %q, created_at %v", id, created["created_at"])
	}

	code, b = f.raw("GET", base+"/"+id, f.key, "")
	noSecret("get", b)
	if code != 200 || !strings.Contains(string(b), `"id":"`+id+`"`) {
		t.Errorf("get: %d %s", code, b)
	}
	code, b = f.raw("GET", base, f.key, "")
	noSecret("list", b)
	var list struct{ Postbacks []map[string]any }
	if err := json.Unmarshal(b, &list); err != nil || code != 200 || len(list.Postbacks) != 1 || list.Postbacks[0]["id"] != id {
		t.Errorf("list: %d %s", code, b)
	}

	code, b = f.raw("PATCH", base+"/"+id, f.key, `{"name":"Net 2","enabled":false,"triggers":["install","event"],"event_types":["purchase"]}`)
	noSecret("patch", b)
	var patched map[string]any
	json.Unmarshal(b, &patched)
	if code != 200 || patched["name"] != "Net 2" || patched["enabled"] != false || fmt.Sprint(patched["triggers"]) != "[install event]" ||
		patched["has_secret"] != true || patched["url_template"] != created["url_template"] || patched["created_at"] != created["created_at"] {
		t.Errorf("patch: %d %s", code, b)
	}
	if _, p := f.do("GET", base+"/"+id, f.key, ""); p["name"] != "Net 2" || p["enabled"] != false {
		t.Errorf("get after patch: %v", p)
	}
	// The secret is kept for signing, and "" removes it.
	if p, err := f.meta.Postback(context.Background(), f.app.ID, id); err != nil || p.Secret != pbSecret {
		t.Errorf("stored secret = %v, %v", p, err)
	}
	if code, p := f.do("PATCH", base+"/"+id, f.key, `{"secret":""}`); code != 200 || p["has_secret"] != false {
		t.Errorf("patch removing the secret: %d %v", code, p)
	}

	if code, b := f.raw("DELETE", base+"/"+id, f.key, ""); code != 204 || len(b) != 0 {
		t.Errorf("delete: %d %s", code, b)
	}
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		if code, p := f.do(m, base+"/"+id, f.key, `{"name":"x"}`); code != 404 || p["error"] != "No such postback." {
			t.Errorf("%s after delete: %d %v", m, code, p)
		}
	}
	if _, p := f.do("GET", base, f.key, ""); fmt.Sprint(p["postbacks"]) != "[]" {
		t.Errorf("list after delete: %v", p)
	}
}

// TestPostbackValidation: what is wrong with a postback answers 400 naming the field, the
// macro or the trigger, for a creation, a change (which then changes nothing) and a
// preview alike.
func TestPostbackValidation(t *testing.T) {
	f := newFixture(t)
	base := "/api/apps/" + f.app.ID + "/postbacks"
	good := `"name":"Net","media_source":"net","url_template":"https://net.example/pb"`
	for _, tc := range []struct{ body, want string }{
		{`{"name":"Net","media_source":"net","url_template":"https://net.example/pb?x={clickid}"}`, "url_template: unknown macro {clickid}"},
		{`{"name":"Net","media_source":"net","url_template":"ftp://net.example/pb"}`, "url_template must be an http or https URL"},
		{`{"name":"Net","media_source":"net","url_template":"https://{app_id}.example/pb"}`, "url_template: macros may not stand in the scheme or the host"},
		{`{` + good + `,"triggers":["install","installs"]}`, `triggers: unknown trigger "installs"`},
		{`{` + good + `,"method":"POST","body_template":"{\"a\":\"{nope}\"}"}`, "body_template: unknown macro {nope}"},
		{`{` + good + `,"body_template":"a={campaign}"}`, "body_template needs method POST"},
		{`{` + good + `,"headers":{"X-Token":"{secret}"}}`, "headers.X-Token: unknown macro {secret}"},
		{`{` + good + `,"headers":{"Host":"x"}}`, "headers: Host is set by UnMoGrowP"},
		{`{"media_source":"net","url_template":"https://net.example/pb"}`, "name is required"},
		{`{"name":"Net","url_template":"https://net.example/pb"}`, "media_source is required"},
		{`{` + good + `,"url":"https://x.example"}`, `"url" is not a field of a postback`},
		{`{` + good + `,"triggers":"install"}`, "triggers has the wrong type"},
		{`{` + good + `,"enabled":"yes"}`, "enabled has the wrong type"},
		{`[]`, "The body must be a JSON object"},
	} {
		code, body := f.do("POST", base, f.key, tc.body)
		if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("create %s: %d %v, want 400 %q", tc.body, code, body, tc.want)
		}
		code, body = f.do("POST", base+"/preview", f.key, tc.body)
		if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("preview %s: %d %v, want 400 %q", tc.body, code, body, tc.want)
		}
	}
	if _, list := f.do("GET", base, f.key, ""); fmt.Sprint(list["postbacks"]) != "[]" {
		t.Errorf("invalid postbacks were stored: %v", list)
	}

	p := f.createPostback(`{` + good + `}`)
	path := base + "/" + p["id"].(string)
	for body, want := range map[string]string{
		`{"url_template":"https://net.example/pb?x={nope}"}`: "url_template: unknown macro {nope}",
		`{"kind":"webhook"}`:     "media_source must be empty for a webhook",
		`{"triggers":["click"]}`: `triggers: unknown trigger "click"`,
	} {
		if code, got := f.do("PATCH", path, f.key, body); code != 400 || !strings.Contains(fmt.Sprint(got["error"]), want) {
			t.Errorf("patch %s: %d %v, want 400 %q", body, code, got, want)
		}
	}
	if _, got := f.do("GET", path, f.key, ""); got["url_template"] != "https://net.example/pb" || got["kind"] != "postback" {
		t.Errorf("a refused change changed the postback: %v", got)
	}
	if code, got := f.do("POST", base+"/preview?activity_kind=click", f.key, `{`+good+`}`); code != 400 || !strings.Contains(fmt.Sprint(got["error"]), `activity_kind: unknown trigger "click"`) {
		t.Errorf("preview of an unknown activity: %d %v", code, got)
	}
}

// TestPostbackOfAnotherApp: an app's postbacks are not reachable through another app's id,
// even with that other app's own key.
func TestPostbackOfAnotherApp(t *testing.T) {
	f := newFixture(t)
	p := f.createPostback(`{"name":"Net","media_source":"net","url_template":"https://net.example/pb"}`)
	other := "/api/apps/" + f.other.ID + "/postbacks/" + p["id"].(string)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "", ""}, {"PATCH", "", `{"name":"x"}`}, {"DELETE", "", ""},
		{"POST", "/test", ""}, {"GET", "/deliveries", ""},
	} {
		if code, body := f.do(r.method, other+r.path, f.okey, r.body); code != 404 || body["error"] != "No such postback." {
			t.Errorf("%s %s with the other app's id and key: %d %v, want 404", r.method, r.path, code, body)
		}
	}
	if _, list := f.do("GET", "/api/apps/"+f.other.ID+"/postbacks", f.okey, ""); fmt.Sprint(list["postbacks"]) != "[]" {
		t.Errorf("the other app lists %v", list)
	}
	if _, got := f.do("GET", "/api/apps/"+f.app.ID+"/postbacks/"+p["id"].(string), f.key, ""); got["name"] != "Net" {
		t.Errorf("the postback after the other app's attempts: %v", got)
	}
}

// TestPostbackPreview expands a postback's templates for a sample activity, each macro
// escaped for where it stands: the campaign "a b&c" as a%20b%26c in the URL, as a JSON
// string in a JSON body, as it is in a header.
func TestPostbackPreview(t *testing.T) {
	f := newFixture(t)
	base := "/api/apps/" + f.app.ID + "/postbacks/preview"
	code, got := f.do("POST", base, f.key, `{"name":"Net","media_source":"net","method":"POST",
		"url_template":"https://net.example/pb?c={campaign}&k={activity_kind}&app={app_id}&d={delivery_id}",
		"body_template":"{\"campaign\":\"{campaign}\",\"ctit\":{ctit}}","headers":{"X-Campaign":"{campaign}"},"secret":"x"}`)
	if code != 200 {
		t.Fatalf("preview: %d %v", code, got)
	}
	wantURL := "https://net.example/pb?c=a%20b%26c&k=install&app=" + f.app.ID + "&d=00000000000000000000000000000000"
	if got["url"] != wantURL || got["method"] != "POST" || got["activity_kind"] != "install" {
		t.Errorf("preview url %v method %v kind %v, want %s POST install", got["url"], got["method"], got["activity_kind"], wantURL)
	}
	if got["body"] != `{"campaign":"a b&c","ctit":45}` {
		t.Errorf("preview body = %v", got["body"])
	}
	h, _ := got["headers"].(map[string]any)
	if h["X-Campaign"] != "a b&c" || h["Content-Type"] != "application/json" {
		t.Errorf("preview headers = %v", h)
	}
	// Another activity: an event's macros have the sample event's values, the first of the
	// postback's event types as its name.
	code, got = f.do("POST", base+"?activity_kind=event", f.key, `{"name":"Net","media_source":"net","triggers":["event"],"event_types":["level_up"],
		"url_template":"https://net.example/e?n={event_name}&r={event_revenue}&cur={event_currency}"}`)
	if code != 200 || got["url"] != "https://net.example/e?n=level_up&r=9.99&cur=EUR" {
		t.Errorf("event preview: %d %v", code, got)
	}
	code, got = f.do("POST", base, f.key, `{"name":"Net","media_source":"net","triggers":["rejected_install"],
		"url_template":"https://net.example/r?why={reject_reason}&v={reject_reason_value}"}`)
	if code != 200 || got["url"] != "https://net.example/r?why=click_injection&v=3" || got["activity_kind"] != "rejected_install" {
		t.Errorf("rejected install preview (the first trigger's): %d %v", code, got)
	}
	// Nothing was stored.
	if _, list := f.do("GET", "/api/apps/"+f.app.ID+"/postbacks", f.key, ""); fmt.Sprint(list["postbacks"]) != "[]" {
		t.Errorf("a preview stored a postback: %v", list)
	}
}

// receiver is an HTTP server on loopback that records the requests it gets and answers
// the status it is told.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []*http.Request
	bodies [][]byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: 200}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.got, rc.bodies = append(rc.got, r), append(rc.bodies, b)
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// TestPostbackTestSend sends one test postback to a receiver on loopback: the macros
// expanded for a sample install, the delivery id in its header and macro, signed with the
// postback's secret; the answer tells what came of it, also for a receiver that fails and
// for a sender that refuses loopback (the production setting).
func TestPostbackTestSend(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	p := f.createPostback(`{"name":"Net","media_source":"net","url_template":"` + rc.URL + `/pb?c={campaign}&d={delivery_id}&clk={click_id}","secret":"` + pbSecret + `"}`)
	path := "/api/apps/" + f.app.ID + "/postbacks/" + p["id"].(string) + "/test"

	code, b := f.raw("POST", path, f.key, "")
	if strings.Contains(string(b), pbSecret) {
		t.Errorf("the test's answer shows the secret: %s", b)
	}
	var res struct {
		Result     string
		Delivered  bool
		LastStatus int    `json:"last_status"`
		LastError  string `json:"last_error"`
		Request    struct {
			URL        string
			DeliveryID string `json:"delivery_id"`
		}
	}
	if err := json.Unmarshal(b, &res); err != nil || code != 200 || res.Result != "delivered" || !res.Delivered || res.LastStatus != 200 || res.LastError != "" {
		t.Fatalf("test send: %d %s", code, b)
	}
	rc.mu.Lock()
	if len(rc.got) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(rc.got))
	}
	r := rc.got[0]
	rc.mu.Unlock()
	if r.Method != "GET" || r.URL.RawQuery != "c=a%20b%26c&d="+res.Request.DeliveryID+"&clk=sample-click-id" {
		t.Errorf("received %s %s", r.Method, r.URL)
	}
	if res.Request.URL != rc.URL+"/pb?"+r.URL.RawQuery {
		t.Errorf("answered url %q, sent %q", res.Request.URL, r.URL)
	}
	if id := r.Header.Get(postback.HeaderDeliveryID); len(id) != 32 || id != res.Request.DeliveryID {
		t.Errorf("delivery id header %q, answered %q", id, res.Request.DeliveryID)
	}
	ts, err := strconv.ParseInt(r.Header.Get(postback.HeaderTimestamp), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Errorf("timestamp header %q", r.Header.Get(postback.HeaderTimestamp))
	}
	if sig := r.Header.Get(postback.HeaderSignature); !postback.Verify(pbSecret, ts, nil, sig) {
		t.Errorf("signature %q does not verify with the secret", sig)
	}

	// A failing receiver: the outcome says so, and a delivery would be retried.
	rc.mu.Lock()
	rc.status = 503
	rc.mu.Unlock()
	if code, got := f.do("POST", path, f.key, ""); code != 200 || got["result"] != "retry" || got["delivered"] != false ||
		got["last_status"] != 503.0 || !strings.Contains(fmt.Sprint(got["last_error"]), "503") {
		t.Errorf("test send to a failing receiver: %d %v", code, got)
	}
	// A webhook's body is the sample attribution, signed with it.
	hook := f.createPostback(`{"name":"Hook","kind":"webhook","url_template":"` + rc.URL + `/hook","secret":"` + pbSecret + `"}`)
	rc.mu.Lock()
	rc.status = 204
	rc.mu.Unlock()
	if code, got := f.do("POST", "/api/apps/"+f.app.ID+"/postbacks/"+hook["id"].(string)+"/test", f.key, ""); code != 200 || got["result"] != "delivered" {
		t.Errorf("webhook test send: %d %v", code, got)
	}
	rc.mu.Lock()
	r, body := rc.got[len(rc.got)-1], rc.bodies[len(rc.bodies)-1]
	rc.mu.Unlock()
	ts, _ = strconv.ParseInt(r.Header.Get(postback.HeaderTimestamp), 10, 64)
	if r.Method != "POST" || !strings.Contains(string(body), `"activity_kind":"install"`) || !postback.Verify(pbSecret, ts, body, r.Header.Get(postback.HeaderSignature)) {
		t.Errorf("webhook received %s %s, signature %q", r.Method, body, r.Header.Get(postback.HeaderSignature))
	}

	// The production sender refuses loopback, and says why.
	h := api.New(api.Config{Apps: f.meta, Links: f.meta, Results: f.store, Postbacks: f.meta, Outbox: f.meta, Registry: prometheus.NewRegistry()})
	srv := httptest.NewServer(h)
	defer srv.Close()
	f2 := *f
	f2.srv = srv
	before := len(rc.got)
	if code, got := f2.do("POST", path, f.key, ""); code != 200 || got["result"] != "refused" || !strings.Contains(fmt.Sprint(got["last_error"]), "loopback") {
		t.Errorf("test send to loopback without POSTBACK_ALLOW_PRIVATE: %d %v", code, got)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) != before {
		t.Errorf("a refused test postback reached the receiver")
	}
}

// TestDeliveries lists a postback's deliveries, put in its outbox directly: newest first,
// in pages that together hold each once, filtered by status and time, showing neither
// headers nor body; bad parameters answer 400 naming the parameter.
func TestDeliveries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.createPostback(`{"name":"Net","media_source":"net","url_template":"https://net.example/pb","secret":"` + pbSecret + `"}`)
	q := f.createPostback(`{"name":"Other","media_source":"other","url_template":"https://other.example/pb"}`)
	pid := p["id"].(string)
	base := "/api/apps/" + f.app.ID + "/postbacks/" + pid + "/deliveries"

	t0 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var ds []unmogrowp.Delivery
	for i := range 7 {
		ds = append(ds, unmogrowp.Delivery{
			ID: fmt.Sprintf("%032d", i), PostbackID: pid, AppID: f.app.ID, ActivityKind: "install",
			URL: fmt.Sprintf("https://net.example/pb?n=%d", i), Host: "net.example", Method: "GET",
			Headers: map[string]string{"Authorization": "Bearer hidden"}, Body: []byte("hidden body"),
			CreatedAt: t0.Add(time.Duration(i) * time.Minute), NextAttemptAt: t0.Add(time.Duration(i) * time.Minute),
		})
	}
	// One of another postback, which its list must not hold.
	ds = append(ds, unmogrowp.Delivery{ID: "f" + strings.Repeat("0", 31), PostbackID: q["id"].(string), AppID: f.app.ID,
		ActivityKind: "install", URL: "https://other.example/pb", Host: "other.example", Method: "GET", CreatedAt: t0})
	if err := f.meta.Enqueue(ctx, ds); err != nil {
		t.Fatal(err)
	}
	// Deliver #1, fail #2 for good, retry #3.
	claimed, err := f.meta.Claim(ctx, unmogrowp.ClaimRequest{Now: time.Now(), Limit: 100, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]unmogrowp.Attempt{
		ds[1].ID: {Status: unmogrowp.DeliveryDelivered, HTTPStatus: 200},
		ds[2].ID: {Status: unmogrowp.DeliveryFailed, HTTPStatus: 404, Error: "The destination answered 404 Not Found."},
		ds[3].ID: {Status: unmogrowp.DeliveryPending, HTTPStatus: 500, Error: "The destination answered 500 Internal Server Error.", NextAttemptAt: time.Now().Add(time.Hour)},
	}
	for _, c := range claimed {
		a, ok := outcomes[c.ID]
		if !ok {
			continue
		}
		a.ID, a.LeaseToken, a.At = c.ID, c.LeaseToken, time.Now()
		if err := f.meta.Complete(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	type page struct {
		Deliveries []map[string]any
		NextCursor string `json:"next_cursor"`
	}
	get := func(query string) page {
		t.Helper()
		code, b := f.raw("GET", base+query, f.key, "")
		var pg page
		if err := json.Unmarshal(b, &pg); err != nil || code != 200 {
			t.Fatalf("deliveries%s: %d %s", query, code, b)
		}
		if strings.Contains(string(b), "hidden") || strings.Contains(string(b), pbSecret) {
			t.Errorf("deliveries%s show a header, the body or the secret: %s", query, b)
		}
		return pg
	}
	ids := func(pg page) []string {
		var out []string
		for _, d := range pg.Deliveries {
			out = append(out, d["id"].(string))
		}
		return out
	}

	// Pages of 3: newest first, each delivery once.
	var all []string
	cursor := ""
	for n := 0; ; n++ {
		pg := get("?limit=3&cursor=" + url.QueryEscape(cursor))
		all = append(all, ids(pg)...)
		if len(pg.Deliveries) > 3 || n > 3 {
			t.Fatalf("page %d: %d deliveries", n, len(pg.Deliveries))
		}
		if cursor = pg.NextCursor; cursor == "" {
			break
		}
	}
	want := []string{ds[6].ID, ds[5].ID, ds[4].ID, ds[3].ID, ds[2].ID, ds[1].ID, ds[0].ID}
	if !slices.Equal(all, want) {
		t.Errorf("paged ids = %v, want %v", all, want)
	}

	// The fields, and no more.
	pg := get("")
	byID := map[string]map[string]any{}
	for _, d := range pg.Deliveries {
		byID[d["id"].(string)] = d
		var keys []string
		for k := range d {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if fmt.Sprint(keys) != "[activity_kind attempts created_at delivered_at id last_error last_status next_attempt_at status url]" {
			t.Errorf("delivery fields = %v", keys)
		}
	}
	if d := byID[ds[1].ID]; d["status"] != "delivered" || d["attempts"] != 1.0 || d["last_status"] != 200.0 || d["delivered_at"] == nil || d["next_attempt_at"] != nil {
		t.Errorf("delivered: %v", d)
	}
	if d := byID[ds[2].ID]; d["status"] != "failed" || d["last_status"] != 404.0 || d["last_error"] != "The destination answered 404 Not Found." || d["delivered_at"] != nil {
		t.Errorf("failed: %v", d)
	}
	if d := byID[ds[3].ID]; d["status"] != "pending" || d["attempts"] != 1.0 || d["next_attempt_at"] == nil || d["last_status"] != 500.0 {
		t.Errorf("retried: %v", d)
	}
	if d := byID[ds[0].ID]; d["url"] != "https://net.example/pb?n=0" || d["created_at"] != t0.Format(time.RFC3339Nano) || d["attempts"] != 0.0 {
		t.Errorf("untouched: %v", d)
	}

	// Filters.
	if got := ids(get("?status=pending")); !slices.Equal(got, []string{ds[6].ID, ds[5].ID, ds[4].ID, ds[3].ID, ds[0].ID}) {
		t.Errorf("pending = %v", got)
	}
	if got := ids(get("?status=failed")); !slices.Equal(got, []string{ds[2].ID}) {
		t.Errorf("failed = %v", got)
	}
	from, to := t0.Add(2*time.Minute).Unix(), t0.Add(5*time.Minute).Format(time.RFC3339)
	if got := ids(get(fmt.Sprintf("?from=%d&to=%s", from, to))); !slices.Equal(got, []string{ds[4].ID, ds[3].ID, ds[2].ID}) {
		t.Errorf("from #2 to #5 = %v", got)
	}

	for query, want := range map[string]string{
		"?status=sent":       "status must be pending, delivered or failed",
		"?limit=0":           "limit must be a whole number from 1 to 1000",
		"?limit=1001":        "limit must be a whole number",
		"?cursor=nonsense":   "cursor is not valid",
		"?from=yesterday":    "from must be unix seconds",
		"?from=2000&to=1000": "to must not be before from",
	} {
		if code, got := f.do("GET", base+query, f.key, ""); code != 400 || !strings.Contains(fmt.Sprint(got["error"]), want) {
			t.Errorf("deliveries%s: %d %v, want 400 %q", query, code, got, want)
		}
	}
	if code, got := f.do("GET", "/api/apps/"+f.app.ID+"/postbacks/nope/deliveries", f.key, ""); code != 404 {
		t.Errorf("deliveries of an unknown postback: %d %v", code, got)
	}
}

// TestPostbacksUnavailable: a server without a postback store answers the postback routes
// 503, not a crash.
func TestPostbacksUnavailable(t *testing.T) {
	f := newFixture(t)
	h := api.New(api.Config{Apps: f.meta, Links: f.meta, Results: f.store, Registry: prometheus.NewRegistry()})
	srv := httptest.NewServer(h)
	defer srv.Close()
	f.srv = srv
	for _, r := range []struct{ method, path string }{
		{"GET", ""}, {"POST", ""}, {"GET", "/x"}, {"GET", "/x/deliveries"}, {"POST", "/x/test"},
	} {
		if code, got := f.do(r.method, "/api/apps/"+f.app.ID+"/postbacks"+r.path, f.key, `{}`); code != 503 {
			t.Errorf("%s %s: %d %v, want 503", r.method, r.path, code, got)
		}
	}
}
