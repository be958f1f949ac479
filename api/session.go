package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// The browser session (API.md, section 2: "The browser dashboard may use an HttpOnly
// session cookie instead (then with CSRF protection)"). Register, login and Google sign-in
// set two cookies beside the token they answer:
//
//   - SessionCookie: the session token itself, HttpOnly, so that no script of the page can
//     read it, unlike a token kept in localStorage;
//   - CSRFCookie: a token derived from the session token (csrfToken), readable by the
//     dashboard's script, which echoes it in the CSRFHeader of every request that changes
//     something.
//
// Both are SameSite=Strict, Path=/, and Secure when the browser reaches the listener over
// https (TLS here, or X-Forwarded-Proto: https from a proxy in front). Strict rather than
// Lax costs the dashboard nothing: its pages are static files that need no cookie, and
// every call that does is a same-origin fetch from those pages, so a link from another
// site still opens the dashboard signed in.
//
// A request with an Authorization header is a bearer request and is treated exactly as
// without cookies (scripts); the cookie is read only when there is no such header. A
// cookie-authenticated request whose method is not GET, HEAD or OPTIONS must come from
// the same origin (Sec-Fetch-Site, else Origin, as http.CrossOriginProtection checks) and
// carry the CSRF header matching its session, or it is refused with 403 and changes
// nothing.
const (
	SessionCookie = "unmogrowp_session"
	CSRFCookie    = "unmogrowp_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// csrfToken is the CSRF token of a session: HMAC-SHA256 keyed with the session token, in
// unpadded base64url. Only who holds the session token can compute it, and it tells
// nothing of the token, nor matches the hash the store keeps. Bound to the session, a CSRF
// cookie planted by a sibling subdomain is of no use without the session it belongs to.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("unmogrowp csrf token"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// secureRequest reports whether the browser reached the listener over https: TLS on this
// connection, or a proxy in front saying so in X-Forwarded-Proto. Believing the header from
// anyone is safe here: it can only add the Secure attribute, which a client that lies
// about it over plain http only denies itself.
func secureRequest(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// setSessionCookies sets the session and CSRF cookies of the session token, for the
// session's lifetime; with token "" it deletes them.
func setSessionCookies(w http.ResponseWriter, token string, secure bool) {
	maxAge, csrf := int(unmogrowp.SessionLifetime.Seconds()), ""
	if token == "" {
		maxAge = -1
	} else {
		csrf = csrfToken(token)
	}
	for _, c := range []*http.Cookie{
		{Name: SessionCookie, Value: token, HttpOnly: true},
		{Name: CSRFCookie, Value: csrf},
	} {
		c.Path, c.MaxAge, c.Secure, c.SameSite = "/", maxAge, secure, http.SameSiteStrictMode
		http.SetCookie(w, c)
	}
}

// requestToken returns the session token of the request and whether it came from the
// session cookie: the bearer token when there is an Authorization header; else the
// session cookie's, checked against cross-site requests (checkCSRF). It returns
// EUNAUTHORIZED, saying what to do, for a malformed header or when there is neither, and
// EFORBIDDEN for a cookie request that fails the CSRF check.
func (s *Server) requestToken(r *http.Request) (token string, fromCookie bool, err error) {
	if r.Header.Get("Authorization") == "" {
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			if err := s.checkCSRF(r, c.Value); err != nil {
				return "", true, err
			}
			return c.Value, true, nil
		}
	}
	token, err = bearerToken(r)
	return token, false, err
}

// checkCSRF lets a request authenticated by the session cookie through if its method is
// safe (GET, HEAD, OPTIONS), or if it comes from the dashboard's own origin and carries
// the session's CSRF token in the CSRFHeader. It returns EFORBIDDEN otherwise.
func (s *Server) checkCSRF(r *http.Request, sessionToken string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := s.crossOrigin.Check(r); err != nil {
		return unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Cross-site requests are refused: this request came from another site than the dashboard.")
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || !hmac.Equal([]byte(got), []byte(csrfToken(sessionToken))) {
		return unmogrowp.Errorf(unmogrowp.EFORBIDDEN,
			"A request signed in by the session cookie must carry the %s header with the value of the %s cookie.", CSRFHeader, CSRFCookie)
	}
	return nil
}

// sameOrigin wraps the routes that start a session (register, login, Google's ID token):
// a browser may call them only from the dashboard's own origin, so that another site
// cannot sign a visitor in to an account of its choosing (login CSRF). Scripts, which send
// neither Sec-Fetch-Site nor Origin, are not affected.
func (s *Server) sameOrigin(h httpserve.HandlerFunc) httpserve.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.crossOrigin.Check(r); err != nil {
			return unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Cross-site sign-in is refused: sign in from the dashboard itself.")
		}
		return h(w, r)
	}
}
