package api_test

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// requiredRoles are the roles of API.md's "Teams" table for the routes that need more than
// their method's default (viewer to GET, editor for anything else). A route added without
// an entry here is held to the default.
var requiredRoles = map[string]unmogrowp.Role{
	"PATCH /api/apps/{app_id}":                              unmogrowp.RoleAdmin,
	"DELETE /api/apps/{app_id}":                             unmogrowp.RoleOwner,
	"POST /api/apps/{app_id}/keys/rotate":                   unmogrowp.RoleAdmin,
	"POST /api/apps/{app_id}/members":                       unmogrowp.RoleAdmin,
	"PATCH /api/apps/{app_id}/members/{user_id}":            unmogrowp.RoleAdmin,
	"DELETE /api/apps/{app_id}/members/{user_id}":           unmogrowp.RoleAdmin,
	"DELETE /api/apps/{app_id}/invitations/{invitation_id}": unmogrowp.RoleAdmin,
	"POST /api/apps/{app_id}/leave":                         unmogrowp.RoleViewer,
	"POST /api/apps/{app_id}/transfer":                      unmogrowp.RoleOwner,
	"GET /api/apps/{app_id}/audit":                          unmogrowp.RoleAdmin,
	"POST /api/apps/{app_id}/exports":                       unmogrowp.RoleAdmin,
	"DELETE /api/apps/{app_id}/exports/{export_id}":         unmogrowp.RoleAdmin,
}

// roleBodies are request bodies that the handlers take, for routes whose "{}" would not
// reach as far; any other route gets "{}" (a 400 from the handler still shows the caller
// was let through).
var roleBodies = map[string]string{
	"PATCH /api/apps/{app_id}":                         `{"name":"Renamed"}`,
	"POST /api/apps/{app_id}/links":                    `{"media_source":"net"}`,
	"POST /api/apps/{app_id}/postbacks":                `{"name":"x","media_source":"x","url_template":"https://x.example/"}`,
	"POST /api/apps/{app_id}/postbacks/preview":        `{"name":"x","media_source":"x","url_template":"https://x.example/"}`,
	"PATCH /api/apps/{app_id}/postbacks/{postback_id}": `{"name":"renamed"}`,
	"POST /api/apps/{app_id}/members":                  `{"email":"someone@example.com","role":"viewer"}`,
	"PATCH /api/apps/{app_id}/members/{user_id}":       `{"role":"editor"}`,
	"POST /api/apps/{app_id}/exports":                  testExportBody,
}

// roleApp is a fresh app of the role test's owner, with a member of each role, a target
// member (a viewer) for the member routes, a link, a postback and an invitation.
type roleApp struct {
	id, serverKey, postbackID, linkID, invitationID, exportID string
}

// roleCallers are the users of the role test: their session tokens by name, and ids.
type roleCallers struct {
	tokens map[string]string // owner, admin, editor, viewer, target, outsider
	ids    map[string]string
}

