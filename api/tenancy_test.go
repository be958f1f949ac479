package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/api"
)

// tenant is a registered user with one app, one link and one postback of it, an
// invitation to the app, and a personal access token.
type tenant struct {
	token, userID, appID, linkID, postbackID, invitationID, tokenID, sessionID, exportID string
}

// tenancyServer is the API on real stores (SQLite), with users registering through it.
func tenancyServer(t *testing.T) (*api.Server, *httptest.Server) {
	t.Helper()
	return teamServer(t, "sqlite")
}

// request makes a request with the bearer token (none for "") and returns the status
// and the JSON body.
func request(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	var headers map[string]string
	if token != "" {
		headers = map[string]string{"Authorization": "Bearer " + token}
	}
	return requestHeaders(t, srv, method, path, headers, body)
}

// requestHeaders is request with the headers instead of a bearer token.
func requestHeaders(t *testing.T, srv *httptest.Server, method, path string, headers map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	// A body that is not JSON by its type (a QR code's PNG, an export's CSV) is no map.
	if len(b) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, out
}

func newTenant(t *testing.T, srv *httptest.Server, email string) tenant {
	t.Helper()
	code, reg := request(t, srv, "POST", "/api/auth/register", "", `{"email":"`+email+`","password":"correct horse battery","name":"T"}`)
	token, _ := reg["token"].(string)
	if code != 201 || token == "" {
		t.Fatalf("register %s: %d %v", email, code, reg)
	}
	code, app := request(t, srv, "POST", "/api/apps", token, `{"name":"Game","platform":"ios","ios_url":"https://apps.apple.com/app/id1"}`)
	appID, _ := app["id"].(string)
	if code != 201 || appID == "" || app["server_key"] == "" {
		t.Fatalf("create app: %d %v", code, app)
	}
	code, link := request(t, srv, "POST", "/api/apps/"+appID+"/links", token, `{"media_source":"facebook"}`)
	linkID, _ := link["id"].(string)
	if code != 201 || linkID == "" {
		t.Fatalf("create link: %d %v", code, link)
	}
	code, pb := request(t, srv, "POST", "/api/apps/"+appID+"/postbacks", token, `{"name":"Net","media_source":"net","url_template":"https://net.example/pb"}`)
	postbackID, _ := pb["id"].(string)
	if code != 201 || postbackID == "" {
		t.Fatalf("create postback: %d %v", code, pb)
	}
	code, inv := request(t, srv, "POST", "/api/apps/"+appID+"/members", token, `{"email":"guest-of-`+email+`","role":"viewer"}`)
	invitationID, _ := inv["id"].(string)
	if code != 201 || invitationID == "" {
		t.Fatalf("invite: %d %v", code, inv)
	}
	code, pat := request(t, srv, "POST", "/api/auth/tokens", token, `{"name":"ci","scope":"read"}`)
	tokenID, _ := pat["id"].(string)
	if code != 201 || tokenID == "" {
		t.Fatalf("create token: %d %v", code, pat)
	}
	code, exp := request(t, srv, "POST", "/api/apps/"+appID+"/exports", token, testExportBody)
	exportID, _ := exp["id"].(string)
	if code != 503 && (code != 201 || exportID == "") { // 503: a server without scheduled exports
		t.Fatalf("create export: %d %v", code, exp)
	}
	code, sessions := request(t, srv, "GET", "/api/auth/sessions", token, "")
	list, _ := sessions["sessions"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("sessions: %d %v", code, sessions)
	}
	sessionID, _ := list[0].(map[string]any)["id"].(string)
	userID, _ := reg["user"].(map[string]any)["id"].(string)
	return tenant{token: token, userID: userID, appID: appID, linkID: linkID, postbackID: postbackID, invitationID: invitationID,
		tokenID: tokenID, sessionID: sessionID, exportID: exportID}
}

