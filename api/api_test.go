package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/postback"
)

// fixture is the API on a real SQLite metadata store and a real DuckDB store, with two
// apps: one whose data the tests read, and another whose key must not reach it.
type fixture struct {
	t          *testing.T
	srv        *httptest.Server
	store      *duckdb.Store
	meta       *metadata.DB
	app, other *unmogrowp.App
	key, okey  string
	owner      string // the session token of app's owner, who may do what the server key may not
}

// openStores opens a real SQLite metadata store and an in-memory DuckDB store, closed when
// t ends.
func openStores(tb testing.TB) (*metadata.DB, *duckdb.Store) {
	tb.Helper()
	return openMetadata(tb, "sqlite"), openDuckDB(tb)
}

// openDuckDB opens an in-memory DuckDB store, closed when tb ends.
func openDuckDB(tb testing.TB) *duckdb.Store {
	tb.Helper()
	store, err := duckdb.Open(context.Background(), "", duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	meta, store := openStores(t)
	f := &fixture{t: t, store: store, meta: meta, owner: "ut_" + strings.Repeat("o", 43)}
	owner := &unmogrowp.User{Email: "owner@example.com"}
	if err := meta.CreateUser(context.Background(), owner, ""); err != nil {
		t.Fatal(err)
	}
	if err := meta.CreateSession(context.Background(), &unmogrowp.Session{TokenHash: unmogrowp.HashSessionToken(f.owner), UserID: owner.ID,
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []**unmogrowp.App{&f.app, &f.other} {
		*a = &unmogrowp.App{OwnerID: owner.ID, Name: "Game", Platform: "android", AndroidURL: "https://play.google.com/store/apps/details?id=com.example", Settings: unmogrowp.DefaultAppSettings()}
		keys, err := meta.CreateApp(context.Background(), *a)
		if err != nil {
			t.Fatal(err)
		}
		if *a == f.app {
			f.key = keys.ServerKey
		} else {
			f.okey = keys.ServerKey
		}
	}
	_, f.srv = apiServer(t, meta, store, api.Config{IngestURL: "https://t.example.com/",
		Datacenters: unmogrowp.NewIPRanges([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}),
		// Test postbacks go to receivers on loopback.
		PostbackSender: postback.NewSender(postback.SenderOptions{AllowPrivate: true, Timeout: 5 * time.Second})})
	return f
}

// raw makes a request with the key (a server key in X-Api-Key, or a session token as a
// bearer token) and returns the status and the body as received.
func (f *fixture) raw(method, path, key, body string) (int, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(key, "ut_"):
		req.Header.Set("Authorization", "Bearer "+key)
	case key != "":
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (f *fixture) do(method, path, key, body string) (int, map[string]any) {
	f.t.Helper()
	code, b := f.raw(method, path, key, body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		f.t.Fatalf("%s %s: %d, body is not a JSON object: %q", method, path, code, b)
	}
	return code, out
}

func TestAuthAndTenancy(t *testing.T) {
	f := newFixture(t)
	routes := []struct{ method, path, body string }{
		{"GET", "/api/apps/{app}", ""},
		{"PATCH", "/api/apps/{app}", `{"name":"x"}`},
		{"GET", "/api/apps/{app}/attribution/dev1", ""},
		{"GET", "/api/apps/{app}/installs", ""},
		{"GET", "/api/apps/{app}/links", ""},
		{"POST", "/api/apps/{app}/links", `{"media_source":"x"}`},
	}
	for _, r := range routes {
		path := strings.ReplaceAll(r.path, "{app}", f.app.ID)
		if code, body := f.do(r.method, path, "", r.body); code != 401 || body["error"] == nil {
			t.Errorf("%s %s without a key: %d %v, want 401", r.method, r.path, code, body)
		}
		if code, _ := f.do(r.method, path, "sk_unknown", r.body); code != 401 {
			t.Errorf("%s %s with an unknown key: %d, want 401", r.method, r.path, code)
		}
		// Another app's key, this app's id: 404, as for an app that does not exist.
		if code, body := f.do(r.method, path, f.okey, r.body); code != 404 || body["error"] == nil {
			t.Errorf("%s %s with another app's key: %d %v, want 404", r.method, r.path, code, body)
		}
		missing := strings.ReplaceAll(r.path, "{app}", "app_doesnotexist")
		if code, _ := f.do(r.method, missing, f.key, r.body); code != 404 {
			t.Errorf("%s %s of an unknown app: %d, want 404", r.method, r.path, code)
		}
	}
}

func TestLinks(t *testing.T) {
	f := newFixture(t)
	path := "/api/apps/" + f.app.ID + "/links"
	code, link := f.do("POST", path, f.key, `{"media_source":"facebook","campaign":"summer","deep_link_value":"promo/1","ios_url":"https://apps.apple.com/app/id1"}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, link)
	}
	id, _ := link["id"].(string)
	want := map[string]any{
		"media_source": "facebook", "campaign": "summer", "deep_link_value": "promo/1", "app_id": f.app.ID,
		"ios_url": "https://apps.apple.com/app/id1", "android_url": f.app.AndroidURL, "web_url": "",
		"click_url": "https://t.example.com/c/" + id, "impression_url": "https://t.example.com/i/" + id,
	}
	for k, v := range want {
		if link[k] != v {
			t.Errorf("link %s = %v, want %v", k, link[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339, link["created_at"].(string)); err != nil || id == "" {
		t.Errorf("link id %q created_at %v", id, link["created_at"])
	}
	code, list := f.do("GET", path, f.key, "")
	links, _ := list["links"].([]any)
	if code != 200 || len(links) != 1 || links[0].(map[string]any)["id"] != id {
		t.Errorf("list: %d %v", code, list)
	}
	for _, bad := range []string{`{}`, `{"media_source":"x","ios_url":"javascript:alert(1)"}`, `{"media_source":7}`, `not json`, `[]`} {
		if code, body := f.do("POST", path, f.key, bad); code != 400 || body["error"] == "" {
			t.Errorf("create %s: %d %v, want 400", bad, code, body)
		}
	}
	if code, _ := f.do("POST", path, f.key, `{"media_source":"`+strings.Repeat("x", 70<<10)+`"}`); code != 413 {
		t.Errorf("create with a 70 KiB body: %d, want 413", code)
	}
}

func TestAttributionAndInstalls(t *testing.T) {
	f := newFixture(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var b unmogrowp.Batch
	for i := range 5 {
		e := unmogrowp.Event{EventID: "ev" + string(rune('a'+i)), AppID: f.app.ID, EventType: unmogrowp.EventInstall,
			DeviceID: "dev" + string(rune('a'+i)), Timestamp: base.Add(time.Duration(i) * time.Hour), ReceivedAt: base, Offset: int64(i)}
		b.Events = append(b.Events, e)
		b.Installs = append(b.Installs, unmogrowp.Install{Offset: int64(i), FirstInstallTime: e.Timestamp, Attribution: unmogrowp.Attribution{
			AppID: f.app.ID, DeviceID: e.DeviceID, InstallEventID: e.EventID, InstallTime: e.Timestamp,
			MatchType: unmogrowp.MatchOrganic, MediaSource: unmogrowp.MediaSourceOrganic,
		}})
	}
	if err := f.store.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	prefix := "/api/apps/" + f.app.ID
	code, a := f.do("GET", prefix+"/attribution/devc", f.key, "")
	if code != 200 || a["install_event_id"] != "evc" || a["match_type"] != "organic" || a["install_time"] != "2026-03-01T14:00:00Z" {
		t.Errorf("attribution: %d %v", code, a)
	}
	if code, _ := f.do("GET", prefix+"/attribution/nosuchdevice", f.key, ""); code != 404 {
		t.Errorf("unknown device: %d, want 404", code)
	}

	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		code, body := f.do("GET", prefix+"/installs?limit=2&cursor="+cursor, f.key, "")
		if code != 200 || page > 5 {
			t.Fatalf("installs page %d: %d %v", page, code, body)
		}
		for _, in := range body["installs"].([]any) {
			seen = append(seen, in.(map[string]any)["device_id"].(string))
		}
		cursor, _ = body["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if got := strings.Join(seen, ","); got != "deve,devd,devc,devb,deva" {
		t.Errorf("installs pages = %s, want newest first, each once", got)
	}
	code, body := f.do("GET", prefix+"/installs?from=2026-03-01T13:00:00Z&to=1772377200", f.key, "")
	if n := len(body["installs"].([]any)); code != 200 || n != 2 {
		t.Errorf("installs from 13:00 to 15:00: %d, %d installs, want 2: %v", code, n, body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "from=yesterday", "cursor=not-a-cursor"} {
		if code, body := f.do("GET", prefix+"/installs?"+q, f.key, ""); code != 400 || body["error"] == "" {
			t.Errorf("installs?%s: %d %v, want 400", q, code, body)
		}
	}
}

func TestSettings(t *testing.T) {
	f := newFixture(t)
	path := "/api/apps/" + f.app.ID
	code, app := f.do("GET", path, f.key, "")
	if code != 200 || app["id"] != f.app.ID || app["sdk_key"] != f.app.SDKKey || app["server_key"] != nil {
		t.Fatalf("get: %d %v", code, app)
	}
	// The server key acts as an editor: settings are an admin's.
	if code, body := f.do("PATCH", path, f.key, `{"name":"Renamed"}`); code != 403 || !strings.Contains(fmt.Sprint(body["error"]), "admin") {
		t.Errorf("patch with the server key: %d %v, want 403 naming the admin role", code, body)
	}
	code, app = f.do("PATCH", path, f.owner, `{"name":"Renamed","settings":{"click_lookback_days":14,"ip_blocklist":["198.51.100.0/24"]}}`)
	settings, _ := app["settings"].(map[string]any)
	if code != 200 || app["name"] != "Renamed" || settings["click_lookback_days"] != 14.0 ||
		settings["view_lookback_hours"] != 24.0 || settings["min_ctit_seconds"] != 10.0 {
		t.Fatalf("patch: %d %v", code, app)
	}
	for _, tc := range []struct{ body, mention string }{
		{`{"settings":{"click_lookback_days":31}}`, "click_lookback_days"},
		{`{"settings":{"click_lookback_days":0}}`, "click_lookback_days"},
		{`{"settings":{"view_lookback_hours":169}}`, "view_lookback_hours"},
		{`{"settings":{"fingerprint_window_hours":25}}`, "fingerprint_window_hours"},
		{`{"settings":{"reattribution_window_days":731}}`, "reattribution_window_days"},
		{`{"settings":{"min_ctit_seconds":-1}}`, "min_ctit_seconds"},
		{`{"settings":{"min_ctit_seconds":3601}}`, "min_ctit_seconds"},
		{`{"settings":{"ip_blocklist":["not an ip"]}}`, "ip_blocklist"},
		{`{"settings":{"click_lookback":7}}`, "click_lookback"},
		{`{"settings":{"fingerprint_enabled":"yes"}}`, "fingerprint_enabled"},
		{`{"web_url":"javascript:alert(1)"}`, "web_url"},
	} {
		code, body := f.do("PATCH", path, f.owner, tc.body)
		if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, tc.mention) {
			t.Errorf("patch %s: %d %v, want 400 naming %s", tc.body, code, body, tc.mention)
		}
	}
	// The edges of the ranges are accepted.
	code, app = f.do("PATCH", path, f.owner, `{"settings":{"click_lookback_days":30,"view_lookback_hours":168,"fingerprint_window_hours":1,"reattribution_window_days":730,"min_ctit_seconds":0}}`)
	if code != 200 {
		t.Errorf("patch at the range edges: %d %v", code, app)
	}
	_, app = f.do("GET", path, f.key, "")
	if s := app["settings"].(map[string]any); s["click_lookback_days"] != 30.0 || s["ip_blocklist"].([]any)[0] != "198.51.100.0/24" {
		t.Errorf("settings after the patches: %v", s)
	}
}
