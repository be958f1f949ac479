package api_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
)

// testExportBody creates a scheduled export (its destination need not exist: runs report
// what it answers).
const testExportBody = `{"reports":["events","installs"],"format":"parquet","cadence":"daily",
	"destination":{"type":"s3","endpoint":"http://127.0.0.1:9","region":"us-east-1","bucket":"raw",
	"prefix":"unmogrowp","access_key_id":"AKID","secret_access_key":"wJalrXUtnFEMI-SECRET","path_style":true}}`

func testSecretKey(t *testing.T) *unmogrowp.SecretKey {
	t.Helper()
	k, err := unmogrowp.ParseSecretKey(strings.Repeat("42", 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Create, list, get, runs and delete; the secret is never answered and is stored sealed
// with SECRETS_KEY; each refusal names its field.
func TestScheduledExportsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		meta := openMetadata(t, engine)
		key := testSecretKey(t)
		_, srv := apiServer(t, meta, openDuckDB(t), api.Config{Exports: meta, SecretKey: key})
		owner := newTenant(t, srv, "owner@exports.example")
		base := "/api/apps/" + owner.appID + "/exports"

		code, e := request(t, srv, "POST", base, owner.token, testExportBody)
		if code != 201 {
			t.Fatalf("create: %d %v", code, e)
		}
		d := e["destination"].(map[string]any)
		if e["format"] != "parquet" || e["cadence"] != "daily" || d["prefix"] != "unmogrowp/" || d["has_secret"] != true ||
			d["access_key_id"] != "AKID" || d["path_style"] != true || e["start"] == "" {
			t.Fatalf("created %v", e)
		}
		if _, ok := d["secret_access_key"]; ok {
			t.Fatal("the answer holds the secret access key")
		}
		id := e["id"].(string)
		stored, err := meta.ScheduledExport(context.Background(), owner.appID, id)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored.Destination.SealedSecret, []byte("wJalr")) || stored.Destination.SecretAccessKey != "" {
			t.Fatal("the store holds the secret in the clear")
		}
		if secret, err := key.Open(stored.Destination.SealedSecret, owner.appID); err != nil || secret != "wJalrXUtnFEMI-SECRET" {
			t.Fatalf("the sealed secret opens to %q, %v", secret, err)
		}

		code, list := request(t, srv, "GET", base, owner.token, "")
		if l, _ := list["exports"].([]any); code != 200 || len(l) != 2 { // newTenant created one
			t.Fatalf("list: %d %v", code, list)
		}
		code, got := request(t, srv, "GET", base+"/"+id, owner.token, "")
		if code != 200 || got["id"] != id || strings.Contains(stringify(got), "SECRET") {
			t.Fatalf("get: %d %v", code, got)
		}
		code, runs := request(t, srv, "GET", base+"/"+id+"/runs", owner.token, "")
		if r, ok := runs["runs"].([]any); code != 200 || !ok || len(r) != 0 {
			t.Fatalf("runs: %d %v", code, runs)
		}
		if code, body := request(t, srv, "GET", base+"/"+id+"/runs?limit=0", owner.token, ""); code != 400 {
			t.Errorf("runs?limit=0: %d %v", code, body)
		}

		for _, tc := range []struct{ name, body, field string }{
			{"not an object", `[]`, "body"},
			{"unknown field", `{"reports":["events"],"color":"red"}`, "color"},
			{"unknown destination field", strings.Replace(testExportBody, `"region"`, `"zone"`, 1), "destination.zone"},
			{"reports", strings.Replace(testExportBody, `["events","installs"]`, `["clicks"]`, 1), "reports"},
			{"reports type", strings.Replace(testExportBody, `["events","installs"]`, `"events"`, 1), "reports"},
			{"format", strings.Replace(testExportBody, `"parquet"`, `"xlsx"`, 1), "format"},
			{"cadence", strings.Replace(testExportBody, `"daily"`, `"weekly"`, 1), "cadence"},
			{"start", strings.Replace(testExportBody, `"cadence"`, `"start":"yesterday","cadence"`, 1), "start"},
			{"destination", `{"reports":["events"],"format":"csv.gz","cadence":"daily"}`, "destination"},
			{"type", strings.Replace(testExportBody, `"s3"`, `"gcs"`, 1), "destination.type"},
			{"endpoint", strings.Replace(testExportBody, `http://127.0.0.1:9`, `ftp://x`, 1), "destination.endpoint"},
			{"bucket", strings.Replace(testExportBody, `"raw"`, `""`, 1), "destination.bucket"},
			{"access key", strings.Replace(testExportBody, `"AKID"`, `""`, 1), "destination.access_key_id"},
			{"secret", strings.Replace(testExportBody, `"wJalrXUtnFEMI-SECRET"`, `""`, 1), "destination.secret_access_key"},
			{"path_style type", strings.Replace(testExportBody, `"path_style":true`, `"path_style":"yes"`, 1), "destination.path_style"},
		} {
			code, body := request(t, srv, "POST", base, owner.token, tc.body)
			msg, _ := body["error"].(string)
			if code != 400 || !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.field)) {
				t.Errorf("%s: %d %v, want 400 naming %s", tc.name, code, body, tc.field)
			}
		}

		if code, body := request(t, srv, "DELETE", base+"/"+id, owner.token, ""); code != 204 {
			t.Fatalf("delete: %d %v", code, body)
		}
		for _, path := range []string{base + "/" + id, base + "/" + id + "/runs"} {
			if code, body := request(t, srv, "GET", path, owner.token, ""); code != 404 || body["error"] != "No such export." {
				t.Errorf("GET %s after delete: %d %v", path, code, body)
			}
		}
		if code, body := request(t, srv, "DELETE", base+"/"+id, owner.token, ""); code != 404 {
			t.Errorf("delete twice: %d %v", code, body)
		}
	})
}

// Without SECRETS_KEY, creating an export answers 503 saying what to set; without an
// export store, every route answers 503.
func TestScheduledExportsUnconfigured(t *testing.T) {
	meta := openMetadata(t, "sqlite")
	_, store := openStores(t)
	srv := httptest.NewServer(api.New(api.Config{Apps: meta, Links: meta, Users: meta, Teams: meta, Results: store,
		Exports: meta, Registry: prometheus.NewRegistry()}))
	t.Cleanup(srv.Close)
	_, reg := request(t, srv, "POST", "/api/auth/register", "", `{"email":"k@exports.example","password":"correct horse battery"}`)
	token := reg["token"].(string)
	_, app := request(t, srv, "POST", "/api/apps", token, `{"name":"Game","platform":"ios"}`)
	base := "/api/apps/" + app["id"].(string) + "/exports"
	code, body := request(t, srv, "POST", base, token, testExportBody)
	if msg, _ := body["error"].(string); code != 503 || !strings.Contains(msg, "SECRETS_KEY") {
		t.Errorf("create without SECRETS_KEY: %d %v, want 503 naming SECRETS_KEY", code, body)
	}
	if code, body := request(t, srv, "GET", base, token, ""); code != 200 {
		t.Errorf("list without SECRETS_KEY: %d %v", code, body)
	}

	bare := httptest.NewServer(api.New(api.Config{Apps: meta, Links: meta, Users: meta, Teams: meta, Results: store, Registry: prometheus.NewRegistry()}))
	t.Cleanup(bare.Close)
	if code, body := request(t, bare, "GET", base, token, ""); code != 503 {
		t.Errorf("list without an export store: %d %v, want 503", code, body)
	}
}

func stringify(v map[string]any) string {
	var b strings.Builder
	for k, x := range v {
		b.WriteString(k)
		if s, ok := x.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}
