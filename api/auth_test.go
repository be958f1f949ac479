package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/internal/password"
	"github.com/unmogrowp/unmogrowp/metadata"
)

// authFixture is the API on a real SQLite metadata store, for the account routes.
type authFixture struct {
	t    *testing.T
	srv  *httptest.Server
	meta *metadata.DB
	path string // the SQLite file
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	return newAuthFixtureWith(t, api.Config{})
}

// newAuthFixtureWith is newAuthFixture with the settings of cfg that are not stores.
func newAuthFixtureWith(t *testing.T, cfg api.Config) *authFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "metadata.db")
	meta, err := metadata.Open(context.Background(), metadata.SQLiteURL(path), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	cfg.Apps, cfg.Links, cfg.Users, cfg.Registry, cfg.IngestURL = meta, meta, meta, prometheus.NewRegistry(), "https://t.example.com"
	h := api.New(cfg)
	f := &authFixture{t: t, srv: httptest.NewServer(h), meta: meta, path: path}
	t.Cleanup(f.srv.Close)
	return f
}

// authResponse is an answer of the API: its status, headers and JSON body.
type authResponse struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request with the bearer token (none if "") and the body (none if "").
func (f *authFixture) do(method, path, token, body string) authResponse {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return f.send(req)
}

func (f *authFixture) send(req *http.Request) authResponse {
	f.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := authResponse{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			f.t.Fatalf("%s %s: answer is not a JSON object: %q", req.Method, req.URL.Path, b)
		}
	}
	return r
}

// want fails the test unless the answer has the status and, if msg is not "", an error
// message containing msg.
func (r authResponse) want(t *testing.T, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if msg != "" {
		if got, _ := r.body["error"].(string); !strings.Contains(got, msg) {
			t.Fatalf("error %q does not contain %q", got, msg)
		}
	}
}

func credentialsJSON(email, pw, name string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": pw, "name": name})
	return string(b)
}

// register signs up a user and returns the token and the user's id.
func (f *authFixture) register(email, pw, name string) (token, id string) {
	f.t.Helper()
	r := f.do("POST", "/api/auth/register", "", credentialsJSON(email, pw, name))
	r.want(f.t, http.StatusCreated, "")
	return sessionOf(f.t, r)
}

// sessionOf checks an answer of register or login and returns its token and user id.
func sessionOf(t *testing.T, r authResponse) (token, id string) {
	t.Helper()
	token, _ = r.body["token"].(string)
	if !tokenFormat.MatchString(token) {
		t.Fatalf("token %q does not look like ut_ and 32 base64url bytes", token)
	}
	u, _ := r.body["user"].(map[string]any)
	id, _ = u["id"].(string)
	if id == "" {
		t.Fatalf("no user id in %s", r.raw)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	return token, id
}

var tokenFormat = regexp.MustCompile(`^ut_[A-Za-z0-9_-]{43}$`)

func TestAuthFlow(t *testing.T) {
	f := newAuthFixture(t)
	start := time.Now()
	token, id := f.register("  Ann@Example.com ", "correct horse", " Ann ")
	t.Logf("register (one argon2id hash) took %v", time.Since(start))

	me := f.do("GET", "/api/auth/me", token, "")
	me.want(t, http.StatusOK, "")
	want := map[string]any{"id": id, "email": "ann@example.com", "name": "Ann"}
	if got := me.body["user"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("me = %v, want %v", got, want)
	}

	// Login, in another case, makes a second session; both work.
	start = time.Now()
	login := f.do("POST", "/api/auth/login", "", `{"email":"ANN@example.COM","password":"correct horse"}`)
	t.Logf("login (one argon2id verify) took %v", time.Since(start))
	login.want(t, http.StatusOK, "")
	token2, id2 := sessionOf(t, login)
	if id2 != id || token2 == token {
		t.Fatalf("login gave user %s token %s; register gave %s %s", id2, token2, id, token)
	}
	if u := login.body["user"]; fmt.Sprint(u) != fmt.Sprint(want) {
		t.Errorf("login user = %v, want %v", u, want)
	}

	// Logout revokes that token only.
	f.do("POST", "/api/auth/logout", token2, "").want(t, http.StatusNoContent, "")
	f.do("GET", "/api/auth/me", token2, "").want(t, http.StatusUnauthorized, "sign in again")
	f.do("POST", "/api/auth/logout", token2, "").want(t, http.StatusUnauthorized, "")
	f.do("GET", "/api/auth/me", token, "").want(t, http.StatusOK, "")
}

func TestRegisterErrors(t *testing.T) {
	f := newAuthFixture(t)
	f.register("ann@example.com", "password1", "Ann")
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"Duplicate", credentialsJSON("ann@example.com", "password2", "Other"), 409, "already exists"},
		{"DuplicateOtherCase", credentialsJSON(" ANN@Example.Com", "password2", "Other"), 409, "already exists"},
		{"ShortPassword", credentialsJSON("bob@example.com", "1234567", "Bob"), 400, "password must be at least 8 characters"},
		{"NoPassword", `{"email":"bob@example.com"}`, 400, "password must be at least 8"},
		{"LongPassword", credentialsJSON("bob@example.com", strings.Repeat("p", 1025), "Bob"), 400, "password must be at most 1024"},
		{"NoEmail", credentialsJSON("", "password1", "Bob"), 400, "email is required"},
		{"BadEmail", credentialsJSON("bob.example.com", "password1", "Bob"), 400, "email must be an email address"},
		{"LongEmail", credentialsJSON(strings.Repeat("b", 250)+"@example.com", "password1", "Bob"), 400, "email must be at most 254"},
		{"LongName", credentialsJSON("bob@example.com", "password1", strings.Repeat("n", 257)), 400, "name must be at most 256"},
		{"NotJSON", `email=bob`, 400, "JSON object"},
		{"WrongType", `{"email":"bob@example.com","password":12345678}`, 400, "password has the wrong type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.do("POST", "/api/auth/register", "", tc.body).want(t, tc.status, tc.msg)
		})
	}
	// None of the refused registrations made a user.
	if _, _, err := f.meta.UserByEmail(context.Background(), "bob@example.com"); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		t.Errorf("a refused registration stored bob: %v", err)
	}
	// A password of exactly 8 characters is enough.
	f.register("bob@example.com", "12345678", "")
}

