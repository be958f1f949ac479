package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/duckdb"
)

func skanServer(t *testing.T) (*httptest.Server, *duckdb.Store) {
	t.Helper()
	meta, store := openStores(t)
	_, srv := apiServer(t, meta, store, api.Config{})
	return srv, store
}

func skanStored(appID string, off int64, txn string, fromApple bool, cv int64, coarse string, seq int64) unmogrowp.SKANPostback {
	return unmogrowp.SKANPostback{
		Offset: off, ID: txn + "-id", AppID: appID, Kind: unmogrowp.SKANKindSKAN, FromApple: fromApple, Version: "4.0",
		AdNetworkID: "example123.skadnetwork", SourceIdentifier: "5239", CampaignID: -1, AppStoreID: 525463029,
		SourceAppID: -1, SourceDomain: "example.com", PublisherItemIdentifier: -1, TransactionID: txn,
		PostbackSequenceIndex: seq, DidWin: 1, Redownload: 0, FidelityType: 1, ConversionValue: cv,
		CoarseConversionValue: coarse, Signature: unmogrowp.SignatureValid, Environment: unmogrowp.EnvironmentProduction,
		ReceivedAt: time.Now().UTC().Add(-time.Duration(10-off) * time.Minute).Truncate(time.Microsecond),
	}
}

