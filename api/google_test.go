package api_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/metadata"
)

// idpKeys are the test provider's signing key and another one it does not publish,
// generated once for all tests.
var idpKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

const (
	idpClientID = "client-123.apps.googleusercontent.com"
	idpSecret   = "s3cret"
	idpKeyID    = "key-1"
)

// idpUser is the Google account that the test provider's authorization endpoint signs in.
type idpUser struct {
	sub, email, name string
	verified         bool
}

// idp is a real OpenID provider for the tests: a discovery document, its keys (JWKS), an
// authorization endpoint that approves at once, and a token endpoint that checks the
// client, the redirect URI and the PKCE verifier before answering an RS256 ID token.
type idp struct {
	t   *testing.T
	srv *httptest.Server

	down atomic.Bool // the discovery document answers 503

	mu         sync.Mutex
	user       idpUser
	deny       bool // the authorization endpoint answers error=access_denied
	wrongNonce bool // ID tokens carry another nonce than the authorization request's
	grants     map[string]idpGrant
	exchanges  []idpExchange
}

// idpGrant is an authorization code's request.
type idpGrant struct {
	challenge, redirectURI, nonce string
}

// idpExchange is one request to the token endpoint: the PKCE verifier it sent and
// whether it matched the code's challenge.
type idpExchange struct {
	verifier, challenge string
	ok                  bool
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	p := &idp{t: t, grants: map[string]idpGrant{},
		user: idpUser{sub: "g-1001", email: "ann@example.com", name: "Ann", verified: true}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.handleDiscovery)
	mux.HandleFunc("GET /jwks", p.handleJWKS)
	mux.HandleFunc("GET /authorize", p.handleAuthorize)
	mux.HandleFunc("POST /token", p.handleToken)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	if p.down.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	writeJSONTest(w, http.StatusOK, map[string]any{
		"issuer":                                p.srv.URL,
		"authorization_endpoint":                p.srv.URL + "/authorize",
		"token_endpoint":                        p.srv.URL + "/token",
		"jwks_uri":                              p.srv.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *idp) handleJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSONTest(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &idpKeys()[0].PublicKey, KeyID: idpKeyID, Algorithm: "RS256", Use: "sig"},
	}})
}

func (p *idp) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, want := range map[string]string{"client_id": idpClientID, "response_type": "code",
		"scope": "openid email profile", "code_challenge_method": "S256"} {
		if q.Get(k) != want {
			http.Error(w, fmt.Sprintf("%s is %q, want %q", k, q.Get(k), want), http.StatusBadRequest)
			return
		}
	}
	for _, k := range []string{"redirect_uri", "state", "nonce", "code_challenge"} {
		if q.Get(k) == "" {
			http.Error(w, k+" is missing", http.StatusBadRequest)
			return
		}
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{"state": {q.Get("state")}}
	p.mu.Lock()
	if p.deny {
		v.Set("error", "access_denied")
	} else {
		code := rand.Text()
		p.grants[code] = idpGrant{challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), nonce: q.Get("nonce")}
		v.Set("code", code)
	}
	p.mu.Unlock()
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *idp) handleToken(w http.ResponseWriter, r *http.Request) {
	tokenError := func(code, desc string) {
		writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		tokenError("invalid_request", err.Error())
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != idpClientID || secret != idpSecret {
		writeJSONTest(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError("unsupported_grant_type", r.PostForm.Get("grant_type"))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.grants[r.PostForm.Get("code")]
	delete(p.grants, r.PostForm.Get("code")) // a code is used once
	if !ok {
		tokenError("invalid_grant", "unknown code")
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		tokenError("invalid_grant", "redirect_uri differs from the authorization request's")
		return
	}
	verifier := r.PostForm.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	ok = verifier != "" && base64.RawURLEncoding.EncodeToString(sum[:]) == g.challenge
	p.exchanges = append(p.exchanges, idpExchange{verifier: verifier, challenge: g.challenge, ok: ok})
	if !ok {
		tokenError("invalid_grant", "PKCE verification failed")
		return
	}
	nonce := g.nonce
	if p.wrongNonce {
		nonce = "another-nonce"
	}
	writeJSONTest(w, http.StatusOK, map[string]any{
		"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 3600,
		"id_token": p.sign(p.t, idpKeys()[0], p.claims(p.user, map[string]any{"nonce": nonce})),
	})
}

// claims are the claims of an ID token of the user, with the changes (nil deletes one).
func (p *idp) claims(u idpUser, changes map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": p.srv.URL, "aud": idpClientID, "sub": u.sub, "email": u.email,
		"email_verified": u.verified, "name": u.name,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign returns the claims as a compact RS256 JWT signed with the key, under the
// provider's key id.
func (p *idp) sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: idpKeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Error(err)
		return ""
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Error(err)
		return ""
	}
	s, _ := obj.CompactSerialize()
	return s
}

func (p *idp) set(f func(p *idp)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *idp) exchangesSeen() []idpExchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]idpExchange(nil), p.exchanges...)
}

