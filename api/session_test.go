package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/api"
)

// browserRequest is a request as the dashboard sends it: signed in by the session cookie
// (none if session is ""), with the CSRF header (none if csrf is "") and the other headers
// given as name, value pairs.
func (f *authFixture) browserRequest(method, path, body, session, csrf string, header ...string) authResponse {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: session})
	}
	if csrf != "" {
		req.Header.Set(api.CSRFHeader, csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return f.send(req)
}

// sessionCookies returns the session and CSRF cookies an answer sets, failing the test
// unless it sets both.
func sessionCookies(t *testing.T, r authResponse) (session, csrf *http.Cookie) {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		switch c.Name {
		case api.SessionCookie:
			session = c
		case api.CSRFCookie:
			csrf = c
		}
	}
	if session == nil || csrf == nil {
		t.Fatalf("answer sets cookies %q, want %s and %s", r.header.Values("Set-Cookie"), api.SessionCookie, api.CSRFCookie)
	}
	return session, csrf
}

// TestSessionCookie signs in as the dashboard does: register, login and logout set and
// delete an HttpOnly, SameSite=Strict session cookie holding the token of the JSON answer,
// and a CSRF cookie the page can read; the cookie alone authenticates reads.
func TestSessionCookie(t *testing.T) {
	f := newAuthFixture(t)
	reg := f.do("POST", "/api/auth/register", "", credentialsJSON("ann@example.com", "correct horse", "Ann"))
	reg.want(t, http.StatusCreated, "")
	token, id := sessionOf(t, reg) // the JSON token stays, for scripts
	session, csrf := sessionCookies(t, reg)
	const month = 30 * 24 * 3600
	if session.Value != token || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || session.MaxAge != month || session.Secure {
		t.Errorf("session cookie %s: want the token, HttpOnly, SameSite=Strict, Path=/, Max-Age=%d, not Secure on http", session, month)
	}
	if csrf.Value == "" || csrf.Value == token || strings.Contains(token, csrf.Value) || csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Path != "/" || csrf.MaxAge != month {
		t.Errorf("CSRF cookie %s: want a value other than the token, readable by the page, SameSite=Strict, Path=/, Max-Age=%d", csrf, month)
	}

	me := f.browserRequest("GET", "/api/auth/me", "", session.Value, "")
	me.want(t, http.StatusOK, "")
	if u, _ := me.body["user"].(map[string]any); u["id"] != id {
		t.Errorf("me with the cookie: %s, want user %s", me.raw, id)
	}
	f.browserRequest("GET", "/api/apps", "", session.Value, "").want(t, http.StatusOK, "")
	f.browserRequest("GET", "/api/auth/me", "", "ut_"+strings.Repeat("A", 43), "").want(t, http.StatusUnauthorized, "sign in again")

	// Login sets a new pair, of another session, Secure behind an https proxy.
	login := f.browserRequest("POST", "/api/auth/login", `{"email":"ann@example.com","password":"correct horse"}`, "", "",
		"X-Forwarded-Proto", "https")
	login.want(t, http.StatusOK, "")
	token2, _ := sessionOf(t, login)
	session2, csrf2 := sessionCookies(t, login)
	if session2.Value != token2 || token2 == token || csrf2.Value == csrf.Value || !session2.Secure || !csrf2.Secure {
		t.Errorf("login cookies %s, %s: want Secure cookies of the new token", session2, csrf2)
	}

	// Logout deletes both cookies and revokes that session only.
	out := f.browserRequest("POST", "/api/auth/logout", "", session2.Value, csrf2.Value, "Sec-Fetch-Site", "same-origin")
	out.want(t, http.StatusNoContent, "")
	gone, gone2 := sessionCookies(t, out)
	if gone.MaxAge >= 0 || gone.Value != "" || gone2.MaxAge >= 0 || gone2.Value != "" {
		t.Errorf("logout sets %q, want both cookies deleted", out.header.Values("Set-Cookie"))
	}
	f.browserRequest("GET", "/api/auth/me", "", session2.Value, "").want(t, http.StatusUnauthorized, "sign in again")
	f.do("GET", "/api/auth/me", token2, "").want(t, http.StatusUnauthorized, "sign in again")
	f.browserRequest("GET", "/api/auth/me", "", session.Value, "").want(t, http.StatusOK, "")
	// Signing out again with the dead cookie still deletes it.
	again := f.browserRequest("POST", "/api/auth/logout", "", session2.Value, csrf2.Value)
	again.want(t, http.StatusUnauthorized, "sign in again")
	sessionCookies(t, again)
}

