package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	json "github.com/goccy/go-json"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// GoogleConfig configures sign-in with Google, or with any OpenID Connect provider at
// IssuerURL. ClientID alone enables POST /api/auth/google (ID tokens from Google Identity
// Services); the authorization-code flow of /api/auth/google/start and /callback also
// needs ClientSecret and RedirectURL.
type GoogleConfig struct {
	ClientID     string // the OAuth client id: the audience of the ID tokens
	ClientSecret string // the OAuth client secret, for the code flow
	IssuerURL    string // the provider's issuer; "" means https://accounts.google.com
	// RedirectURL is this listener's /api/auth/google/callback as the browser reaches it
	// (https://dash.example.com/api/auth/google/callback), registered with the provider.
	RedirectURL string
	// HTTPClient fetches the provider's discovery document and keys and exchanges codes;
	// nil means a client with a 10-second timeout.
	HTTPClient *http.Client
}

// DefaultGoogleIssuer is the issuer of Google accounts, GoogleConfig.IssuerURL's default.
const DefaultGoogleIssuer = "https://accounts.google.com"

// Routes and timing of the sign-in with Google.
const (
	googleStartPath   = "/api/auth/google/start"
	googleCookie      = "unmogrowp_google_flow"
	googleCookiePath  = "/api/auth/google"
	googleFlowMaxAge  = 10 * time.Minute
	googleHTTPTimeout = 10 * time.Second
	// googleLandingPath is the dashboard's page that reads the outcome of the code flow
	// from the URL's fragment (#return_to=... or #error=...), which never reaches a server;
	// the session itself is in the cookies the callback sets, never in a URL.
	googleLandingPath = "/auth/google"
	maxReturnToLen    = 1024
)

// google serves the sign-in with Google routes.
type google struct {
	a        *auth
	cfg      GoogleConfig
	codeFlow bool // ClientSecret and RedirectURL are set
	client   *http.Client
	perIP    *keyedLimiter

	discovered atomic.Pointer[discovery] // nil until discovery succeeds
	discover   singleflight.Group        // one discovery at a time, shared by the requests waiting on it
}

