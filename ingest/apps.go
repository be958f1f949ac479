package ingest

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/unmogrowp/unmogrowp"
)

// appCache keeps apps looked up by key for a short while, so the metadata store is not
// asked on every request; a rotated key or a changed setting takes effect within ttl, or
// at once when forget is told of it (Server.ForgetApp).
// It also holds each app's rate limiter, which must outlive cache entries.
type appCache struct {
	store unmogrowp.AppStore
	ttl   time.Duration
	now   func() time.Time

	mu       sync.Mutex
	byKey    map[cacheKey]cachedApp
	limiters map[string]*rate.Limiter
	gen      uint64 // counts forget calls: a lookup that raced one does not cache what it read
}

type cacheKey struct {
	key  string
	kind unmogrowp.KeyKind
}

type cachedApp struct {
	app     *unmogrowp.App
	err     error // a cached EUNAUTHORIZED, so floods of bad keys do not reach the store
	expires time.Time
}

func newAppCache(store unmogrowp.AppStore, ttl time.Duration, now func() time.Time) *appCache {
	return &appCache{store: store, ttl: ttl, now: now, byKey: map[cacheKey]cachedApp{}, limiters: map[string]*rate.Limiter{}}
}

// lookup returns the app that owns the key, from the cache or the store.
func (c *appCache) lookup(ctx context.Context, key string, kind unmogrowp.KeyKind) (*unmogrowp.App, error) {
	now := c.now()
	k := cacheKey{key, kind}
	c.mu.Lock()
	e, ok := c.byKey[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.app, e.err
	}
	app, err := c.store.AppByKey(ctx, key, kind)
	if err != nil && unmogrowp.ErrorCode(err) != unmogrowp.EUNAUTHORIZED {
		return nil, err // a store failure is not cached
	}
	c.mu.Lock()
	if c.gen != gen { // an app changed meanwhile: what was read may be its old key
		c.mu.Unlock()
		return app, err
	}
	if len(c.byKey) > 100_000 { // bound memory under a flood of distinct bad keys
		clear(c.byKey)
	}
	ttl := c.ttl
	if err != nil { // an unknown key may be an app created a moment ago: forget it sooner
		ttl = min(ttl, time.Second)
	}
	c.byKey[k] = cachedApp{app: app, err: err, expires: now.Add(ttl)}
	c.mu.Unlock()
	return app, err
}

// forget drops the app's cached keys, so that the next request with any of them asks the
// store: a rotated key stops working at once, a changed setting takes effect.
func (c *appCache) forget(appID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.byKey {
		if e.app != nil && e.app.ID == appID {
			delete(c.byKey, k)
		}
	}
}

// allow takes n events from the app's rate limit: a token bucket that refills at
// RateLimitPerSecond a second and holds at most as many (the burst is the limit, so an app
// limited to 10/s takes 10 at once after an idle spell, not more). It returns 0 when they
// may pass, or how long the caller should wait before trying again; n larger than the
// limit never passes (Server.allow refuses it before asking).
func (c *appCache) allow(app *unmogrowp.App, n int) time.Duration {
	perSecond := app.Settings.RateLimitPerSecond
	if perSecond <= 0 {
		return 0
	}
	burst := perSecond
	c.mu.Lock()
	lim, ok := c.limiters[app.ID]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(perSecond), burst)
		c.limiters[app.ID] = lim
	} else if lim.Limit() != rate.Limit(perSecond) {
		lim.SetLimit(rate.Limit(perSecond))
		lim.SetBurst(burst)
	}
	c.mu.Unlock()
	now := c.now()
	r := lim.ReserveN(now, n)
	if !r.OK() {
		return time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return time.Duration(math.Ceil(d.Seconds())) * time.Second
	}
	return 0
}
