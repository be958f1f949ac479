package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/internal/password"
)

// sessionTokenPrefix starts every session token, so that a leaked one is recognisable.
const sessionTokenPrefix = "ut_"

// sessionTokenLen is the length of a session token: the prefix and 32 random bytes in
// unpadded base64url.
var sessionTokenLen = len(sessionTokenPrefix) + base64.RawURLEncoding.EncodedLen(unmogrowp.SessionTokenBytes)

// accessTokenLen and invitationTokenLen are the lengths of a personal access token and an
// invitation token: their prefix and 32 random bytes in unpadded base64url (newToken).
var (
	accessTokenLen     = len(unmogrowp.AccessTokenPrefix) + base64.RawURLEncoding.EncodedLen(unmogrowp.SessionTokenBytes)
	invitationTokenLen = len(unmogrowp.InvitationTokenPrefix) + base64.RawURLEncoding.EncodedLen(unmogrowp.SessionTokenBytes)
	resetTokenLen      = len(unmogrowp.PasswordResetTokenPrefix) + base64.RawURLEncoding.EncodedLen(unmogrowp.SessionTokenBytes)
)

// Rate limits of the account routes: login attempts per email and per client address,
// successful ones included (a token bucket cannot give one back once it is spent), and
// registrations per client address, since each costs an argon2id hash.
const (
	loginsPerEmail    = 5
	loginsPerIP       = 20
	registersPerIP    = 20
	rateLimitInterval = time.Minute
)

// errWrongLogin is the one answer to a wrong email or a wrong password, so that login does
// not tell which emails have accounts.
func errWrongLogin() error {
	return unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Wrong email or password.")
}

// auth serves the account routes: the server and the rate limiters of its logins.
type auth struct {
	s                         *Server
	loginEmail, loginIP, regs *keyedLimiter
	resetIP, resetEmail       *keyedLimiter // password-reset requests and confirmations
}

// authRoutes registers the account routes (API.md, "Accounts") on mux.
func (s *Server) authRoutes(mux *routeMux) {
	a := &auth{
		s:          s,
		loginEmail: newKeyedLimiter(loginsPerEmail, rateLimitInterval),
		loginIP:    newKeyedLimiter(loginsPerIP, rateLimitInterval),
		regs:       newKeyedLimiter(registersPerIP, rateLimitInterval),
		resetIP:    newKeyedLimiter(resetsPerIP, rateLimitInterval),
		resetEmail: newKeyedLimiter(resetsPerEmail, rateLimitInterval),
	}
	mux.Handle("POST /api/auth/register", s.sameOrigin(a.handleRegister))
	mux.Handle("POST /api/auth/login", s.sameOrigin(a.handleLogin))
	mux.Handle("POST /api/auth/logout", httpserve.HandlerFunc(a.handleLogout))
	mux.Handle("GET /api/auth/me", httpserve.HandlerFunc(a.handleMe))
	mux.Handle("GET /api/auth/config", httpserve.HandlerFunc(a.handleAuthConfig))
	mux.Handle("POST /api/auth/password-reset", httpserve.HandlerFunc(a.handlePasswordReset))
	mux.Handle("POST /api/auth/password-reset/confirm", s.sameOrigin(a.handleConfirmPasswordReset))
	a.googleRoutes(mux)
}

// userJSON is a user as the API shows it.
type userJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func newUserJSON(u *unmogrowp.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name}
}

// sessionJSON is the answer of register and login.
type sessionJSON struct {
	Token string   `json:"token"`
	User  userJSON `json:"user"`
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	// Invitation, on register, is an invitation token that the new user redeems at once:
	// required when sign-up is by invitation only.
	Invitation string `json:"invitation"`
	// Code and RecoveryCode, on login, are the second factor of a user with two-factor
	// sign-in: a TOTP code, or one of their recovery codes.
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
}