// TestLoginWrong answers a wrong password and an unknown email alike: 401, same body.
func TestLoginWrong(t *testing.T) {
	f := newAuthFixture(t)
	f.register("ann@example.com", "correct horse", "Ann")
	start := time.Now()
	wrong := f.do("POST", "/api/auth/login", "", `{"email":"ann@example.com","password":"wrong horse"}`)
	tWrong := time.Since(start)
	start = time.Now()
	unknown := f.do("POST", "/api/auth/login", "", `{"email":"nobody@example.com","password":"wrong horse"}`)
	tUnknown := time.Since(start)
	t.Logf("wrong password answered in %v, unknown email in %v", tWrong, tUnknown)
	wrong.want(t, http.StatusUnauthorized, "Wrong email or password.")
	unknown.want(t, http.StatusUnauthorized, "Wrong email or password.")
	if wrong.raw != unknown.raw {
		t.Errorf("wrong password answers %q, unknown email %q", wrong.raw, unknown.raw)
	}
	// The unknown email was checked against a dummy hash, not answered at once.
	if tUnknown < tWrong/4 {
		t.Errorf("unknown email answered in %v, wrong password in %v: the timing tells them apart", tUnknown, tWrong)
	}
	f.do("POST", "/api/auth/login", "", `{"email":"ann@example.com"}`).want(t, http.StatusBadRequest, "required")
	f.do("POST", "/api/auth/login", "", `[]`).want(t, http.StatusBadRequest, "JSON object")
}

// TestLoginRateLimitEmail locks one email after 5 attempts a minute, whatever the
// password, while other emails still log in.
func TestLoginRateLimitEmail(t *testing.T) {
	f := newAuthFixture(t)
	f.register("ann@example.com", "correct horse", "Ann")
	f.register("bob@example.com", "correct horse", "Bob")
	n := untilLimited(t, 5, 12*time.Second, func(i int) authResponse {
		email := "ann@example.com"
		if i%2 == 1 {
			email = "ANN@example.com" // the limit is per account, not per spelling
		}
		return f.do("POST", "/api/auth/login", "", credentialsJSON(email, "wrong horse", ""))
	})
	t.Logf("attempt %d was refused", n)
	r := f.do("POST", "/api/auth/login", "", credentialsJSON("ann@example.com", "correct horse", ""))
	r.want(t, http.StatusTooManyRequests, "Too many attempts")
	f.do("POST", "/api/auth/login", "", credentialsJSON("bob@example.com", "correct horse", "")).want(t, http.StatusOK, "")
}