// TestTenancy walks every authenticated route with another user's token and the first
// user's ids: each answers 404 and changes nothing; without a token, 401. A route added to
// the API without a case here fails the test.
func TestTenancy(t *testing.T) {
	h, srv := tenancyServer(t)
	a := newTenant(t, srv, "alice@example.com")
	b := newTenant(t, srv, "bob@example.com")

	// For each route: the request that would reach a's data, and what b must see.
	cases := map[string]struct {
		path, body string
		want       int // what b gets with a's ids
	}{
		"GET /api/apps":                                                        {"/api/apps", "", 200},
		"POST /api/apps":                                                       {"/api/apps", `{"name":"B2","platform":"android"}`, 201},
		"GET /api/apps/{app_id}":                                               {"/api/apps/" + a.appID, "", 404},
		"PATCH /api/apps/{app_id}":                                             {"/api/apps/" + a.appID, `{"name":"taken"}`, 404},
		"DELETE /api/apps/{app_id}":                                            {"/api/apps/" + a.appID, "", 404},
		"POST /api/apps/{app_id}/keys/rotate":                                  {"/api/apps/" + a.appID + "/keys/rotate", "", 404},
		"GET /api/apps/{app_id}/attribution/{device_id}":                       {"/api/apps/" + a.appID + "/attribution/dev1", "", 404},
		"GET /api/apps/{app_id}/attribution/{device_id}/explain":               {"/api/apps/" + a.appID + "/attribution/dev1/explain", "", 404},
		"GET /api/apps/{app_id}/installs":                                      {"/api/apps/" + a.appID + "/installs", "", 404},
		"GET /api/apps/{app_id}/export/{report}":                               {"/api/apps/" + a.appID + "/export/events?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z", "", 404},
		"GET /api/apps/{app_id}/exports":                                       {"/api/apps/" + a.appID + "/exports", "", 404},
		"POST /api/apps/{app_id}/exports":                                      {"/api/apps/" + a.appID + "/exports", testExportBody, 404},
		"GET /api/apps/{app_id}/exports/{export_id}":                           {"/api/apps/" + a.appID + "/exports/" + a.exportID, "", 404},
		"DELETE /api/apps/{app_id}/exports/{export_id}":                        {"/api/apps/" + a.appID + "/exports/" + a.exportID, "", 404},
		"GET /api/apps/{app_id}/exports/{export_id}/runs":                      {"/api/apps/" + a.appID + "/exports/" + a.exportID + "/runs", "", 404},
		"GET /api/apps/{app_id}/links":                                         {"/api/apps/" + a.appID + "/links", "", 404},
		"POST /api/apps/{app_id}/links":                                        {"/api/apps/" + a.appID + "/links", `{"media_source":"x"}`, 404},
		"PATCH /api/apps/{app_id}/links/{link_id}":                             {"/api/apps/" + a.appID + "/links/" + a.linkID, `{"campaign":"taken"}`, 404},
		"DELETE /api/apps/{app_id}/links/{link_id}":                            {"/api/apps/" + a.appID + "/links/" + a.linkID, "", 404},
		"GET /api/apps/{app_id}/links/{link_id}/qr":                            {"/api/apps/" + a.appID + "/links/" + a.linkID + "/qr", "", 404},
		"GET /api/apps/{app_id}/postbacks":                                     {"/api/apps/" + a.appID + "/postbacks", "", 404},
		"POST /api/apps/{app_id}/postbacks":                                    {"/api/apps/" + a.appID + "/postbacks", `{"name":"x","media_source":"x","url_template":"https://x.example/"}`, 404},
		"POST /api/apps/{app_id}/postbacks/preview":                            {"/api/apps/" + a.appID + "/postbacks/preview", `{"name":"x","media_source":"x","url_template":"https://x.example/"}`, 404},
		"GET /api/apps/{app_id}/postbacks/{postback_id}":                       {"/api/apps/" + a.appID + "/postbacks/" + a.postbackID, "", 404},
		"PATCH /api/apps/{app_id}/postbacks/{postback_id}":                     {"/api/apps/" + a.appID + "/postbacks/" + a.postbackID, `{"name":"taken"}`, 404},
		"DELETE /api/apps/{app_id}/postbacks/{postback_id}":                    {"/api/apps/" + a.appID + "/postbacks/" + a.postbackID, "", 404},
		"POST /api/apps/{app_id}/postbacks/{postback_id}/test":                 {"/api/apps/" + a.appID + "/postbacks/" + a.postbackID + "/test", "", 404},
		"GET /api/apps/{app_id}/postbacks/{postback_id}/deliveries":            {"/api/apps/" + a.appID + "/postbacks/" + a.postbackID + "/deliveries", "", 404},
		"GET /api/apps/{app_id}/members":                                       {"/api/apps/" + a.appID + "/members", "", 404},
		"POST /api/apps/{app_id}/members":                                      {"/api/apps/" + a.appID + "/members", `{"email":"bob@example.com","role":"admin"}`, 404},
		"PATCH /api/apps/{app_id}/members/{user_id}":                           {"/api/apps/" + a.appID + "/members/" + a.userID, `{"role":"viewer"}`, 404},
		"DELETE /api/apps/{app_id}/members/{user_id}":                          {"/api/apps/" + a.appID + "/members/" + a.userID, "", 404},
		"DELETE /api/apps/{app_id}/invitations/{invitation_id}":                {"/api/apps/" + a.appID + "/invitations/" + a.invitationID, "", 404},
		"POST /api/apps/{app_id}/leave":                                        {"/api/apps/" + a.appID + "/leave", "", 404},
		"POST /api/apps/{app_id}/transfer":                                     {"/api/apps/" + a.appID + "/transfer", `{"user_id":"` + b.userID + `"}`, 404},
		"GET /api/apps/{app_id}/audit":                                         {"/api/apps/" + a.appID + "/audit", "", 404},
		"POST /api/invitations/{token}/accept":                                 {"/api/invitations/uin_" + strings.Repeat("x", 43) + "/accept", "", 404},
		"GET /api/auth/tokens":                                                 {"/api/auth/tokens", "", 200},
		"POST /api/auth/tokens":                                                {"/api/auth/tokens", `{"name":"b","scope":"write"}`, 201},
		"DELETE /api/auth/tokens/{token_id}":                                   {"/api/auth/tokens/" + a.tokenID, "", 404},
		"GET /api/apps/{app_id}/skan/schema":                                   {"/api/apps/" + a.appID + "/skan/schema", "", 404},
		"PUT /api/apps/{app_id}/skan/schema":                                   {"/api/apps/" + a.appID + "/skan/schema", `{"measurement_window_hours":1}`, 404},
		"GET /api/apps/{app_id}/skan/networks":                                 {"/api/apps/" + a.appID + "/skan/networks", "", 404},
		"PUT /api/apps/{app_id}/skan/networks":                                 {"/api/apps/" + a.appID + "/skan/networks", `{"networks":[]}`, 404},
		"GET /api/apps/{app_id}/skan/postbacks":                                {"/api/apps/" + a.appID + "/skan/postbacks", "", 404},
		"GET /api/apps/{app_id}/costs":                                         {"/api/apps/" + a.appID + "/costs", "", 404},
		"POST /api/apps/{app_id}/costs":                                        {"/api/apps/" + a.appID + "/costs", `{"costs":[{"date":"2026-03-02","media_source":"x","cost":1,"currency":"USD"}]}`, 404},
		"GET /api/apps/{app_id}/opendsr/discovery":                             {"/api/apps/" + a.appID + "/opendsr/discovery", "", 404},
		"POST /api/apps/{app_id}/opendsr/requests":                             {"/api/apps/" + a.appID + "/opendsr/requests", opendsrErasure(subjectRequestID, "dev1"), 404},
		"GET /api/apps/{app_id}/opendsr/requests/{subject_request_id}":         {"/api/apps/" + a.appID + "/opendsr/requests/" + subjectRequestID, "", 404},
		"DELETE /api/apps/{app_id}/opendsr/requests/{subject_request_id}":      {"/api/apps/" + a.appID + "/opendsr/requests/" + subjectRequestID, "", 404},
		"GET /api/apps/{app_id}/opendsr/requests/{subject_request_id}/results": {"/api/apps/" + a.appID + "/opendsr/requests/" + subjectRequestID + "/results", "", 404},
		"GET /api/auth/sessions":                                               {"/api/auth/sessions", "", 200},
		"DELETE /api/auth/sessions/{session_id}":                               {"/api/auth/sessions/" + a.sessionID, "", 404},
		"GET /api/auth/two-factor":                                             {"/api/auth/two-factor", "", 200},
		"POST /api/auth/two-factor":                                            {"/api/auth/two-factor", "", 201},
		"POST /api/auth/two-factor/confirm":                                    {"/api/auth/two-factor/confirm", `{"code":"000000"}`, 400},
		"POST /api/auth/two-factor/disable":                                    {"/api/auth/two-factor/disable", `{}`, 204},
		"POST /api/attribution/track":                                          {"/api/attribution/track", `{"app_id":"` + a.appID + `","event_type":"session","device_id":"d"}`, 404},
		"POST /api/attribution/batch":                                          {"/api/attribution/batch", `{"app_id":"` + a.appID + `","events":[{"event_type":"session","device_id":"d"}]}`, 404},
		"GET /api/dashboard/stats":                                             {"/api/dashboard/stats?app_id=" + a.appID, "", 404},
		"GET /api/dashboard/charts/{chart_type}":                               {"/api/dashboard/charts/installs?app_id=" + a.appID, "", 404},
		"GET /api/analytics/reports/breakdown":                                 {"/api/analytics/reports/breakdown?app_id=" + a.appID, "", 404},
		"GET /api/analytics/reports/{report_id}":                               {"/api/analytics/reports/media_sources?app_id=" + a.appID, "", 404},
		// The server's rates are no app's: any signed-in user reads them (none loaded: 404),
		// only an administrator loads them.
		"GET /api/fx-rates": {"/api/fx-rates?date=2024-01-02", "", 404},
		"PUT /api/fx-rates": {"/api/fx-rates", `{"date":"2024-01-02","base":"USD","rates":{"EUR":0.9}}`, 403},
	}
	for _, pattern := range h.RoutePatterns() {
		tc, ok := cases[pattern]
		if !ok {
			t.Errorf("route %s has no tenancy case: add one", pattern)
			continue
		}
		method, _, _ := strings.Cut(pattern, " ")
		t.Run(pattern, func(t *testing.T) {
			if code, body := request(t, srv, method, tc.path, "", tc.body); code != 401 || body["error"] == nil {
				t.Errorf("without a token: %d %v, want 401", code, body)
			}
			if code, body := request(t, srv, method, tc.path, "ut_forged", tc.body); code != 401 {
				t.Errorf("with a forged token: %d %v, want 401", code, body)
			}
			code, body := request(t, srv, method, tc.path, b.token, tc.body)
			if code != tc.want {
				t.Errorf("with another user's token: %d %v, want %d", code, body, tc.want)
			}
			if tc.want == 404 && (body["error"] == nil || strings.Contains(strings.ToLower(body["error"].(string)), "forbidden")) {
				t.Errorf("404 body %v must be the plain not-found error", body)
			}
			if pattern == "GET /api/auth/sessions" {
				for _, s := range body["sessions"].([]any) {
					if s.(map[string]any)["id"] == a.sessionID {
						t.Errorf("bob's session list holds alice's session")
					}
				}
			}
			if pattern == "GET /api/auth/tokens" {
				for _, tok := range body["tokens"].([]any) {
					if tok.(map[string]any)["id"] == a.tokenID {
						t.Errorf("bob's token list holds alice's token")
					}
				}
			}
			if pattern == "GET /api/apps" {
				for _, app := range body["apps"].([]any) {
					if app.(map[string]any)["id"] == a.appID {
						t.Errorf("bob's app list holds alice's app")
					}
				}
			}
		})
	}

	// a's data is untouched and still a's.
	code, app := request(t, srv, "GET", "/api/apps/"+a.appID, a.token, "")
	if code != 200 || app["name"] != "Game" {
		t.Errorf("alice's app after bob's attempts: %d %v", code, app)
	}
	code, links := request(t, srv, "GET", "/api/apps/"+a.appID+"/links", a.token, "")
	if l, _ := links["links"].([]any); code != 200 || len(l) != 1 {
		t.Errorf("alice's links after bob's attempts: %d %v", code, links)
	}
	code, pb := request(t, srv, "GET", "/api/apps/"+a.appID+"/postbacks/"+a.postbackID, a.token, "")
	if code != 200 || pb["name"] != "Net" {
		t.Errorf("alice's postback after bob's attempts: %d %v", code, pb)
	}
	code, members := request(t, srv, "GET", "/api/apps/"+a.appID+"/members", a.token, "")
	if m, _ := members["members"].([]any); code != 200 || len(m) != 1 || m[0].(map[string]any)["role"] != "owner" {
		t.Errorf("alice's members after bob's attempts: %d %v", code, members)
	}
	if code, _ := request(t, srv, "GET", "/api/auth/me", a.token, ""); code != 200 {
		t.Errorf("alice's session after bob's attempts: %d", code)
	}
	code, tokens := request(t, srv, "GET", "/api/auth/tokens", a.token, "")
	if l, _ := tokens["tokens"].([]any); code != 200 || len(l) != 1 {
		t.Errorf("alice's tokens after bob's attempts: %d %v", code, tokens)
	}
	code, costs := request(t, srv, "GET", "/api/apps/"+a.appID+"/costs", a.token, "")
	if c, _ := costs["costs"].([]any); code != 200 || len(c) != 0 {
		t.Errorf("alice's costs after bob's attempts: %d %v", code, costs)
	}
	code, exp := request(t, srv, "GET", "/api/apps/"+a.appID+"/exports/"+a.exportID, a.token, "")
	if code != 200 || exp["id"] != a.exportID {
		t.Errorf("alice's export after bob's attempts: %d %v", code, exp)
	}
	if code, body := request(t, srv, "GET", "/api/apps/"+b.appID+"/exports/"+a.exportID, b.token, ""); code != 404 {
		t.Errorf("bob's app with alice's export id: %d %v, want 404", code, body)
	}
	// Bob's own app with alice's link id: 404 too, and alice's link stays as it was.
	for _, m := range []string{"PATCH", "DELETE"} {
		if code, body := request(t, srv, m, "/api/apps/"+b.appID+"/links/"+a.linkID, b.token, `{"campaign":"taken"}`); code != 404 {
			t.Errorf("%s alice's link under bob's app: %d %v, want 404", m, code, body)
		}
	}
	if code, body := request(t, srv, "GET", "/api/apps/"+b.appID+"/links/"+a.linkID+"/qr", b.token, ""); code != 404 {
		t.Errorf("QR of alice's link under bob's app: %d %v, want 404", code, body)
	}
	if _, links := request(t, srv, "GET", "/api/apps/"+a.appID+"/links", a.token, ""); links["links"].([]any)[0].(map[string]any)["campaign"] != "" {
		t.Errorf("alice's link changed: %v", links)
	}
	// Bob's own app with alice's postback id: 404 too.
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		if code, body := request(t, srv, m, "/api/apps/"+b.appID+"/postbacks/"+a.postbackID, b.token, `{"name":"taken"}`); code != 404 {
			t.Errorf("%s alice's postback under bob's app: %d %v, want 404", m, code, body)
		}
	}
}