func (a *auth) handleRegister(w http.ResponseWriter, r *http.Request) error {
	users, err := a.s.users()
	if err != nil {
		return err
	}
	if err := a.allow(a.regs, a.s.clientIP(r)); err != nil {
		return err
	}
	var req credentials
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	u := &unmogrowp.User{Email: req.Email, Name: req.Name}
	if err := u.Validate(); err != nil {
		return err
	}
	if err := unmogrowp.ValidatePassword(req.Password); err != nil {
		return err
	}
	invitation, err := a.s.checkSignup(r.Context(), req.Invitation)
	if err != nil {
		return err
	}
	hash, err := password.Hash(req.Password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := users.CreateUser(r.Context(), u, hash); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if invitation == "" {
		return a.startSession(w, r, users, u, http.StatusCreated)
	}
	// The invitation was valid a moment ago; if another holder redeemed it since, the
	// account stays, without the app, and the answer says so.
	m, err := a.s.cfg.Teams.AcceptInvitation(r.Context(), invitation, u.ID, time.Now())
	if err != nil && unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		return fmt.Errorf("accept invitation: %w", err)
	}
	token, err := newSession(r.Context(), users, u, r, a.s.clientIP(r))
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	out := struct {
		sessionJSON
		AcceptedAppID string `json:"accepted_app_id,omitempty"`
	}{sessionJSON: sessionJSON{Token: token, User: newUserJSON(u)}}
	if m != nil {
		out.AcceptedAppID = m.AppID
		a.s.auth.invalidate()
		rr := r.WithContext(context.WithValue(r.Context(), callerKey{}, &caller{user: u, role: m.Role}))
		a.s.audit(rr, m.AppID, "invitation.accept", u.ID, map[string]any{"email": u.Email, "role": m.Role})
	}
	setSessionCookies(w, token, secureRequest(r))
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, http.StatusCreated, out)
	return nil
}

func (a *auth) handleLogin(w http.ResponseWriter, r *http.Request) error {
	users, err := a.s.users()
	if err != nil {
		return err
	}
	if err := a.allow(a.loginIP, a.s.clientIP(r)); err != nil {
		return err
	}
	var req credentials
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Email) == "" || req.Password == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "email and password are required.")
	}
	if len(req.Password) > 4*unmogrowp.MaxPasswordLen {
		return errWrongLogin() // no password that long was ever accepted
	}
	email, err := unmogrowp.NormalizeEmail(req.Email)
	if err != nil {
		email = strings.ToLower(strings.TrimSpace(req.Email)) // limited all the same
	}
	if err := a.allow(a.loginEmail, email); err != nil {
		return err
	}

	// An unknown email is checked against a dummy hash (Verify with ""), so that the
	// answer takes as long as for a known one and says the same.
	u, hash, err := users.UserByEmail(r.Context(), email)
	if err != nil && unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		return fmt.Errorf("login: %w", err)
	}
	switch err := password.Verify(req.Password, hash); {
	case errors.Is(err, password.ErrMismatch):
		return errWrongLogin()
	case err != nil:
		return fmt.Errorf("login: %w", err)
	}
	if err := a.checkSecondFactor(w, r, u, req.Code, req.RecoveryCode); errors.Is(err, errAnswered) {
		return nil
	} else if err != nil {
		return err
	}
	return a.startSession(w, r, users, u, http.StatusOK)
}

// handleLogout revokes the request's session, and deletes the session cookies when it was
// signed in by them, whether or not the session was still valid.
func (a *auth) handleLogout(w http.ResponseWriter, r *http.Request) error {
	token, fromCookie, err := a.s.requestToken(r)
	if fromCookie && unmogrowp.ErrorCode(err) != unmogrowp.EFORBIDDEN {
		setSessionCookies(w, "", secureRequest(r))
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if !fromCookie && strings.HasPrefix(token, unmogrowp.AccessTokenPrefix) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A personal access token is not signed out: revoke it with DELETE /api/auth/tokens/{id}.")
	}
	if _, _, err := a.s.userBySession(r, token); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if err := a.s.cfg.Users.RevokeSession(r.Context(), unmogrowp.HashSessionToken(token)); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	a.s.auth.invalidate()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *auth) handleMe(w http.ResponseWriter, r *http.Request) error {
	u, err := a.s.currentUser(r)
	if err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, http.StatusOK, map[string]any{"user": newUserJSON(u)})
	return nil
}

