package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
)

// TestUsersResetPassword runs `users reset-password` against a data directory: the link
// it prints sets a new password through the API once; --password-stdin sets one at once;
// both end the user's sessions. Unknown users, short passwords and a missing dashboard
// URL are errors that change nothing.
func TestUsersResetPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"UNMOGROWP_DATA_DIR": dir}
	email := testOwner(t, dir, "")
	ctx := context.Background()
	db, err := openMetadata(ctx, metadataURL(dir, ""), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(api.New(api.Config{Apps: db, Links: db, Users: db, Teams: db, Accounts: db, Registry: prometheus.NewRegistry(), AuthCacheTTL: -1}))
	defer srv.Close()
	user, _, err := db.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	session := func() string {
		t.Helper()
		hash := unmogrowp.HashSessionToken(time.Now().String())
		if err := db.CreateSession(ctx, &unmogrowp.Session{TokenHash: hash, UserID: user.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return hash
	}
	wantEnded := func(hash string) {
		t.Helper()
		if _, _, err := db.UserBySession(ctx, hash, time.Now()); unmogrowp.ErrorCode(err) != unmogrowp.EUNAUTHORIZED {
			t.Errorf("the session from before: %v, want EUNAUTHORIZED", err)
		}
	}
	post := func(path, body string) int {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	login := func(pw string) int { return post("/api/auth/login", `{"email":"`+email+`","password":"`+pw+`"}`) }

	for _, tc := range []struct {
		name, stdin string
		env         map[string]string
		args        []string
		want        string
	}{
		{"NoDashboardURL", "", env, []string{email}, "--dashboard-url"},
		{"UnknownUser", "", env, []string{"nobody@example.com", "--dashboard-url", "https://dash.example.com"}, "no user has the email"},
		{"ShortPassword", "short\n", env, []string{email, "--password-stdin"}, "at least 8"},
		{"NoEmail", "", env, nil, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCLIStdin(t, tc.env, tc.stdin, append([]string{"users", "reset-password"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}

	before := session()
	out, err := runCLI(t, map[string]string{"UNMOGROWP_DATA_DIR": dir, "DASHBOARD_URL": "https://dash.example.com/"}, "users", "reset-password", strings.ToUpper(email))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^https://dash\.example\.com/reset-password#(upr_[A-Za-z0-9_-]{43})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("printed %q, want the link first", out)
	}
	if code := post("/api/auth/password-reset/confirm", `{"token":"`+m[1]+`","password":"from the link"}`); code != 204 {
		t.Fatalf("confirm the printed link: %d", code)
	}
	if code := post("/api/auth/password-reset/confirm", `{"token":"`+m[1]+`","password":"from the link again"}`); code != 404 {
		t.Errorf("the link twice: %d, want 404", code)
	}
	wantEnded(before)
	if code := login("from the link"); code != 200 {
		t.Errorf("login with the password set by the link: %d", code)
	}

	before = session()
	if out, err := runCLIStdin(t, env, "set on stdin\r\n", "users", "reset-password", "--password-stdin", email); err != nil || !strings.Contains(out, "is set") {
		t.Fatalf("--password-stdin: %q, %v", out, err)
	}
	wantEnded(before)
	if code := login("set on stdin"); code != 200 {
		t.Errorf("login with the password from stdin: %d", code)
	}
	if code := login("from the link"); code != 401 {
		t.Errorf("login with the previous password: %d, want 401", code)
	}
}