// discovery is what the provider's discovery document gave: its endpoints, and a
// verifier of its ID tokens that fetches and caches its keys.
type discovery struct {
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// googleRoutes registers the sign-in with Google routes on mux, if it is configured.
// Without it, only GET /api/auth/google is, answering 200 {"enabled":false} so that the
// sign-in page learns it without an error; the others fall through to the JSON 404 of
// unknown routes.
func (a *auth) googleRoutes(mux *routeMux) {
	cfg := a.s.cfg.Google
	if cfg == nil || cfg.ClientID == "" {
		mux.Handle("GET /api/auth/google", httpserve.HandlerFunc(handleGoogleDisabled))
		return
	}
	g := &google{
		a:        a,
		cfg:      *cfg,
		codeFlow: cfg.ClientSecret != "" && cfg.RedirectURL != "",
		client:   cfg.HTTPClient,
		perIP:    newKeyedLimiter(loginsPerIP, rateLimitInterval),
	}
	if g.cfg.IssuerURL == "" {
		g.cfg.IssuerURL = DefaultGoogleIssuer
	}
	if g.client == nil {
		g.client = &http.Client{Timeout: googleHTTPTimeout}
	}
	mux.Handle("GET /api/auth/google", httpserve.HandlerFunc(g.handleConfig))
	mux.Handle("POST /api/auth/google", a.s.sameOrigin(g.handleIDToken))
	if g.codeFlow {
		mux.HandleFunc("GET "+googleStartPath, g.handleStart)
		mux.HandleFunc("GET /api/auth/google/callback", g.handleCallback)
	}
}

// handleGoogleDisabled answers GET /api/auth/google of a server without sign-in with
// Google: 200 {"enabled":false}.
func handleGoogleDisabled(w http.ResponseWriter, r *http.Request) error {
	httpserve.JSON(w, http.StatusOK, map[string]bool{"enabled": false})
	return nil
}

// handleConfig tells the dashboard that Google sign-in is on ("enabled":true), the client
// id for Google Identity Services, and where the code flow starts if it is configured.
func (g *google) handleConfig(w http.ResponseWriter, r *http.Request) error {
	out := struct {
		Enabled  bool   `json:"enabled"`
		ClientID string `json:"client_id"`
		StartURL string `json:"start_url,omitempty"`
	}{Enabled: true, ClientID: g.cfg.ClientID}
	if g.codeFlow {
		out.StartURL = googleStartPath
	}
	httpserve.JSON(w, http.StatusOK, out)
	return nil
}

// handleIDToken signs in with an ID token from Google Identity Services.
func (g *google) handleIDToken(w http.ResponseWriter, r *http.Request) error {
	users, err := g.a.s.users()
	if err != nil {
		return err
	}
	if err := g.a.allow(g.perIP, g.a.s.clientIP(r)); err != nil {
		return err
	}
	var req struct {
		IDToken string `json:"id_token"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.IDToken) == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "id_token is required: the credential that Google Identity Services returned.")
	}
	id, err := g.identity(r.Context(), req.IDToken, "")
	if err != nil {
		return fmt.Errorf("google sign-in: %w", err)
	}
	if err := g.a.s.googleSignupAllowed(r.Context(), users, id); err != nil {
		return fmt.Errorf("google sign-in: %w", err)
	}
	u, _, err := users.GoogleUser(r.Context(), id)
	if err != nil {
		return fmt.Errorf("google sign-in: %w", err)
	}
	return g.a.startSession(w, r, users, u, http.StatusOK)
}

// flow is what the code flow keeps in its cookie between start and callback.
type flow struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"` // the PKCE code verifier
	ReturnTo string `json:"return_to,omitempty"`
}

// handleStart starts the code flow: it keeps a new state, nonce and PKCE verifier in a
// short-lived cookie and sends the browser to the provider.
func (g *google) handleStart(w http.ResponseWriter, r *http.Request) {
	d, err := g.discovery(r.Context())
	if err != nil {
		g.landing(w, r, "", err)
		return
	}
	f := flow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: localPath(r.URL.Query().Get("return_to"))}
	b, _ := json.Marshal(f)
	g.setCookie(w, r, base64.RawURLEncoding.EncodeToString(b), int(googleFlowMaxAge/time.Second))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, g.oauth2(d).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
}

// handleCallback ends the code flow: the provider sent the browser back with a code, or
// an error. Either way the browser goes on to the dashboard's landing page, signed in by
// the session cookies (session.go) or with the error in the URL's fragment.
func (g *google) handleCallback(w http.ResponseWriter, r *http.Request) {
	f, ok := g.readCookie(r)
	g.setCookie(w, r, "", -1) // a flow is used once, whatever its outcome
	token, err := g.callback(r, f, ok)
	if err == nil {
		setSessionCookies(w, token, g.secure(r))
	}
	g.landing(w, r, f.ReturnTo, err)
}

// callback checks the callback's state against the flow's, exchanges the code with the
// flow's PKCE verifier, verifies the ID token and returns a new session's token.
func (g *google) callback(r *http.Request, f flow, ok bool) (string, error) {
	q := r.URL.Query()
	switch {
	case !ok:
		return "", unmogrowp.Errorf(unmogrowp.EINVALID, "The sign-in with Google expired or was started in another browser; try again.")
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1:
		return "", unmogrowp.Errorf(unmogrowp.EINVALID, "The sign-in with Google does not match the one this browser started; try again.")
	case q.Get("error") == "access_denied":
		return "", unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The sign-in with Google was cancelled.")
	case q.Get("error") != "":
		g.a.s.cfg.Logger.Warn("google sign-in: the provider answered an error", "error", q.Get("error"), "description", q.Get("error_description"))
		return "", unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Google refused the sign-in; try again.")
	case q.Get("code") == "":
		return "", unmogrowp.Errorf(unmogrowp.EINVALID, "The provider sent no authorization code; try again.")
	}
	users, err := g.a.s.users()
	if err != nil {
		return "", err
	}
	if wait := g.perIP.take(g.a.s.clientIP(r), time.Now()); wait > 0 {
		return "", unmogrowp.Errorf(unmogrowp.ERATELIMIT, "Too many sign-in attempts; try again in a minute.")
	}
	d, err := g.discovery(r.Context())
	if err != nil {
		return "", err
	}
	tok, err := g.oauth2(d).Exchange(oidc.ClientContext(r.Context(), g.client), q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		g.a.s.cfg.Logger.Warn("google sign-in: code exchange failed", "err", err)
		return "", unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Google did not accept the sign-in code; try again.")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		g.a.s.cfg.Logger.Warn("google sign-in: the token response has no id_token")
		return "", unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Google sent no ID token; try again.")
	}
	id, err := g.identity(r.Context(), raw, f.Nonce)
	if err != nil {
		return "", err
	}
	if err := g.a.s.googleSignupAllowed(r.Context(), users, id); err != nil {
		return "", err
	}
	u, _, err := users.GoogleUser(r.Context(), id)
	if err != nil {
		return "", err
	}
	return newSession(r.Context(), users, u, r, g.a.s.clientIP(r))
}

// landing sends the browser to the dashboard's landing page: with the local path to go on
// to, or with err's message, logging an internal error once.
func (g *google) landing(w http.ResponseWriter, r *http.Request, returnTo string, err error) {
	var frag string
	if err != nil {
		if unmogrowp.ErrorCode(err) == unmogrowp.EINTERNAL {
			g.a.s.cfg.Logger.Error("google sign-in", "err", err)
		}
		frag = "error=" + url.QueryEscape(unmogrowp.ErrorMessage(err))
	} else if returnTo != "" {
		frag = "return_to=" + url.QueryEscape(returnTo)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the callback's URL holds the code
	h.Set("Location", googleLandingPath+"#"+frag)
	w.WriteHeader(http.StatusSeeOther)
}

// identity verifies an ID token (signature against the issuer's keys, issuer, audience,
// expiry and, unless nonce is "", the nonce) and returns the identity it asserts. It
// returns EUNAVAILABLE while the issuer cannot be reached, EUNAUTHORIZED for a token that
// fails a check or whose email Google has not verified.
func (g *google) identity(ctx context.Context, raw, nonce string) (unmogrowp.GoogleIdentity, error) {
	d, err := g.discovery(ctx)
	if err != nil {
		return unmogrowp.GoogleIdentity{}, err
	}
	tok, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		g.a.s.cfg.Logger.Info("google sign-in: ID token refused", "err", err)
		if _, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
			return unmogrowp.GoogleIdentity{}, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The Google ID token has expired; sign in again.")
		}
		return unmogrowp.GoogleIdentity{}, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED,
			"The Google ID token is invalid: it was not signed by the configured provider for this server's client id.")
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
		return unmogrowp.GoogleIdentity{}, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The Google ID token was not issued for this sign-in; try again.")
	}
	var c struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"` // a boolean, or "true" from some providers
		Name          string `json:"name"`
	}
	if err := tok.Claims(&c); err != nil {
		return unmogrowp.GoogleIdentity{}, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The Google ID token's claims cannot be read.")
	}
	switch {
	case c.Email == "":
		return unmogrowp.GoogleIdentity{}, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The Google account shared no email address; allow it and sign in again.")
	case c.EmailVerified != true && c.EmailVerified != "true":
		return unmogrowp.GoogleIdentity{}, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED,
			"Google has not verified this account's email address; verify it with Google, then sign in again.")
	}
	return unmogrowp.GoogleIdentity{Subject: tok.Subject, Email: c.Email, EmailVerified: true, Name: c.Name}, nil
}