// startSession makes a session for the user and answers its token and the user, and sets
// the session cookies of the token for a browser (session.go).
func (a *auth) startSession(w http.ResponseWriter, r *http.Request, users unmogrowp.UserStore, u *unmogrowp.User, status int) error {
	token, err := newSession(r.Context(), users, u, r, a.s.clientIP(r))
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	setSessionCookies(w, token, secureRequest(r))
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, status, sessionJSON{Token: token, User: newUserJSON(u)})
	return nil
}

// newSession stores a new session of the user, signed in by the request r from the
// address ip, and returns its token.
func newSession(ctx context.Context, users unmogrowp.UserStore, u *unmogrowp.User, r *http.Request, ip string) (string, error) {
	token, err := newSessionToken()
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	if err := users.CreateSession(ctx, &unmogrowp.Session{
		TokenHash: unmogrowp.HashSessionToken(token),
		UserID:    u.ID,
		CreatedAt: now,
		ExpiresAt: now.Add(unmogrowp.SessionLifetime),
		UserAgent: r.UserAgent(),
		IP:        ip,
	}); err != nil {
		return "", err
	}
	return token, nil
}

// allow takes one attempt from the key's limiter, or returns an ERATELIMIT error with its
// Retry-After.
func (a *auth) allow(l *keyedLimiter, key string) error {
	if wait := l.take(key, time.Now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		return httpserve.RetryAfter(unmogrowp.Errorf(unmogrowp.ERATELIMIT, "Too many attempts; try again in %d seconds.", secs), secs)
	}
	return nil
}

// caller is who sends a request: a signed-in user, by a session or a personal access
// token, or an app's server key; and, once authorizeApp let it through, its role on the
// route's app.
type caller struct {
	user      *unmogrowp.User        // nil for the server key
	token     *unmogrowp.AccessToken // the personal access token; nil for a session or the server key
	sessionID string                 // the session's id (Session.ID) when signed in by a session
	role      unmogrowp.Role         // on the app of an app route; RoleNone elsewhere
}

// via says how the caller signed in, as the audit log records it.
func (c *caller) via() string {
	switch {
	case c.user == nil:
		return "server_key"
	case c.token != nil:
		return "token"
	}
	return "session"
}

// callerKey is the request context's key of the *caller of an app route.
type callerKey struct{}

// callerOf returns the caller that authorizeApp let through, which s.app puts in the
// request's context; nil outside an app route.
func callerOf(r *http.Request) *caller {
	c, _ := r.Context().Value(callerKey{}).(*caller)
	return c
}

// currentUser returns the signed-in user of the request (currentCaller).
func (s *Server) currentUser(r *http.Request) (*unmogrowp.User, error) {
	c, err := s.currentCaller(r)
	if err != nil {
		return nil, err
	}
	return c.user, nil
}

// currentCaller returns the signed-in caller of the request, from its
// "Authorization: Bearer <token>" header, with a session token or a personal access token
// (AccessTokenPrefix), or, without the header, its session cookie (session.go). It returns
// EUNAUTHORIZED, with a message that says what to do, when both are missing, the header
// is malformed, or the token is unknown, expired or revoked; and EFORBIDDEN for a cookie
// request that fails the CSRF check, or a read-only token on a method other than GET or
// HEAD, whatever the route.
func (s *Server) currentCaller(r *http.Request) (*caller, error) {
	token, fromCookie, err := s.requestToken(r)
	if err != nil {
		return nil, err
	}
	if fromCookie || !strings.HasPrefix(token, unmogrowp.AccessTokenPrefix) {
		u, sessionID, err := s.userBySession(r, token)
		if err != nil {
			return nil, err
		}
		return &caller{user: u, sessionID: sessionID}, nil
	}
	if s.cfg.Teams == nil || len(token) != accessTokenLen {
		return nil, errBadAccessToken()
	}
	hash, now := unmogrowp.HashSessionToken(token), time.Now()
	u, t, ok := s.auth.token(hash, now)
	if !ok {
		gen := s.auth.generation()
		var err error
		u, t, err = s.cfg.Teams.UserByAccessToken(r.Context(), hash, now)
		if unmogrowp.ErrorCode(err) == unmogrowp.EUNAUTHORIZED {
			return nil, errBadAccessToken()
		}
		if err != nil {
			return nil, err
		}
		s.auth.putToken(gen, hash, u, t, now)
	}
	if t.Scope != unmogrowp.ScopeWrite && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "This access token is read-only: it may only GET; use a token with the write scope.")
	}
	return &caller{user: u, token: t}, nil
}

