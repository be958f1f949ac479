package api_test

import (
	"net/http"
	"testing"
)

// TestAppIngestURL shows every app object with the ingestion listener's public URL
// (Config.IngestURL, without its trailing slash), which the dashboard's integration
// snippets send events to: in the list, the app, and the answers that create, change
// or re-key it.
func TestAppIngestURL(t *testing.T) {
	f := newAuthFixture(t)
	token, _ := f.register("ana@example.com", "correct horse battery", "Ana")
	created := f.do("POST", "/api/apps", token, `{"name":"Game","platform":"ios"}`)
	created.want(t, http.StatusCreated, "")
	id, _ := created.body["id"].(string)
	want := "https://t.example.com"
	check := func(what string, app map[string]any) {
		t.Helper()
		if app["ingest_url"] != want {
			t.Errorf("%s: ingest_url = %v, want %q", what, app["ingest_url"], want)
		}
	}
	check("POST /api/apps", created.body)
	list := f.do("GET", "/api/apps", token, "")
	list.want(t, http.StatusOK, "")
	if apps, _ := list.body["apps"].([]any); len(apps) != 1 {
		t.Fatalf("GET /api/apps: %s, want one app", list.raw)
	} else {
		check("GET /api/apps", apps[0].(map[string]any))
	}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/apps/" + id, ""},
		{"PATCH", "/api/apps/" + id, `{"name":"Game 2"}`},
		{"POST", "/api/apps/" + id + "/keys/rotate", ""},
	} {
		got := f.do(r.method, r.path, token, r.body)
		got.want(t, http.StatusOK, "")
		check(r.method+" "+r.path, got.body)
	}
}
