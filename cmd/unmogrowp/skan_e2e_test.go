package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
)

// apiCall sends a request to the API listener with the app's server key and decodes the
// JSON answer.
func apiCall(t *testing.T, method, url, serverKey, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	req.Header.Set("X-Api-Key", serverKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// TestSKANEndToEnd runs `serve`, claims the App Store id of Apple's SKAdNetwork 4.0
// example for an app, posts the example to the well-known route as Apple's devices do,
// and finds it, valid, in the postbacks list and in the SKAN report as one install with
// conversion value 63.
func TestSKANEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := createApp(t, dir, "SKAN")
	p := startServe(t, dir)
	if code, body := apiCall(t, "PATCH", p.api+"/api/apps/"+k.ID, k.ServerKey, `{"settings":{"app_store_id":525463029}}`); code != 200 {
		t.Fatalf("set app_store_id: %d %v", code, body)
	}
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