// userBySession returns the user of the session token and the session's id. It returns
// EUNAUTHORIZED when the token is malformed, unknown, expired or revoked.
func (s *Server) userBySession(r *http.Request, token string) (*unmogrowp.User, string, error) {
	users, err := s.users()
	if err != nil {
		return nil, "", err
	}
	if len(token) != sessionTokenLen || !strings.HasPrefix(token, sessionTokenPrefix) {
		return nil, "", errBadToken()
	}
	hash, now := unmogrowp.HashSessionToken(token), time.Now()
	if u, id, ok := s.auth.session(hash, now); ok {
		return u, id, nil
	}
	gen := s.auth.generation()
	u, sess, err := users.UserBySession(r.Context(), hash, now)
	if unmogrowp.ErrorCode(err) == unmogrowp.EUNAUTHORIZED {
		return nil, "", errBadToken()
	}
	if err != nil {
		return nil, "", err
	}
	s.auth.putSession(gen, hash, u, sess, now)
	return u, sess.ID, nil
}

// users returns the user store, or EUNAVAILABLE if the server was started without one.
func (s *Server) users() (unmogrowp.UserStore, error) {
	if s.cfg.Users == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Accounts are not enabled on this server.")
	}
	return s.cfg.Users, nil
}

// bearerToken returns the token of the request's "Authorization: Bearer" header, or
// EUNAUTHORIZED if there is none.
func bearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED,
			"Sign in first: send the token from POST /api/auth/login as Authorization: Bearer <token>.")
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The Authorization header must be \"Bearer <token>\".")
	}
	return token, nil
}

func errBadAccessToken() error {
	return unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The access token is invalid, expired or revoked.")
}

func errBadToken() error {
	return unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The session token is invalid, expired or signed out; sign in again.")
}

// newSessionToken returns "ut_" and 32 random bytes in unpadded base64url.
func newSessionToken() (string, error) { return newToken(sessionTokenPrefix) }

// newToken returns prefix and 32 random bytes in unpadded base64url: a session,
// personal access or invitation token, which only its SHA-256 is stored of.
func newToken(prefix string) (string, error) {
	b := make([]byte, unmogrowp.SessionTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// clientIP is the address that sent r, believing X-Forwarded-For from trusted proxies
// only: the key of the per-address rate limits.
func (s *Server) clientIP(r *http.Request) string {
	return httpserve.ClientIP(r, s.cfg.TrustedProxies)
}

// keyedLimiter is one token bucket per key (an email, an address), each allowing burst
// events and refilling one every interval/burst. Buckets that are full again are dropped
// now and then, since a fresh one is the same, so memory stays bounded by the keys seen
// in about one interval.
type keyedLimiter struct {
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	interval  time.Duration
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

func newKeyedLimiter(perInterval int, interval time.Duration) *keyedLimiter {
	return &keyedLimiter{
		limit:    rate.Every(interval / time.Duration(perInterval)),
		burst:    perInterval,
		interval: interval,
		buckets:  map[string]*rate.Limiter{},
	}
}

// take takes one event from the key's bucket at now and returns 0, or, if the bucket is
// empty, takes nothing and returns how long until it is not.
func (l *keyedLimiter) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= l.interval {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // not yet acted on, so its token goes back
		return d
	}
	return 0
}
