package api

import (
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// DefaultAuthCacheTTL is how long the API listener believes what it read to authorize a
// request (Config.AuthCacheTTL's default).
const DefaultAuthCacheTTL = 5 * time.Second

// maxAuthCacheEntries bounds each of the auth cache's maps; a full map is emptied, and
// fills again from the store.
const maxAuthCacheEntries = 10000

// authCache remembers, for at most ttl, what authorizing a request reads from the
// metadata store: the user of a session token, the user and token of a personal access
// token, the app and role of a (user, app) pair, and the app of a server key. Only what
// was found is kept: a grant (a new member, a new session) takes effect at once; a
// revocation or a change takes effect at once in this process, which forgets everything
// on each change it makes (invalidate), and within ttl in other processes sharing the
// store (docs/teams.md, "Revocation").
//
// Values are copied out, so that a handler may change what it was given. A reader that
// loses a race with invalidate does not put what it read before the change: each put
// carries the generation its read started in.
type authCache struct {
	ttl time.Duration // 0: the cache is off

	mu       sync.RWMutex
	gen      uint64
	sessions map[string]entry[cachedSession] // by token hash
	tokens   map[string]entry[cachedToken]   // by token hash
	roles    map[roleKey]entry[cachedRole]
	keys     map[string]entry[unmogrowp.App] // by the server key's hash
}

type roleKey struct{ appID, userID string }

// entry is a value the cache believes until until.
type entry[V any] struct {
	v     V
	until time.Time
}

type cachedSession struct {
	user      unmogrowp.User
	sessionID string
}

type cachedToken struct {
	user  unmogrowp.User
	token unmogrowp.AccessToken
}

type cachedRole struct {
	app  unmogrowp.App
	role unmogrowp.Role
}

// newAuthCache returns a cache keeping entries for ttl; 0: off. Its maps are made once
// and only ever cleared, never replaced, so that get and put may be handed one outside mu.
func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, sessions: map[string]entry[cachedSession]{}, tokens: map[string]entry[cachedToken]{},
		roles: map[roleKey]entry[cachedRole]{}, keys: map[string]entry[unmogrowp.App]{}}
}

// invalidate forgets everything: called by every change this process makes to apps,
// members, sessions or tokens.
func (c *authCache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.sessions)
	clear(c.tokens)
	clear(c.roles)
	clear(c.keys)
	c.mu.Unlock()
}

// generation returns the current generation, to pass to a put after a store read.
func (c *authCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// cloneApp returns a copy of a that shares no slice with it.
func cloneApp(a unmogrowp.App) *unmogrowp.App {
	a.Settings = a.Settings.Clone()
	return &a
}

func (c *authCache) session(hash string, now time.Time) (*unmogrowp.User, string, bool) {
	e, ok := get(c, c.sessions, hash, now)
	if !ok {
		return nil, "", false
	}
	return &e.user, e.sessionID, true
}

func (c *authCache) putSession(gen uint64, hash string, u *unmogrowp.User, s *unmogrowp.Session, now time.Time) {
	put(c, gen, c.sessions, hash, cachedSession{user: *u, sessionID: s.ID}, now, s.ExpiresAt)
}

func (c *authCache) token(hash string, now time.Time) (*unmogrowp.User, *unmogrowp.AccessToken, bool) {
	e, ok := get(c, c.tokens, hash, now)
	if !ok {
		return nil, nil, false
	}
	return &e.user, &e.token, true
}

func (c *authCache) putToken(gen uint64, hash string, u *unmogrowp.User, t *unmogrowp.AccessToken, now time.Time) {
	put(c, gen, c.tokens, hash, cachedToken{user: *u, token: *t}, now, t.ExpiresAt)
}

func (c *authCache) role(appID, userID string, now time.Time) (*unmogrowp.App, unmogrowp.Role, bool) {
	e, ok := get(c, c.roles, roleKey{appID, userID}, now)
	if !ok {
		return nil, unmogrowp.RoleNone, false
	}
	return cloneApp(e.app), e.role, true
}

// putRole keeps a role found; RoleNone is not kept, so that a grant works at once.
func (c *authCache) putRole(gen uint64, app *unmogrowp.App, userID string, role unmogrowp.Role, now time.Time) {
	if role == unmogrowp.RoleNone {
		return
	}
	put(c, gen, c.roles, roleKey{app.ID, userID}, cachedRole{app: *cloneApp(*app), role: role}, now, time.Time{})
}

func (c *authCache) keyApp(hash string, now time.Time) (*unmogrowp.App, bool) {
	a, ok := get(c, c.keys, hash, now)
	if !ok {
		return nil, false
	}
	return cloneApp(a), true
}

func (c *authCache) putKeyApp(gen uint64, hash string, app *unmogrowp.App, now time.Time) {
	put(c, gen, c.keys, hash, *cloneApp(*app), now, time.Time{})
}

// get returns a copy of the value under k in m if the cache is on and it is still
// believed at now.
func get[K comparable, V any](c *authCache, m map[K]entry[V], k K, now time.Time) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.RLock()
	e, ok := m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return zero, false
	}
	return e.v, true
}

// put stores v under k in m, believed for ttl from now or until expires if that is earlier
// (zero: never expires), unless the cache is off or was invalidated since gen; a full map
// is emptied first.
func put[K comparable, V any](c *authCache, gen uint64, m map[K]entry[V], k K, v V, now, expires time.Time) {
	if c.ttl <= 0 {
		return
	}
	until := now.Add(c.ttl)
	if !expires.IsZero() && expires.Before(until) {
		until = expires
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(m) >= maxAuthCacheEntries {
		clear(m)
	}
	m[k] = entry[V]{v, until}
}