func writeJSONTest(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// googleFixture is the API on a real SQLite store with sign-in with Google against idp.
type googleFixture struct {
	*authFixture
	idp *idp
}

// newGoogleFixture starts the API with Google configured against a new test provider,
// the code flow's redirect URL pointing at the API; change alters the configuration (nil
// for none) before the server starts.
func newGoogleFixture(t *testing.T, change func(c *api.GoogleConfig)) *googleFixture {
	t.Helper()
	p := newIDP(t)
	path := filepath.Join(t.TempDir(), "metadata.db")
	meta, err := metadata.Open(context.Background(), metadata.SQLiteURL(path), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cfg := &api.GoogleConfig{ClientID: idpClientID, ClientSecret: idpSecret, IssuerURL: p.srv.URL,
		RedirectURL: base + "/api/auth/google/callback"}
	if change != nil {
		change(cfg)
	}
	srv.Config.Handler = api.New(api.Config{Apps: meta, Links: meta, Users: meta, Registry: prometheus.NewRegistry(), Google: cfg})
	srv.Start()
	t.Cleanup(srv.Close)
	return &googleFixture{authFixture: &authFixture{t: t, srv: srv, meta: meta, path: path}, idp: p}
}

// postIDToken signs in with an ID token.
func (f *googleFixture) postIDToken(idToken string) authResponse {
	f.t.Helper()
	b, _ := json.Marshal(map[string]string{"id_token": idToken})
	return f.do("POST", "/api/auth/google", "", string(b))
}

// browser is a browser with cookies that follows redirects but stops at the dashboard's
// landing page, /auth/google.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/google" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// noFollow is a browser with the cookies of b that follows no redirect.
func noFollow(b *http.Client) *http.Client {
	return &http.Client{Jar: b.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches the URL with the client and returns the answer, its body read.
func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// landing checks that the answer sends the browser to the dashboard's landing page with a
// 303 and returns the values of the fragment.
func landing(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Path != "/auth/google" || loc.Host != "" || loc.RawQuery != "" {
		t.Fatalf("answer %d Location %q, want a 303 to /auth/google#...", resp.StatusCode, resp.Header.Get("Location"))
	}
	v, err := url.ParseQuery(loc.EscapedFragment())
	if err != nil {
		t.Fatalf("fragment %q: %v", loc.EscapedFragment(), err)
	}
	return v
}

// signIn runs the code flow in the browser from /api/auth/google/start with the query and
// returns the landing page's fragment.
func (f *googleFixture) signIn(b *http.Client, query string) url.Values {
	f.t.Helper()
	return landing(f.t, get(f.t, b, f.srv.URL+"/api/auth/google/start"+query))
}

// session returns the session token of the cookie the browser holds for the API, "" for
// none, and checks that the landing fragment carries no token: the session is never in a
// URL.
func (f *googleFixture) session(b *http.Client, v url.Values) string {
	f.t.Helper()
	if v.Has("token") {
		f.t.Errorf("landing fragment %v carries a token", v)
	}
	u, _ := url.Parse(f.srv.URL + "/api/auth/me")
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == api.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// me returns the user id of GET /api/auth/me with the token.
func (f *googleFixture) me(token string) string {
	f.t.Helper()
	r := f.do("GET", "/api/auth/me", token, "")
	r.want(f.t, http.StatusOK, "")
	u, _ := r.body["user"].(map[string]any)
	id, _ := u["id"].(string)
	return id
}

// wantNoUser fails the test if a user with the email or the Google subject exists.
func (f *googleFixture) wantNoUser(email, sub string) {
	f.t.Helper()
	ctx := context.Background()
	if u, _, err := f.meta.UserByEmail(ctx, email); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		f.t.Errorf("user %s exists (%v, %v), want none", email, u, err)
	}
	if u, err := f.meta.UserByGoogleSubject(ctx, sub); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		f.t.Errorf("user of Google subject %s exists (%v, %v), want none", sub, u, err)
	}
}

func TestGoogleIDToken(t *testing.T) {
	f := newGoogleFixture(t, nil)
	u := idpUser{sub: "g-42", email: "Bob@Example.com", name: "Bob", verified: true}
	r := f.postIDToken(f.idp.sign(t, idpKeys()[0], f.idp.claims(u, nil)))
	r.want(t, http.StatusOK, "")
	token, id := sessionOf(t, r)
	want := map[string]any{"id": id, "email": "bob@example.com", "name": "Bob"}
	if got := r.body["user"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("user = %v, want %v", got, want)
	}
	if got := f.me(token); got != id {
		t.Errorf("me = %s, want %s", got, id)
	}
	stored, err := f.meta.UserByGoogleSubject(context.Background(), "g-42")
	if err != nil || stored.ID != id {
		t.Fatalf("user of the Google subject: %v %v, want %s", stored, err, id)
	}
	if _, hash, _ := f.meta.UserByEmail(context.Background(), "bob@example.com"); hash != "" {
		t.Errorf("a Google user has a password hash %q", hash)
	}

	// A second sign-in, even with another email on the account, is the same user.
	u.email = "bob@new.example.com"
	r = f.postIDToken(f.idp.sign(t, idpKeys()[0], f.idp.claims(u, nil)))
	r.want(t, http.StatusOK, "")
	token2, id2 := sessionOf(t, r)
	if id2 != id || token2 == token {
		t.Errorf("second sign-in: user %s token %s, first %s %s", id2, token2, id, token)
	}
	// A string "true", as some providers send, is verified too.
	r = f.postIDToken(f.idp.sign(t, idpKeys()[0], f.idp.claims(u, map[string]any{"email_verified": "true"})))
	r.want(t, http.StatusOK, "")
}

// TestGoogleIDTokenRefused answers 401 to every ID token that fails a check, and makes
// no user.
func TestGoogleIDTokenRefused(t *testing.T) {
	f := newGoogleFixture(t, nil)
	u := idpUser{sub: "g-7", email: "eve@example.com", name: "Eve", verified: true}
	good := f.idp.claims(u, nil)
	hourAgo := time.Now().Add(-time.Hour).Unix()
	for _, tc := range []struct {
		name, token, msg string
	}{
		{"WrongAudience", f.idp.sign(t, idpKeys()[0], f.idp.claims(u, map[string]any{"aud": "another-client"})), "invalid"},
		{"WrongIssuer", f.idp.sign(t, idpKeys()[0], f.idp.claims(u, map[string]any{"iss": "https://evil.example.com"})), "invalid"},
		{"Expired", f.idp.sign(t, idpKeys()[0], f.idp.claims(u, map[string]any{"iat": hourAgo - 3600, "exp": hourAgo})), "expired"},
		{"OtherKey", f.idp.sign(t, idpKeys()[1], good), "invalid"},
		{"ChangedPayload", tamper(f.idp.sign(t, idpKeys()[0], good)), "invalid"},
		{"Unsigned", unsigned(good), "invalid"},
		{"EmailNotVerified", f.idp.sign(t, idpKeys()[0], f.idp.claims(u, map[string]any{"email_verified": false})), "has not verified"},
		{"EmailVerifiedMissing", f.idp.sign(t, idpKeys()[0], f.idp.claims(u, map[string]any{"email_verified": nil})), "has not verified"},
		{"NoEmail", f.idp.sign(t, idpKeys()[0], f.idp.claims(u, map[string]any{"email": nil})), "no email"},
		{"Garbage", "not.a.jwt", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.postIDToken(tc.token).want(t, http.StatusUnauthorized, tc.msg)
		})
	}
	f.wantNoUser("eve@example.com", "g-7")
	f.postIDToken("").want(t, http.StatusBadRequest, "id_token is required")
	f.do("POST", "/api/auth/google", "", `[]`).want(t, http.StatusBadRequest, "JSON object")
	// The good token works, so the refusals were for what each changed.
	f.postIDToken(f.idp.sign(t, idpKeys()[0], good)).want(t, http.StatusOK, "")
}

// tamper changes the JWT's payload, keeping its signature.
func tamper(jwt string) string {
	parts := strings.Split(jwt, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	b = []byte(strings.Replace(string(b), "eve@example.com", "evo@example.com", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// unsigned is a JWT of the claims with "alg":"none".
func unsigned(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(b) + "."
}

// TestGoogleLinksPasswordAccount signs a Google account in to the password account with
// its verified email, which keeps its password; another Google account with that email
// is refused.
func TestGoogleLinksPasswordAccount(t *testing.T) {
	f := newGoogleFixture(t, nil)
	_, id := f.register("ann@example.com", "correct horse", "Ann")
	ann := idpUser{sub: "g-ann", email: "ANN@example.com", name: "Ann G.", verified: true}

	// Not verified: refused, and nothing linked.
	unverified := ann
	unverified.verified = false
	f.postIDToken(f.idp.sign(t, idpKeys()[0], f.idp.claims(unverified, nil))).want(t, http.StatusUnauthorized, "has not verified")
	if _, err := f.meta.UserByGoogleSubject(context.Background(), "g-ann"); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		t.Fatalf("an unverified email linked the account: %v", err)
	}

	r := f.postIDToken(f.idp.sign(t, idpKeys()[0], f.idp.claims(ann, nil)))
	r.want(t, http.StatusOK, "")
	token, gid := sessionOf(t, r)
	if gid != id || f.me(token) != id {
		t.Fatalf("Google sign-in gave user %s, want the password account %s", gid, id)
	}
	if u, err := f.meta.UserByGoogleSubject(context.Background(), "g-ann"); err != nil || u.ID != id {
		t.Fatalf("the account is not linked: %v %v", u, err)
	}
	f.do("POST", "/api/auth/login", "", credentialsJSON("ann@example.com", "correct horse", "")).want(t, http.StatusOK, "")

	other := ann
	other.sub = "g-someone-else"
	f.postIDToken(f.idp.sign(t, idpKeys()[0], f.idp.claims(other, nil))).want(t, http.StatusConflict, "linked to another Google account")
}

func TestGoogleCodeFlow(t *testing.T) {
	f := newGoogleFixture(t, nil)
	b := browser(t)

	// The start: a 302 to the provider with every parameter, and the flow's cookie.
	start := get(t, noFollow(b), f.srv.URL+"/api/auth/google/start?return_to=/apps/app_1?tab=links")
	loc, err := url.Parse(start.Header.Get("Location"))
	if start.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), f.idp.srv.URL+"/authorize?") {
		t.Fatalf("start: %d Location %q, want a 302 to the provider", start.StatusCode, start.Header.Get("Location"))
	}
	q := loc.Query()
	for k, want := range map[string]string{"client_id": idpClientID, "response_type": "code", "scope": "openid email profile",
		"redirect_uri": f.srv.URL + "/api/auth/google/callback", "code_challenge_method": "S256"} {
		if q.Get(k) != want {
			t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 20 {
			t.Errorf("authorization request %s = %q, want a random value", k, q.Get(k))
		}
	}
	cookies := start.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("start set cookies %v, want one", cookies)
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/api/auth/google" || c.MaxAge != 600 || c.Secure {
		t.Errorf("flow cookie %s: want HttpOnly, SameSite=Lax, Path=/api/auth/google, Max-Age=600, not Secure on http", start.Header.Get("Set-Cookie"))
	}

	// The whole flow: provider, callback that sets the session cookie, landing page with
	// where to go on to in the fragment.
	v := f.signIn(b, "?return_to=/apps/app_1?tab=links")
	token := f.session(b, v)
	if !tokenFormat.MatchString(token) || v.Get("error") != "" {
		t.Fatalf("landing fragment %v, session cookie %q, want a session", v, token)
	}
	if me := get(t, b, f.srv.URL+"/api/auth/me"); me.StatusCode != http.StatusOK {
		t.Errorf("GET /api/auth/me with the session cookie: %d, want 200", me.StatusCode)
	}
	if got := v.Get("return_to"); got != "/apps/app_1?tab=links" {
		t.Errorf("return_to = %q, want /apps/app_1?tab=links", got)
	}
	id := f.me(token)
	if u, err := f.meta.UserByGoogleSubject(context.Background(), "g-1001"); err != nil || u.ID != id || u.Email != "ann@example.com" {
		t.Fatalf("user of the Google subject: %v %v, want %s", u, err, id)
	}
	ex := f.idp.exchangesSeen()
	if len(ex) != 1 || !ex[0].ok {
		t.Fatalf("token endpoint saw %+v, want one exchange whose verifier matches the challenge", ex)
	}
	sum := sha256.Sum256([]byte(ex[0].verifier))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != ex[0].challenge || len(ex[0].verifier) < 43 {
		t.Errorf("verifier %q does not match challenge %q", ex[0].verifier, ex[0].challenge)
	}
	callback, _ := url.Parse(f.srv.URL + "/api/auth/google/callback")
	for _, c := range b.Jar.Cookies(callback) {
		if c.Name != api.SessionCookie && c.Name != api.CSRFCookie {
			t.Errorf("the flow's cookie %s is left after the callback", c.Name)
		}
	}

	// Again, in the same browser: the same user, a new session, no return_to.
	v = f.signIn(b, "")
	if token2 := f.session(b, v); token2 == token || f.me(token2) != id || v.Has("return_to") {
		t.Errorf("second sign-in: %v, want another token of user %s", v, id)
	}
}

// TestGoogleCallbackState refuses a callback whose state is not the browser's flow's, or
// without a flow: the browser lands on the error, and no code is exchanged.
func TestGoogleCallbackState(t *testing.T) {
	f := newGoogleFixture(t, nil)
	b := browser(t)
	start := get(t, noFollow(b), f.srv.URL+"/api/auth/google/start")
	if start.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", start.StatusCode)
	}
	v := landing(t, get(t, b, f.srv.URL+"/api/auth/google/callback?code=abc&state=wrong"))
	if !strings.Contains(v.Get("error"), "does not match") || v.Has("token") {
		t.Errorf("wrong state: %v, want an error", v)
	}
	// The flow is used up: its right state no longer works either.
	loc, _ := url.Parse(start.Header.Get("Location"))
	v = landing(t, get(t, b, f.srv.URL+"/api/auth/google/callback?code=abc&state="+loc.Query().Get("state")))
	if !strings.Contains(v.Get("error"), "expired or was started in another browser") {
		t.Errorf("used flow: %v, want an error", v)
	}
	// Another browser, without a flow.
	v = landing(t, get(t, browser(t), f.srv.URL+"/api/auth/google/callback?code=abc&state=x"))
	if !strings.Contains(v.Get("error"), "expired or was started in another browser") {
		t.Errorf("no flow: %v, want an error", v)
	}
	if ex := f.idp.exchangesSeen(); len(ex) != 0 {
		t.Errorf("codes were exchanged: %+v", ex)
	}
	f.wantNoUser("ann@example.com", "g-1001")
}

// TestGoogleCodeInjection replays a code from one browser's authorization request in
// another browser's flow, with that flow's state: the provider refuses the other flow's
// PKCE verifier, so no session is made.
func TestGoogleCodeInjection(t *testing.T) {
	f := newGoogleFixture(t, nil)
	attacker, victim := browser(t), browser(t)
	startA := get(t, noFollow(attacker), f.srv.URL+"/api/auth/google/start")
	startV := get(t, noFollow(victim), f.srv.URL+"/api/auth/google/start")
	authA, _ := url.Parse(startA.Header.Get("Location"))
	authV, _ := url.Parse(startV.Header.Get("Location"))
	q := authA.Query()
	q.Set("state", authV.Query().Get("state"))
	authA.RawQuery = q.Encode()

	v := landing(t, get(t, victim, authA.String()))
	if !strings.Contains(v.Get("error"), "did not accept the sign-in code") || v.Has("token") {
		t.Fatalf("injected code: %v, want an error", v)
	}
	ex := f.idp.exchangesSeen()
	if len(ex) != 1 || ex[0].ok || ex[0].challenge != authA.Query().Get("code_challenge") {
		t.Fatalf("token endpoint saw %+v, want one exchange refused for its verifier", ex)
	}
	f.wantNoUser("ann@example.com", "g-1001")
}

// TestGoogleCodeFlowErrors lands the browser on the error page, with a message for a
// person, when the provider or its ID token refuses the sign-in.
func TestGoogleCodeFlowErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(p *idp)
		msg  string
	}{
		{"AccessDenied", func(p *idp) { p.deny = true }, "was cancelled"},
		{"WrongNonce", func(p *idp) { p.wrongNonce = true }, "not issued for this sign-in"},
		{"EmailNotVerified", func(p *idp) { p.user.verified = false }, "has not verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newGoogleFixture(t, nil)
			f.idp.set(tc.set)
			b := browser(t)
			v := f.signIn(b, "?return_to=/apps")
			if !strings.Contains(v.Get("error"), tc.msg) || f.session(b, v) != "" || v.Has("return_to") {
				t.Errorf("landing fragment %v, want an error containing %q", v, tc.msg)
			}
			f.wantNoUser("ann@example.com", "g-1001")
		})
	}
}