// TestSKANAPI: schema and networks round-trip and are validated naming the field; the
// App Store id is unique (409); the postbacks list maps and decodes each postback; the
// report maps, merges and adds the schema's revenue range.
func TestSKANAPI(t *testing.T) {
	srv, store := skanServer(t)
	a := newTenant(t, srv, "skan@example.com")
	b := newTenant(t, srv, "other@example.com")
	app := "/api/apps/" + a.appID

	schema := `{"measurement_window_hours":48,"fine_grained_conversion_value_mappings":[{"fine_grained_conversion_value":63,
		"conversion_value_mapping":{"min_time_post_install_hours":0,"max_time_post_install_hours":24,"mapped_events":[
		{"mapped_event_name":"purchase","currency_code":"USD","event_revenue_range":{"min_event_revenue":5,"max_event_revenue":10}}]}}],
		"postback_mappings":[{"postback_sequence_index":1,"coarse_grained_conversion_value_mappings":{"high_conversion_value_mapping":
		{"mapped_events":[{"mapped_event_name":"whale","currency_code":"USD","event_revenue_value":100}]}}}]}`
	if code, body := request(t, srv, "GET", app+"/skan/schema", a.token, ""); code != 200 || len(body["fine_grained_conversion_value_mappings"].([]any)) != 0 {
		t.Fatalf("empty schema: %d %v", code, body)
	}
	if code, body := request(t, srv, "PUT", app+"/skan/schema", a.token, schema); code != 200 || body["measurement_window_hours"] != 48.0 {
		t.Fatalf("PUT schema: %d %v", code, body)
	}
	if code, body := request(t, srv, "GET", app+"/skan/schema", a.token, ""); code != 200 || len(body["postback_mappings"].([]any)) != 1 {
		t.Fatalf("GET schema: %d %v", code, body)
	}
	networks := `{"networks":[{"ad_network_id":"example123.skadnetwork","media_source":"net_x","campaigns":{"42":"summer","5239":"summer/us/video"}}]}`
	if code, body := request(t, srv, "PUT", app+"/skan/networks", a.token, networks); code != 200 || len(body["networks"].([]any)) != 1 {
		t.Fatalf("PUT networks: %d %v", code, body)
	}
	for _, tc := range []struct{ path, body, field string }{
		{"/skan/schema", `{"fine_grained_conversion_value_mappings":[{"fine_grained_conversion_value":99}]}`, "fine_grained_conversion_value_mappings[0].fine_grained_conversion_value"},
		{"/skan/schema", `{"postback_mappings":[{"postback_sequence_index":7}]}`, "postback_mappings[0].postback_sequence_index"},
		{"/skan/schema", `{"surprise":1}`, "surprise"},
		{"/skan/schema", `not json`, "JSON"},
		{"/skan/networks", `{"networks":[{"ad_network_id":"x","media_source":""}]}`, "networks[0].media_source"},
		{"/skan/networks", `{"networks":[{"ad_network_id":"x","media_source":"m","campaigns":{"abc":"y"}}]}`, "networks[0].campaigns"},
	} {
		code, body := request(t, srv, "PUT", app+tc.path, a.token, tc.body)
		if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, tc.field) {
			t.Errorf("PUT %s %s: %d %v, want 400 naming %s", tc.path, tc.body, code, body, tc.field)
		}
	}

	if code, body := request(t, srv, "PATCH", app, a.token, `{"settings":{"app_store_id":525463029}}`); code != 200 {
		t.Fatalf("claim the App Store id: %d %v", code, body)
	}
	if code, body := request(t, srv, "PATCH", "/api/apps/"+b.appID, b.token, `{"settings":{"app_store_id":525463029}}`); code != 409 || body["error"] == nil {
		t.Fatalf("a second app claiming the id: %d %v, want 409", code, body)
	}

	ctx := context.Background()
	rows := []unmogrowp.SKANPostback{
		skanStored(a.appID, 1, "t1", false, 10, "", 0), // the network's copy of t1
		skanStored(a.appID, 2, "t1", true, 63, "", 0),  // Apple's: wins
		skanStored(a.appID, 3, "t2", true, -1, "high", 1),
		skanStored(b.appID, 4, "t9", true, 63, "", 0),
	}
	if err := store.Append(ctx, unmogrowp.Batch{SKAN: rows}); err != nil {
		t.Fatal(err)
	}
	code, body := request(t, srv, "GET", app+"/skan/postbacks", a.token, "")
	list, _ := body["postbacks"].([]any)
	if code != 200 || len(list) != 2 || body["next_cursor"] != "" {
		t.Fatalf("postbacks: %d %v", code, body)
	}
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	decoded := second["decoded"].(map[string]any)
	if first["transaction_id"] != "t2" || second["transaction_id"] != "t1" || second["cv_mismatch"] != true ||
		second["conversion_value"] != 63.0 || second["media_source"] != "net_x" || second["campaign"] != "summer/us/video" ||
		decoded["revenue_min"] != 5.0 || decoded["revenue_max"] != 10.0 || decoded["currency"] != "USD" ||
		second["campaign_id"] != nil || second["did_win"] != true || first["conversion_value"] != nil {
		t.Fatalf("postbacks answered:\n%v\n%v", first, second)
	}
	code, body = request(t, srv, "GET", app+"/skan/postbacks?limit=1", a.token, "")
	if next, _ := body["next_cursor"].(string); code != 200 || next == "" || len(body["postbacks"].([]any)) != 1 {
		t.Fatalf("first page: %d %v", code, body)
	} else if code, body = request(t, srv, "GET", app+"/skan/postbacks?limit=1&cursor="+next, a.token, ""); code != 200 ||
		body["postbacks"].([]any)[0].(map[string]any)["transaction_id"] != "t1" || body["next_cursor"] != "" {
		t.Fatalf("second page: %d %v", code, body)
	}
	for _, q := range []string{"?limit=0", "?cursor=zzz", "?from=yesterday"} {
		if code, body := request(t, srv, "GET", app+"/skan/postbacks"+q, a.token, ""); code != 400 || body["error"] == nil {
			t.Errorf("postbacks%s: %d %v, want 400", q, code, body)
		}
	}

	code, body = request(t, srv, "GET", "/api/analytics/reports/skan?app_id="+a.appID, a.token, "")
	report, _ := body["rows"].([]any)
	if code != 200 || len(report) != 2 {
		t.Fatalf("report: %d %v", code, body)
	}
	r0, r1 := report[0].(map[string]any), report[1].(map[string]any)
	cvs := r0["conversion_values"].(map[string]any)
	if r0["media_source"] != "net_x" || r0["campaign"] != "summer/us/video" || r0["postback_sequence_index"] != 0.0 ||
		r0["installs"] != 1.0 || cvs["63"] != 1.0 || cvs["10"] != 0.0 || len(cvs) != 64 || r0["revenue_min"] != 5.0 || r0["revenue_max"] != 10.0 {
		t.Fatalf("report row 0: %v", r0)
	}
	if r1["postback_sequence_index"] != 1.0 || r1["coarse"].(map[string]any)["high"] != 1.0 || r1["revenue_min"] != 100.0 || r1["installs"] != 0.0 {
		t.Fatalf("report row 1: %v", r1)
	}
}