func newRoleApp(t *testing.T, srv *httptest.Server, c roleCallers) roleApp {
	t.Helper()
	owner := c.tokens["owner"]
	code, app := request(t, srv, "POST", "/api/apps", owner, `{"name":"Game","platform":"ios"}`)
	if code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	a := roleApp{id: app["id"].(string), serverKey: app["server_key"].(string)}
	for _, m := range []struct{ name, role string }{{"admin", "admin"}, {"editor", "editor"}, {"viewer", "viewer"}, {"target", "viewer"}} {
		if code, body := request(t, srv, "POST", "/api/apps/"+a.id+"/members", owner, `{"email":"`+m.name+`@roles.example","role":"`+m.role+`"}`); code != 201 || body["status"] != "added" {
			t.Fatalf("add %s: %d %v", m.name, code, body)
		}
	}
	_, link := request(t, srv, "POST", "/api/apps/"+a.id+"/links", owner, `{"media_source":"net"}`)
	_, pb := request(t, srv, "POST", "/api/apps/"+a.id+"/postbacks", owner, roleBodies["POST /api/apps/{app_id}/postbacks"])
	_, inv := request(t, srv, "POST", "/api/apps/"+a.id+"/members", owner, `{"email":"guest@roles.example","role":"viewer"}`)
	a.linkID, _ = link["id"].(string)
	a.postbackID, _ = pb["id"].(string)
	a.invitationID, _ = inv["id"].(string)
	_, exp := request(t, srv, "POST", "/api/apps/"+a.id+"/exports", owner, testExportBody)
	a.exportID, _ = exp["id"].(string)
	if a.linkID == "" || a.postbackID == "" || a.invitationID == "" || a.exportID == "" {
		t.Fatalf("fixture: link %v, postback %v, invitation %v, export %v", link, pb, inv, exp)
	}
	return a
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// roleRequest returns the path, body and X-Api-Key-less request of pattern for the app:
// path parameters are the app's own ids (unknown names get "x"); routes that name their
// app in the query or the body get it there.
func roleRequest(pattern string, a roleApp, c roleCallers) (method, path, body string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = pathParam.ReplaceAllStringFunc(path, func(p string) string {
		switch p {
		case "{app_id}":
			return a.id
		case "{postback_id}":
			return a.postbackID
		case "{link_id}":
			return a.linkID
		case "{invitation_id}":
			return a.invitationID
		case "{export_id}":
			return a.exportID
		case "{user_id}":
			return c.ids["target"]
		case "{chart_type}":
			return "installs"
		case "{report_id}":
			return "media_sources"
		}
		return "x"
	})
	body = roleBodies[pattern]
	switch {
	case strings.HasPrefix(path, "/api/dashboard/") || strings.HasPrefix(path, "/api/analytics/"):
		path += "?app_id=" + a.id
	case strings.HasPrefix(path, "/api/attribution/"):
		body = `{"app_id":"` + a.id + `","event_type":"session","device_id":"d","events":[]}`
	case body == "" && method != "GET" && method != "DELETE":
		body = "{}"
	}
	return method, path, body
}

// isAppRoute reports whether the route acts on one app, named in its path, query or body.
func isAppRoute(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return strings.Contains(path, "{app_id}") || strings.HasPrefix(path, "/api/dashboard/") ||
		strings.HasPrefix(path, "/api/analytics/") || strings.HasPrefix(path, "/api/attribution/")
}

// TestRoles walks every authenticated route (the table the tenancy test walks) as each
// kind of caller of a fresh app: a user without a role answers 404; a role below the
// route's (requiredRoles, else its method's default) 403; the route's role and those above
// it get past authorization (no 401, 403, nor the app's 404). A read-only personal access
// token of the owner may only GET (403 otherwise, on every route); a write token of the
// editor acts as the editor; the server key acts as an editor. A route added to the API
// is walked without any change here. It runs on each metadata engine.
func TestRoles(t *testing.T) { forEachEngine(t, testRoles) }

func testRoles(t *testing.T, engine string) {
	h, srv := teamServer(t, engine)
	c := roleCallers{tokens: map[string]string{}, ids: map[string]string{}}
	for _, name := range []string{"owner", "admin", "editor", "viewer", "target", "outsider"} {
		code, reg := request(t, srv, "POST", "/api/auth/register", "", `{"email":"`+name+`@roles.example","password":"correct horse battery"}`)
		if code != 201 {
			t.Fatalf("register %s: %d %v", name, code, reg)
		}
		c.tokens[name] = reg["token"].(string)
		c.ids[name] = reg["user"].(map[string]any)["id"].(string)
	}
	for name, tc := range map[string]struct{ user, scope string }{"read-token": {"owner", "read"}, "write-token": {"editor", "write"}} {
		code, tok := request(t, srv, "POST", "/api/auth/tokens", c.tokens[tc.user], `{"name":"`+name+`","scope":"`+tc.scope+`"}`)
		if code != 201 {
			t.Fatalf("create %s: %d %v", name, code, tok)
		}
		c.tokens[name] = tok["token"].(string)
	}

	// Who acts with which role: "" is no role.
	callers := []struct {
		name string
		role unmogrowp.Role
	}{
		{"outsider", ""}, {"viewer", unmogrowp.RoleViewer}, {"editor", unmogrowp.RoleEditor},
		{"admin", unmogrowp.RoleAdmin}, {"owner", unmogrowp.RoleOwner},
		{"read-token", unmogrowp.RoleOwner}, {"write-token", unmogrowp.RoleEditor}, {"server-key", unmogrowp.RoleEditor},
	}
	// Reads share one app: they change nothing, so every caller of every GET route can be
	// answered from the same fixture; any other route gets a fresh one per caller.
	var readApp *roleApp
	walked := 0
	for _, pattern := range h.RoutePatterns() {
		method, _, _ := strings.Cut(pattern, " ")
		if !isAppRoute(pattern) {
			// An account route: a read-only token may only GET it.
			if method != "GET" {
				_, path, body := roleRequest(pattern, roleApp{}, c)
				if code, resp := request(t, srv, method, path, c.tokens["read-token"], body); code != 403 {
					t.Errorf("%s with a read-only token: %d %v, want 403", pattern, code, resp)
				}
			}
			continue
		}
		walked++
		need, ok := requiredRoles[pattern]
		if !ok {
			need = unmogrowp.RoleViewer
			if method != "GET" && method != "HEAD" {
				need = unmogrowp.RoleEditor
			}
		}
		for _, who := range callers {
			t.Run(pattern+"/"+who.name, func(t *testing.T) {
				var a roleApp
				switch {
				case method != "GET" && method != "HEAD":
					a = newRoleApp(t, srv, c)
				case readApp == nil:
					a = newRoleApp(t, srv, c)
					readApp = &a
				default:
					a = *readApp
				}
				method, path, body := roleRequest(pattern, a, c)
				var code int
				var resp map[string]any
				if who.name == "server-key" {
					code, resp = requestHeaders(t, srv, method, path, map[string]string{"X-Api-Key": a.serverKey}, body)
				} else {
					code, resp = request(t, srv, method, path, c.tokens[who.name], body)
				}
				msg, _ := resp["error"].(string)
				switch {
				case who.name == "read-token" && method != "GET":
					if code != 403 || !strings.Contains(msg, "read-only") {
						t.Errorf("%d %v, want 403: a read-only token may only GET", code, resp)
					}
				case who.role == unmogrowp.RoleNone:
					if code != 404 || msg != "No such app." {
						t.Errorf("%d %v, want 404 No such app.", code, resp)
					}
				case !who.role.AtLeast(need):
					if code != 403 || !strings.Contains(msg, string(need)) {
						t.Errorf("%d %v, want 403 naming the %s role", code, resp, need)
					}
				default:
					if code == 401 || code == 403 || (code == 404 && msg == "No such app.") || code >= 500 && code != 503 {
						t.Errorf("%d %v: the %s role (needs %s) must get past authorization", code, resp, who.role, need)
					}
				}
			})
		}
	}
	if walked < 25 {
		t.Errorf("walked %d app routes, want every one of them", walked)
	}
}
