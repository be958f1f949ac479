package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestTeams runs a team's life through the API: an invitation for an unknown email,
// accepted once by whoever signs up with its token; roles changed and refused; what a
// viewer sees of the app; the owner unable to leave; a transfer; and the audit log of it
// all, without a secret's value. On each metadata engine.
func TestTeams(t *testing.T) { forEachEngine(t, testTeams) }

func testTeams(t *testing.T, engine string) {
	_, srv := teamServer(t, engine)
	ann := newTenant(t, srv, "ann@example.com")
	app := "/api/apps/" + ann.appID

	code, inv := request(t, srv, "POST", app+"/members", ann.token, `{"email":"Bob@Example.com","role":"editor"}`)
	token, _ := inv["token"].(string)
	if code != 201 || inv["status"] != "invited" || inv["email"] != "bob@example.com" || !strings.HasPrefix(token, "uin_") || inv["expires_at"] == nil {
		t.Fatalf("invite: %d %v", code, inv)
	}
	if code, body := request(t, srv, "POST", app+"/members", ann.token, `{"email":"x@example.com","role":"owner"}`); code != 400 || !strings.Contains(fmt.Sprint(body["error"]), "role") {
		t.Errorf("invite as owner: %d %v, want 400 naming role", code, body)
	}
	if code, body := request(t, srv, "POST", app+"/members", ann.token, `{"email":"nope","role":"viewer"}`); code != 400 || !strings.Contains(fmt.Sprint(body["error"]), "email") {
		t.Errorf("invite a bad email: %d %v, want 400 naming email", code, body)
	}
	code, members := request(t, srv, "GET", app+"/members", ann.token, "")
	invs, _ := members["invitations"].([]any)
	if code != 200 || len(invs) != 2 || fmt.Sprint(members) == "" || strings.Contains(fmt.Sprint(members), token) {
		t.Fatalf("members: %d %v; want 2 invitations (the tenant's and bob's), without tokens", code, members)
	}

	bob := newTenant(t, srv, "bob@example.com")
	code, accepted := request(t, srv, "POST", "/api/invitations/"+token+"/accept", bob.token, "")
	if code != 200 || accepted["id"] != ann.appID || accepted["role"] != "editor" {
		t.Fatalf("accept: %d %v", code, accepted)
	}
	if code, body := request(t, srv, "POST", "/api/invitations/"+token+"/accept", bob.token, ""); code != 404 {
		t.Errorf("accept twice: %d %v, want 404", code, body)
	}
	code, apps := request(t, srv, "GET", "/api/apps", bob.token, "")
	if list, _ := apps["apps"].([]any); code != 200 || len(list) != 2 || !strings.Contains(fmt.Sprint(list), "role:editor") || !strings.Contains(fmt.Sprint(list), "role:owner") {
		t.Errorf("bob's apps: %d %v; want his own (owner) and ann's (editor)", code, apps)
	}

	// An editor sees the signing secret; a viewer does not.
	if code, a := request(t, srv, "GET", app, bob.token, ""); code != 200 || a["signing_secret"] == "" || a["role"] != "editor" {
		t.Errorf("the app as an editor: %d %v", code, a)
	}
	if code, m := request(t, srv, "PATCH", app+"/members/"+bob.userID, ann.token, `{"role":"viewer"}`); code != 200 || m["role"] != "viewer" {
		t.Fatalf("make bob a viewer: %d %v", code, m)
	}
	if code, a := request(t, srv, "GET", app, bob.token, ""); code != 200 || a["signing_secret"] != "" || a["role"] != "viewer" || a["sdk_key"] == "" {
		t.Errorf("the app as a viewer: %d %v; want no signing secret", code, a)
	}
	if code, body := request(t, srv, "POST", app+"/links", bob.token, `{"media_source":"x"}`); code != 403 {
		t.Errorf("a viewer makes a link: %d %v, want 403", code, body)
	}

	// The owner's role moves only by a transfer, and the owner cannot leave.
	if code, body := request(t, srv, "PATCH", app+"/members/"+ann.userID, ann.token, `{"role":"admin"}`); code != 409 {
		t.Errorf("demote the owner: %d %v, want 409", code, body)
	}
	if code, body := request(t, srv, "PATCH", app+"/members/"+bob.userID, ann.token, `{"role":"owner"}`); code != 400 {
		t.Errorf("make a member owner by PATCH: %d %v, want 400", code, body)
	}
	for _, req := range []struct{ method, path string }{{"POST", app + "/leave"}, {"DELETE", app + "/members/" + ann.userID}} {
		if code, body := request(t, srv, req.method, req.path, ann.token, ""); code != 409 || !strings.Contains(fmt.Sprint(body["error"]), "owner") {
			t.Errorf("%s %s by the owner: %d %v, want 409", req.method, req.path, code, body)
		}
	}
	code, moved := request(t, srv, "POST", app+"/transfer", ann.token, `{"user_id":"`+bob.userID+`"}`)
	if ms, _ := moved["members"].([]any); code != 200 || len(ms) != 2 || !strings.Contains(fmt.Sprint(ms[0]), bob.userID) ||
		!strings.Contains(fmt.Sprint(ms[0]), "role:owner") || !strings.Contains(fmt.Sprint(ms[1]), "role:admin") {
		t.Fatalf("transfer: %d %v", code, moved)
	}
	if code, body := request(t, srv, "DELETE", app, ann.token, ""); code != 403 {
		t.Errorf("the old owner, now admin, deletes the app: %d %v, want 403", code, body)
	}
	if code, body := request(t, srv, "PATCH", app, ann.token, `{"settings":{"click_lookback_days":14}}`); code != 200 {
		t.Errorf("an admin changes settings: %d %v", code, body)
	}
	code, rotated := request(t, srv, "POST", app+"/keys/rotate", ann.token, "")
	key, _ := rotated["server_key"].(string)
	if code != 200 || key == "" {
		t.Fatalf("rotate: %d %v", code, rotated)
	}
	if code, body := request(t, srv, "POST", app+"/leave", ann.token, ""); code != 204 {
		t.Errorf("the admin leaves: %d %v", code, body)
	}
	if code, body := request(t, srv, "GET", app, ann.token, ""); code != 404 {
		t.Errorf("the app after leaving: %d %v, want 404", code, body)
	}

	// The audit log, newest first, paged, without the server key nor the token.
	code, log := request(t, srv, "GET", app+"/audit?limit=3", bob.token, "")
	entries, _ := log["entries"].([]any)
	next, _ := log["next_cursor"].(string)
	if code != 200 || len(entries) != 3 || next == "" {
		t.Fatalf("audit page 1: %d %v", code, log)
	}
	all := entries
	for next != "" {
		code, log = request(t, srv, "GET", app+"/audit?limit=3&cursor="+next, bob.token, "")
		if code != 200 {
			t.Fatalf("audit page: %d %v", code, log)
		}
		page, _ := log["entries"].([]any)
		all = append(all, page...)
		next, _ = log["next_cursor"].(string)
	}
	var actions []string
	for _, e := range all {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	want := "member.leave app.keys.rotate app.update app.transfer member.update invitation.accept invitation.create"
	if got := strings.Join(actions, " "); !strings.HasPrefix(got, want) {
		t.Errorf("audit actions %q, want them to start with %q", got, want)
	}
	text := fmt.Sprint(all)
	if !strings.Contains(text, "settings.click_lookback_days:map[from:7 to:14]") || !strings.Contains(text, "email:ann@example.com") {
		t.Errorf("the audit log lacks the settings diff or the actor: %v", text)
	}
	for _, secret := range []string{key, token, ann.token, bob.token} {
		if strings.Contains(text, secret) {
			t.Errorf("the audit log holds a secret: %s", secret)
		}
	}
	if code, body := request(t, srv, "GET", app+"/audit?cursor=bad", bob.token, ""); code != 400 {
		t.Errorf("a bad cursor: %d %v, want 400", code, body)
	}
}

// TestAccessTokens checks personal access tokens: shown once, listed with their last use,
// read-only ones limited to GET, unable to make tokens or sign out, revocable, and
// refused once revoked. On each metadata engine.
func TestAccessTokens(t *testing.T) { forEachEngine(t, testAccessTokens) }

func testAccessTokens(t *testing.T, engine string) {
	_, srv := teamServer(t, engine)
	ann := newTenant(t, srv, "ann@example.com")
	code, rt := request(t, srv, "POST", "/api/auth/tokens", ann.token, `{"name":"reporting","scope":"read","expires_in_days":30}`)
	read, _ := rt["token"].(string)
	if code != 201 || !strings.HasPrefix(read, "uat_") || rt["expires_at"] == nil {
		t.Fatalf("create: %d %v", code, rt)
	}
	code, wt := request(t, srv, "POST", "/api/auth/tokens", ann.token, `{"name":"deploy","scope":"write"}`)
	write, _ := wt["token"].(string)
	if code != 201 || wt["expires_at"] != nil {
		t.Fatalf("create: %d %v", code, wt)
	}
	for _, body := range []string{`{"name":"x","scope":"admin"}`, `{"scope":"read"}`, `{"name":"x","scope":"read","expires_in_days":-1}`} {
		if code, resp := request(t, srv, "POST", "/api/auth/tokens", ann.token, body); code != 400 {
			t.Errorf("create %s: %d %v, want 400", body, code, resp)
		}
	}
	if code, me := request(t, srv, "GET", "/api/auth/me", read, ""); code != 200 || !strings.Contains(fmt.Sprint(me), "ann@example.com") {
		t.Errorf("me with a read token: %d %v", code, me)
	}
	if code, a := request(t, srv, "GET", "/api/apps/"+ann.appID, read, ""); code != 200 || a["role"] != "owner" {
		t.Errorf("the app with a read token: %d %v", code, a)
	}
	if code, body := request(t, srv, "POST", "/api/apps/"+ann.appID+"/links", read, `{"media_source":"x"}`); code != 403 {
		t.Errorf("a read token makes a link: %d %v, want 403", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/apps/"+ann.appID+"/links", write, `{"media_source":"x"}`); code != 201 {
		t.Errorf("a write token makes a link: %d %v, want 201", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/auth/tokens", write, `{"name":"more","scope":"write"}`); code != 403 {
		t.Errorf("a token makes a token: %d %v, want 403", code, body)
	}
	code, list := request(t, srv, "GET", "/api/auth/tokens", ann.token, "")
	if code != 200 || strings.Contains(fmt.Sprint(list), read) || strings.Contains(fmt.Sprint(list), write) ||
		strings.Count(fmt.Sprint(list), "last_used_at:20") != 2 {
		t.Errorf("list: %d %v; want 3 tokens (the tenant's too), two used, no token shown", code, list)
	}
	if code, body := request(t, srv, "DELETE", "/api/auth/tokens/"+wt["id"].(string), ann.token, ""); code != 204 {
		t.Fatalf("revoke: %d %v", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/apps", write, ""); code != 401 {
		t.Errorf("a revoked token: %d %v, want 401", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/apps", "uat_"+strings.Repeat("x", 43), ""); code != 401 {
		t.Errorf("an unknown token: %d %v, want 401", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/auth/logout", read, ""); code != 400 || !strings.Contains(fmt.Sprint(body["error"]), "revoke") {
		t.Errorf("logout with an access token: %d %v, want 400 saying to revoke it", code, body)
	}
}
