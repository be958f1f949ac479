package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/wal"
)

// TestInstallsRangeReversed checks that the installs route refuses from after to with a
// 400, as the reports do.
func TestInstallsRangeReversed(t *testing.T) {
	f := newFixture(t)
	prefix := "/api/apps/" + f.app.ID
	for _, path := range []string{
		prefix + "/installs?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
		"/api/dashboard/stats?app_id=" + f.app.ID + "&from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
	} {
		code, body := f.do("GET", path, f.key, "")
		if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, "to must not be before from") {
			t.Errorf("%s: %d %v, want 400", path, code, body)
		}
	}
	if code, body := f.do("GET", prefix+"/installs?from=2026-03-01T00:00:00Z&to=2026-03-01T00:00:00Z", f.key, ""); code != 200 {
		t.Errorf("installs with from = to: %d %v", code, body)
	}
}

// TestAppNameLimit checks that an app's name is at most 200 characters
// (not bytes) when created and when renamed, with a 400 naming the limit.
func TestAppNameLimit(t *testing.T) {
	_, srv := tenancyServer(t)
	a := newTenant(t, srv, "alice@example.com")
	long, most := strings.Repeat("é", 201), strings.Repeat("é", 200)
	code, body := request(t, srv, "POST", "/api/apps", a.token, `{"name":"`+long+`","platform":"ios"}`)
	if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, "at most 200 characters") {
		t.Errorf("create with a 201-character name: %d %v", code, body)
	}
	code, body = request(t, srv, "PATCH", "/api/apps/"+a.appID, a.token, `{"name":"`+long+`"}`)
	if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, "at most 200 characters") {
		t.Errorf("rename to a 201-character name: %d %v", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/apps", a.token, `{"name":"`+most+`","platform":"ios"}`); code != 201 || body["name"] != most {
		t.Errorf("create with a 200-character name: %d %v", code, body)
	}
}

// TestRotatedKeyStopsIngestion runs the API and the ingestion listener in one process, as
// `serve` does: once the API rotates an app's server key, ingestion refuses the old key
// from the next request on, not after its app cache expires.
func TestRotatedKeyStopsIngestion(t *testing.T) {
	meta, store := openStores(t)
	log, err := wal.Open(context.Background(), filepath.Join(t.TempDir(), "wal"), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	ing := ingest.New(ingest.Config{Log: log, Apps: meta, Registry: prometheus.NewRegistry()})
	_, srv := apiServer(t, meta, store, api.Config{AppCache: ing})
	a := newTenant(t, srv, "alice@example.com")
	code, created := request(t, srv, "POST", "/api/apps/"+a.appID+"/keys/rotate", a.token, "")
	oldKey, _ := created["server_key"].(string)
	if code != 200 || oldKey == "" {
		t.Fatalf("rotate: %d %v", code, created)
	}
	event := func(key string) int {
		t.Helper()
		req := httptest.NewRequest("POST", "/v1/events", strings.NewReader(`{"event_type":"session","device_id":"d"}`))
		req.Header.Set("X-Api-Key", key)
		rec := httptest.NewRecorder()
		ing.ServeHTTP(rec, req)
		return rec.Code
	}
	if c := event(oldKey); c != http.StatusOK { // cached from now on
		t.Fatalf("event with the current key: %d", c)
	}
	code, rotated := request(t, srv, "POST", "/api/apps/"+a.appID+"/keys/rotate", a.token, "")
	newKey, _ := rotated["server_key"].(string)
	if code != 200 || newKey == "" || newKey == oldKey {
		t.Fatalf("rotate: %d %v", code, rotated)
	}
	if c := event(oldKey); c != http.StatusUnauthorized {
		t.Errorf("event with the rotated key right after rotation: %d, want 401", c)
	}
	if c := event(newKey); c != http.StatusOK {
		t.Errorf("event with the new key: %d, want 200", c)
	}
}