// TestSessionCookieCSRF refuses, with a 403 and nothing changed, a request that changes
// something and is signed in by the session cookie alone: without the CSRF header, with
// a wrong one or another session's, or from another site. Bearer requests are as before.
func TestSessionCookieCSRF(t *testing.T) {
	f := newAuthFixture(t)
	reg := f.do("POST", "/api/auth/register", "", credentialsJSON("ann@example.com", "correct horse", "Ann"))
	token, _ := sessionOf(t, reg)
	session, csrf := sessionCookies(t, reg)
	other := f.do("POST", "/api/auth/register", "", credentialsJSON("bob@example.com", "correct horse", "Bob"))
	_, otherCSRF := sessionCookies(t, other)
	const app = `{"name":"Space Runner","platform":"android"}`

	for _, tc := range []struct {
		name, csrf string
		header     []string
		msg        string
	}{
		{"NoHeader", "", nil, api.CSRFHeader},
		{"WrongHeader", "x" + csrf.Value[1:], nil, api.CSRFHeader},
		{"SessionAsHeader", session.Value, nil, api.CSRFHeader},
		{"OtherSessionsToken", otherCSRF.Value, nil, api.CSRFHeader},
		{"CrossSite", csrf.Value, []string{"Sec-Fetch-Site", "cross-site"}, "another site"},
		{"SameSiteOtherOrigin", csrf.Value, []string{"Sec-Fetch-Site", "same-site"}, "another site"},
		{"OtherOrigin", csrf.Value, []string{"Origin", "https://evil.example"}, "another site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.browserRequest("POST", "/api/apps", app, session.Value, tc.csrf, tc.header...).want(t, http.StatusForbidden, tc.msg)
			f.browserRequest("POST", "/api/auth/logout", "", session.Value, tc.csrf, tc.header...).want(t, http.StatusForbidden, tc.msg)
		})
	}
	if r := f.browserRequest("GET", "/api/apps", "", session.Value, ""); r.status != http.StatusOK || len(r.body["apps"].([]any)) != 0 {
		t.Fatalf("apps after the refused requests: %s, want none", r.raw)
	}
	f.browserRequest("GET", "/api/auth/me", "", session.Value, "").want(t, http.StatusOK, "") // not signed out

	// The dashboard's own request goes through.
	created := f.browserRequest("POST", "/api/apps", app, session.Value, csrf.Value, "Sec-Fetch-Site", "same-origin")
	created.want(t, http.StatusCreated, "")
	appID, _ := created.body["id"].(string)
	f.browserRequest("PATCH", "/api/apps/"+appID, `{"name":"Moon Runner"}`, session.Value, "").want(t, http.StatusForbidden, api.CSRFHeader)
	f.browserRequest("DELETE", "/api/apps/"+appID, "", session.Value, "").want(t, http.StatusForbidden, api.CSRFHeader)
	f.browserRequest("PATCH", "/api/apps/"+appID, `{"name":"Moon Runner"}`, session.Value, csrf.Value).want(t, http.StatusOK, "")

	// A bearer request needs no CSRF header, cookie or none: the header wins over a cookie.
	f.do("POST", "/api/apps", token, app).want(t, http.StatusCreated, "")
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/apps", strings.NewReader(app))
	req.Header.Set("Authorization", "Bearer "+token)
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: "ut_stale"})
	f.send(req).want(t, http.StatusCreated, "")
	f.do("DELETE", "/api/apps/"+appID, token, "").want(t, http.StatusNoContent, "")
}

// TestSignInCrossSite refuses a sign-in a browser sends from another site (login CSRF: a
// visitor signed in to the attacker's account), and takes one from the dashboard or a
// script.
func TestSignInCrossSite(t *testing.T) {
	f := newAuthFixture(t)
	f.register("ann@example.com", "correct horse", "Ann")
	const login = `{"email":"ann@example.com","password":"correct horse"}`
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		r := f.browserRequest("POST", "/api/auth/login", login, "", "", h...)
		r.want(t, http.StatusForbidden, "Cross-site sign-in")
		if c := r.header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("refused login sets cookies %q", c)
		}
		f.browserRequest("POST", "/api/auth/register", credentialsJSON("eve@example.com", "correct horse", "Eve"), "", "", h...).
			want(t, http.StatusForbidden, "Cross-site sign-in")
	}
	f.browserRequest("POST", "/api/auth/login", login, "", "", "Sec-Fetch-Site", "same-origin").want(t, http.StatusOK, "")
	f.do("POST", "/api/auth/login", "", login).want(t, http.StatusOK, "")
}

// TestNoSniff marks every API answer, JSON above all, X-Content-Type-Options: nosniff.
func TestNoSniff(t *testing.T) {
	f := newAuthFixture(t)
	token, _ := f.register("ann@example.com", "correct horse", "Ann")
	for _, r := range []authResponse{
		f.do("GET", "/api/auth/me", token, ""),
		f.do("GET", "/api/apps", "", ""),
		f.do("GET", "/api/nothing", "", ""),
		f.do("GET", "/health", "", ""),
	} {
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("answer %d %s: X-Content-Type-Options %q, want nosniff", r.status, r.raw, got)
		}
	}
}