// discovery returns the provider's discovery, fetching it on first use: the server starts
// while the issuer is unreachable, and tries again on a later request. It returns
// EUNAVAILABLE while the issuer cannot be reached.
func (g *google) discovery(ctx context.Context) (*discovery, error) {
	if d := g.discovered.Load(); d != nil {
		return d, nil
	}
	ch := g.discover.DoChan("", func() (any, error) {
		if d := g.discovered.Load(); d != nil {
			return d, nil
		}
		// Not the request's context: requests that arrive meanwhile share this attempt.
		ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), g.client), googleHTTPTimeout)
		defer cancel()
		p, err := oidc.NewProvider(ctx, g.cfg.IssuerURL)
		if err != nil {
			g.a.s.cfg.Logger.Warn("google sign-in: discovery failed", "issuer", g.cfg.IssuerURL, "err", err)
			return nil, err
		}
		d := &discovery{provider: p, verifier: p.Verifier(&oidc.Config{ClientID: g.cfg.ClientID})}
		g.discovered.Store(d)
		return d, nil
	})
	select {
	case res := <-ch:
		if res.Err == nil {
			return res.Val.(*discovery), nil
		}
	case <-ctx.Done():
	}
	return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Sign-in with Google is unavailable: %s cannot be reached; try again in a minute.", g.cfg.IssuerURL)
}

// oauth2 is the code flow's OAuth client, with the discovered endpoints.
func (g *google) oauth2(d *discovery) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     g.cfg.ClientID,
		ClientSecret: g.cfg.ClientSecret,
		Endpoint:     d.provider.Endpoint(),
		RedirectURL:  g.cfg.RedirectURL,
		Scopes:       []string{"openid", "email", "profile"},
	}
}

// setCookie sets the flow's cookie to value for maxAge seconds, or deletes it if maxAge is
// negative.
func (g *google) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: googleCookie, Value: value, Path: googleCookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: g.secure(r),
	})
}

// secure reports whether the code flow's cookies are to be Secure: when the browser
// reaches the listener over https, as the redirect URL registered with the provider also
// says.
func (g *google) secure(r *http.Request) bool {
	return secureRequest(r) || strings.HasPrefix(strings.ToLower(g.cfg.RedirectURL), "https:")
}

// readCookie returns the flow of the request's cookie, and false if there is none or it
// is malformed.
func (g *google) readCookie(r *http.Request) (flow, bool) {
	var f flow
	c, err := r.Cookie(googleCookie)
	if err != nil {
		return f, false
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || json.Unmarshal(b, &f) != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return flow{}, false
	}
	f.ReturnTo = localPath(f.ReturnTo)
	return f, true
}

// localPath returns p if it is a path on this site ("/apps/1?tab=links"), and "" for
// anything a browser could take to another site: "//evil.com", "/\evil.com",
// "https://evil.com", or a relative path.
func localPath(p string) string {
	if len(p) > maxReturnToLen || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, `\`) {
		return ""
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return ""
		}
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return p
}