// TestGoogleReturnTo keeps a return_to that is a path on this site and drops any other,
// which would make the sign-in an open redirect.
func TestGoogleReturnTo(t *testing.T) {
	f := newGoogleFixture(t, nil)
	for _, tc := range []struct{ returnTo, want string }{
		{"/apps/app_1", "/apps/app_1"},
		{"/reports?from=1&to=2#x", "/reports?from=1&to=2#x"},
		{"//evil.com", ""},
		{"//evil.com/apps", ""},
		{"https://evil.com", ""},
		{"https://evil.com/apps", ""},
		{"javascript:alert(1)", ""},
		{`/\evil.com`, ""},
		{"/\r\nSet-Cookie: x=1", ""},
		{"evil.com", ""},
		{"/" + strings.Repeat("a", 2000), ""},
	} {
		t.Run(tc.returnTo, func(t *testing.T) {
			b := browser(t)
			v := f.signIn(b, "?return_to="+url.QueryEscape(tc.returnTo))
			if f.session(b, v) == "" || v.Get("return_to") != tc.want || (tc.want == "" && v.Has("return_to")) {
				t.Errorf("landing fragment %v, want return_to %q", v, tc.want)
			}
		})
	}
}

// TestGoogleSecureCookie marks the flow's cookie Secure when the redirect URL is https.
func TestGoogleSecureCookie(t *testing.T) {
	f := newGoogleFixture(t, func(c *api.GoogleConfig) { c.RedirectURL = "https://dash.example.com/api/auth/google/callback" })
	start := get(t, noFollow(browser(t)), f.srv.URL+"/api/auth/google/start")
	if c := start.Cookies(); start.StatusCode != http.StatusFound || len(c) != 1 || !c[0].Secure {
		t.Errorf("start: %d %v, want a Secure cookie", start.StatusCode, start.Header.Values("Set-Cookie"))
	}
}

