package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// apiCall sends a request to the API listener with the app's server key and a JSON body
// ("" for none), by call, and decodes the JSON answer.
func apiCall(t *testing.T, method, url, serverKey, body string) (int, map[string]any) {
	t.Helper()
	var in any
	if body != "" {
		in = json.RawMessage(body)
	}
	code, b, _ := call(t, method, url, map[string]string{"X-Api-Key": serverKey}, in)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, url, code, b)
	}
	return code, out
}

// TestSKANEndToEnd runs `serve`, claims the App Store id of Apple's SKAdNetwork 4.0
// example for an app, posts the example to the well-known route as Apple's devices do,
// and finds it, valid, in the postbacks list and in the SKAN report as one install with
// conversion value 63.
func TestSKANEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := createApp(t, dir, "SKAN")
	// The settings are the app's admins' (the server key is an editor): set before serving.
	setSettings(t, &embedded{dir: dir}, k.ID, func(s *unmogrowp.AppSettings) { s.AppStoreID = 525463029 })
	p := startServe(t, dir)
	if code, body := apiCall(t, "PUT", p.api+"/api/apps/"+k.ID+"/skan/networks", k.ServerKey,
		`{"networks":[{"ad_network_id":"com.example","media_source":"example_net","campaigns":{"5239":"launch"}}]}`); code != 200 {
		t.Fatalf("set networks: %d %v", code, body)
	}
	raw, err := os.ReadFile("../../skan/testdata/apple.json")
	if err != nil {
		t.Fatal(err)
	}
	var examples map[string]json.RawMessage
	if err := json.Unmarshal(raw, &examples); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(p.ingest+"/.well-known/skadnetwork/report-attribution/", "application/json", bytes.NewReader(examples["4.0 web, fine value"]))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"status":"accepted"`)) {
		t.Fatalf("Apple's example: %d %s", resp.StatusCode, b)
	}
	p.waitDrained(t)

	code, body := apiCall(t, "GET", p.api+"/api/apps/"+k.ID+"/skan/postbacks", k.ServerKey, "")
	list, _ := body["postbacks"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("postbacks: %d %v", code, body)
	}
	pb := list[0].(map[string]any)
	if pb["signature"] != "valid" || pb["transaction_id"] != "6aafb7a5-0170-41b5-bbe4-fe71dedf1e30" || pb["conversion_value"] != 63.0 ||
		pb["media_source"] != "example_net" || pb["campaign"] != "launch" || pb["kind"] != "skan" {
		t.Fatalf("postback: %v", pb)
	}
	code, body = apiCall(t, "GET", p.api+"/api/analytics/reports/skan?app_id="+k.ID, k.ServerKey, "")
	rows, _ := body["rows"].([]any)
	if code != 200 || len(rows) != 1 {
		t.Fatalf("report: %d %v", code, body)
	}
	row := rows[0].(map[string]any)
	if row["installs"] != 1.0 || row["media_source"] != "example_net" || row["campaign"] != "launch" ||
		row["conversion_values"].(map[string]any)["63"] != 1.0 || row["invalid_signatures"] != 0.0 {
		t.Fatalf("report row: %v", row)
	}
}

// TestSKANDashboardInBrowser runs the browser test of the SKAdNetwork page and the SKAN
// settings (web/e2e/skan.test.mjs) against `serve`: Apple's examples sent to the
// ingestion listener, then the report, the histogram, the postbacks list with the copies'
// mismatch, paged, the schema and networks edited with the server's 400s shown, at 1280
// and 390 px, and a viewer without controls.
func TestSKANDashboardInBrowser(t *testing.T) {
	runBrowserTest(t, "skan.test.mjs")
}

// TestSplitSKAN runs the split deployment (Kafka, ClickHouse, Redis, PostgreSQL): Apple's
// SKAdNetwork 4.0 example to the well-known route of one ingestion process and the
// network's forwarded copy, with another conversion value, to the other; once the
// consumers have drained the topic, the API lists one postback, valid, with Apple's value
// and cv_mismatch, and the report counts one install.
func TestSplitSKAN(t *testing.T) {
	t.Parallel()
	d := newSplit(t)
	d.start(t)
	k := d.createApp(t, "SKAN split")
	setSettings(t, d, k.ID, func(s *unmogrowp.AppSettings) { s.AppStoreID = 525463029 })
	raw, err := os.ReadFile("../../skan/testdata/apple.json")
	if err != nil {
		t.Fatal(err)
	}
	var examples map[string]map[string]any
	if err := json.Unmarshal(raw, &examples); err != nil {
		t.Fatal(err)
	}
	appleCopy := examples["4.0 web, fine value"]
	networkCopy := map[string]any{}
	for k, v := range appleCopy {
		networkCopy[k] = v
	}
	networkCopy["conversion-value"] = 10
	post := func(url, key string, body any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(got, []byte(`"accepted":1`)) {
			t.Fatalf("POST %s: %d %s", url, resp.StatusCode, got)
		}
	}
	post(d.ingests[0].ingest+"/.well-known/skadnetwork/report-attribution/", "", appleCopy)
	post(d.ingests[1].ingest+"/v1/skan/postbacks", k.ServerKey, map[string]any{"postbacks": []any{networkCopy}})
	d.waitDrained(t)

	code, body := apiCall(t, "GET", d.apiURL()+"/api/apps/"+k.ID+"/skan/postbacks", k.ServerKey, "")
	list, _ := body["postbacks"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("postbacks: %d %v", code, body)
	}
	pb := list[0].(map[string]any)
	if pb["signature"] != "valid" || pb["conversion_value"] != 63.0 || pb["cv_mismatch"] != true ||
		pb["transaction_id"] != "6aafb7a5-0170-41b5-bbe4-fe71dedf1e30" {
		t.Fatalf("postback: %v", pb)
	}
	code, body = apiCall(t, "GET", d.apiURL()+"/api/analytics/reports/skan?app_id="+k.ID, k.ServerKey, "")
	rows, _ := body["rows"].([]any)
	if code != 200 || len(rows) != 1 {
		t.Fatalf("report: %d %v", code, body)
	}
	row := rows[0].(map[string]any)
	if row["installs"] != 1.0 || row["conversion_values"].(map[string]any)["63"] != 1.0 ||
		row["conversion_values"].(map[string]any)["10"] != 0.0 || row["invalid_signatures"] != 0.0 {
		t.Fatalf("report row: %v", row)
	}
}