// TestLoginRateLimitIP refuses the 21st attempt a minute from one address, each for
// another email.
func TestLoginRateLimitIP(t *testing.T) {
	f := newAuthFixture(t)
	untilLimited(t, 20, 3*time.Second, func(i int) authResponse {
		return f.do("POST", "/api/auth/login", "", credentialsJSON(fmt.Sprintf("user%d@example.com", i), "wrong horse", ""))
	})
}

// TestLoginRateLimitBehindProxy limits each client behind a trusted proxy by its address in
// X-Forwarded-For, and believes that header from no one else.
func TestLoginRateLimitBehindProxy(t *testing.T) {
	login := func(f *authFixture, client string, i int) authResponse {
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/auth/login", strings.NewReader(credentialsJSON(fmt.Sprintf("u%d@example.com", i), "wrong horse", "")))
		req.Header.Set("X-Forwarded-For", client)
		return f.send(req)
	}
	trusted, _ := httpserve.ParseTrustedProxies("127.0.0.0/8,::1")
	f := newAuthFixtureWith(t, api.Config{TrustedProxies: trusted})
	untilLimited(t, 20, 3*time.Second, func(i int) authResponse { return login(f, "198.51.100.1", i) })
	login(f, "198.51.100.2", 100).want(t, http.StatusUnauthorized, "Wrong email or password.")

	f = newAuthFixture(t) // no trusted proxies: every client is the connection's peer
	untilLimited(t, 20, 3*time.Second, func(i int) authResponse { return login(f, "198.51.100.1", i) })
	login(f, "198.51.100.2", 100).want(t, http.StatusTooManyRequests, "Too many attempts")
}

// untilLimited makes attempts until one is answered 429 with a Retry-After of 1 to 60
// seconds, and returns its number (from 1). The first burst attempts must be answered 401;
// the bucket refills one attempt every refill, so a slow machine may get a few more before
// the 429, but no more than the refills that the time taken allows.
func untilLimited(t *testing.T, burst int, refill time.Duration, attempt func(i int) authResponse) int {
	t.Helper()
	start := time.Now()
	for i := 0; ; i++ {
		r := attempt(i)
		if r.status == http.StatusTooManyRequests {
			r.want(t, http.StatusTooManyRequests, "Too many attempts")
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
				t.Errorf("Retry-After = %q, want 1 to 60 seconds", r.header.Get("Retry-After"))
			}
			if i < burst {
				t.Fatalf("attempt %d refused, want at least %d allowed", i+1, burst)
			}
			return i + 1
		}
		r.want(t, http.StatusUnauthorized, "Wrong email or password.")
		if allowed := burst + int(time.Since(start)/refill) + 1; i+1 > allowed {
			t.Fatalf("%d attempts allowed in %v, want at most %d", i+1, time.Since(start), allowed)
		}
	}
}