// TestGoogleNotConfigured answers 200 {"enabled":false} to GET /api/auth/google and 404 on
// every other Google route of a server without Google, and 404 on the code flow's routes
// of one without a client secret or redirect URL.
func TestGoogleNotConfigured(t *testing.T) {
	routes := []struct{ method, path, body string }{
		{"POST", "/api/auth/google", `{"id_token":"x"}`},
		{"GET", "/api/auth/google/start", ""},
		{"GET", "/api/auth/google/callback?code=x&state=y", ""},
	}
	off := newAuthFixture(t)
	if r := off.do("GET", "/api/auth/google", "", ""); r.status != http.StatusOK || r.body["enabled"] != false || len(r.body) != 1 {
		t.Errorf("GET /api/auth/google without Google: %d %q, want 200 {\"enabled\":false}", r.status, r.raw)
	}
	for _, r := range routes {
		off.do(r.method, r.path, "", r.body).want(t, http.StatusNotFound, "No such endpoint")
	}

	for _, change := range []func(c *api.GoogleConfig){
		func(c *api.GoogleConfig) { c.ClientSecret = "" },
		func(c *api.GoogleConfig) { c.RedirectURL = "" },
	} {
		f := newGoogleFixture(t, change)
		r := f.do("GET", "/api/auth/google", "", "")
		r.want(t, http.StatusOK, "")
		if _, ok := r.body["start_url"]; ok || r.body["client_id"] != idpClientID || r.body["enabled"] != true {
			t.Errorf("config without the code flow: %s, want the client id and no start_url", r.raw)
		}
		f.postIDToken("x").want(t, http.StatusUnauthorized, "")
		for _, r := range routes[1:] {
			f.do(r.method, r.path, "", r.body).want(t, http.StatusNotFound, "No such endpoint")
		}
	}

	f := newGoogleFixture(t, nil)
	r := f.do("GET", "/api/auth/google", "", "")
	r.want(t, http.StatusOK, "")
	if r.body["enabled"] != true || r.body["client_id"] != idpClientID || r.body["start_url"] != "/api/auth/google/start" {
		t.Errorf("config: %s", r.raw)
	}
}

