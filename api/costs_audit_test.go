package api_test

import (
	"testing"
)

// TestCostImportAudited checks that an import of cost rows is in the app's audit log, with
// who made it and how many rows it upserted.
func TestCostImportAudited(t *testing.T) {
	_, srv := teamServer(t, "sqlite")
	a := newTenant(t, srv, "costs-audit@example.com")
	app := "/api/apps/" + a.appID
	body := `{"costs":[{"date":"2026-03-02","media_source":"net","cost":12.5,"currency":"USD"},{"date":"2026-03-03","media_source":"net","cost":7,"currency":"USD"}]}`
	if code, resp := requestHeaders(t, srv, "POST", app+"/costs", map[string]string{"Authorization": "Bearer " + a.token, "Content-Type": "application/json"}, body); code != 200 {
		t.Fatalf("import: %d %v", code, resp)
	}
	code, log := request(t, srv, "GET", app+"/audit", a.token, "")
	entries, _ := log["entries"].([]any)
	if code != 200 || len(entries) == 0 {
		t.Fatalf("audit: %d %v", code, log)
	}
	e := entries[0].(map[string]any)
	changes, _ := e["changes"].(map[string]any)
	user, _ := e["user"].(map[string]any)
	if e["action"] != "cost.import" || changes["rows"] != float64(2) || user["email"] != "costs-audit@example.com" {
		t.Errorf("newest audit entry %v, want cost.import of 2 rows by the importer", e)
	}
}