func TestBearerErrors(t *testing.T) {
	// Sessions are revoked in the store below, as another process would: without the auth
	// cache, that takes effect at once (TestAuthCacheAcrossProcesses checks the bound with
	// it).
	f := newAuthFixtureWith(t, api.Config{AuthCacheTTL: -1})
	token, id := f.register("ann@example.com", "correct horse", "Ann")
	ctx := context.Background()

	// A token whose session expired, and one revoked behind the API's back.
	expired := "ut_" + strings.Repeat("A", 43)
	if err := f.meta.CreateSession(ctx, &unmogrowp.Session{
		TokenHash: unmogrowp.HashSessionToken(expired), UserID: id,
		CreatedAt: time.Now().Add(-31 * 24 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	revoked := "ut_" + strings.Repeat("B", 43)
	if err := f.meta.CreateSession(ctx, &unmogrowp.Session{
		TokenHash: unmogrowp.HashSessionToken(revoked), UserID: id, ExpiresAt: time.Now().Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	f.do("GET", "/api/auth/me", revoked, "").want(t, http.StatusOK, "")
	if err := f.meta.RevokeSession(ctx, unmogrowp.HashSessionToken(revoked)); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, header, msg string
	}{
		{"Missing", "", "Authorization: Bearer"},
		{"Basic", "Basic YW5uOnB3", `must be "Bearer <token>"`},
		{"EmptyBearer", "Bearer ", `must be "Bearer <token>"`},
		{"Garbage", "Bearer nonsense", "sign in again"},
		{"ChangedToken", "Bearer " + token[:len(token)-1] + flip(token[len(token)-1]), "sign in again"},
		{"HashAsToken", "Bearer " + unmogrowp.HashSessionToken(token), "sign in again"},
		{"Expired", "Bearer " + expired, "sign in again"},
		{"Revoked", "Bearer " + revoked, "sign in again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, route := range []struct{ method, path string }{{"GET", "/api/auth/me"}, {"POST", "/api/auth/logout"}} {
				req, _ := http.NewRequest(route.method, f.srv.URL+route.path, nil)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				f.send(req).want(t, http.StatusUnauthorized, tc.msg)
			}
		})
	}
	// The scheme is case-insensitive (RFC 7235).
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/auth/me", nil)
	req.Header.Set("Authorization", "bearer "+token)
	f.send(req).want(t, http.StatusOK, "")
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestTokenStoredHashed reads the sessions table and the database files: they hold the
// tokens' SHA-256, never a token.
func TestTokenStoredHashed(t *testing.T) {
	f := newAuthFixture(t)
	t1, id := f.register("ann@example.com", "correct horse", "Ann")
	t2, _ := sessionOf(t, func() authResponse {
		r := f.do("POST", "/api/auth/login", "", `{"email":"ann@example.com","password":"correct horse"}`)
		r.want(t, http.StatusOK, "")
		return r
	}())

	db, err := sql.Open("sqlite", f.path+"?_pragma=busy_timeout(5000)&_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT token_hash, user_id, created_at, expires_at FROM sessions ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for rows.Next() {
		var hash, user string
		var created, expires int64
		if err := rows.Scan(&hash, &user, &created, &expires); err != nil {
			t.Fatal(err)
		}
		if user != id {
			t.Errorf("session of user %s, want %s", user, id)
		}
		if d := time.Duration(expires-created) * time.Microsecond; d != unmogrowp.SessionLifetime {
			t.Errorf("session lasts %v, want %v", d, unmogrowp.SessionLifetime)
		}
		hashes = append(hashes, hash)
	}
	rows.Close()
	want := []string{unmogrowp.HashSessionToken(t1), unmogrowp.HashSessionToken(t2)}
	if fmt.Sprint(hashes) != fmt.Sprint(want) {
		t.Fatalf("sessions hold %q, want the tokens' hashes %q", hashes, want)
	}

	var raw []byte
	for _, p := range []string{f.path, f.path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	for _, tok := range []string{t1, t2} {
		if bytes.Contains(raw, []byte(strings.TrimPrefix(tok, "ut_"))) {
			t.Errorf("token %s is in the database files", tok)
		}
	}
	// Neither is the password, while its argon2id hash is.
	if bytes.Contains(raw, []byte("correct horse")) {
		t.Error("the password is in the database files")
	}
	if !bytes.Contains(raw, []byte("$argon2id$v=19$m=19456,t=2,p=1$")) {
		t.Error("no argon2id hash in the database files")
	}
}

// TestNoUserStore answers the account routes 503 when the server has no user store, and
// other routes 401: no user can be signed in.
func TestNoUserStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metadata.db")
	meta, err := metadata.Open(context.Background(), metadata.SQLiteURL(path), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	srv := httptest.NewServer(api.New(api.Config{Apps: meta, Links: meta, Registry: prometheus.NewRegistry()}))
	defer srv.Close()
	f := &authFixture{t: t, srv: srv, meta: meta, path: path}
	f.do("POST", "/api/auth/register", "", credentialsJSON("ann@example.com", "correct horse", "")).want(t, http.StatusServiceUnavailable, "not enabled")
	f.do("POST", "/api/auth/login", "", credentialsJSON("ann@example.com", "correct horse", "")).want(t, http.StatusServiceUnavailable, "not enabled")
	f.do("GET", "/api/auth/me", "", "").want(t, http.StatusUnauthorized, "")
}

// TestArgon2Timing logs what one argon2id hash costs with the parameters in use.
func TestArgon2Timing(t *testing.T) {
	const n = 5
	start := time.Now()
	for range n {
		if _, err := password.Hash("correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("argon2id m=%d KiB t=%d p=%d: %v per hash (mean of %d)",
		password.DefaultParams.Memory, password.DefaultParams.Time, password.DefaultParams.Threads, time.Since(start)/n, n)
}