// TestGoogleIssuerDown starts while the issuer is unreachable, answers 503 meanwhile,
// and signs in once it is back, without a restart.
func TestGoogleIssuerDown(t *testing.T) {
	f := newGoogleFixture(t, nil)
	f.idp.down.Store(true)
	idToken := f.idp.sign(t, idpKeys()[0], f.idp.claims(f.idp.user, nil))
	f.postIDToken(idToken).want(t, http.StatusServiceUnavailable, "cannot be reached")
	v := f.signIn(browser(t), "")
	if !strings.Contains(v.Get("error"), "cannot be reached") {
		t.Errorf("start while the issuer is down: %v, want an error", v)
	}
	f.do("GET", "/api/auth/google", "", "").want(t, http.StatusOK, "")

	f.idp.down.Store(false)
	f.postIDToken(idToken).want(t, http.StatusOK, "")
	f.idp.down.Store(true) // discovered once, kept
	if b := browser(t); f.session(b, f.signIn(b, "")) == "" {
		t.Errorf("code flow after discovery: no session cookie")
	}
}

// TestGoogleRateLimit refuses the 21st ID token a minute from one address.
func TestGoogleRateLimit(t *testing.T) {
	f := newGoogleFixture(t, nil)
	start := time.Now()
	for i := 0; ; i++ {
		r := f.postIDToken("not.a.jwt")
		if r.status == http.StatusTooManyRequests {
			r.want(t, http.StatusTooManyRequests, "Too many attempts")
			if i < 20 {
				t.Fatalf("attempt %d refused, want 20 allowed", i+1)
			}
			return
		}
		r.want(t, http.StatusUnauthorized, "invalid")
		if allowed := 20 + int(time.Since(start)/(3*time.Second)) + 1; i+1 > allowed {
			t.Fatalf("%d attempts allowed in %v", i+1, time.Since(start))
		}
	}
}
