package ingest

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/unmogrowp/unmogrowp"
)

// Signatures remembers the signed requests an app's SDK sent, so that one is accepted once:
// a request whose (key, X-Timestamp, X-Signature) was seen within SignatureMaxSkew is a
// replay. Package redis implements it across processes; without one each ingestion process
// remembers its own, in memory (replayCache).
type Signatures interface {
	// Claim records appID's request signed mac at ts until expires, and reports false when
	// it is recorded already (a replay). An error means it could not be checked.
	Claim(ctx context.Context, appID string, ts int64, mac []byte, expires time.Time) (bool, error)
	// Release forgets what Claim recorded, so that the same signed request may be sent
	// again: for a request answered with nothing accepted (429, 503). An error means it
	// may still be recorded.
	Release(ctx context.Context, appID string, ts int64, mac []byte) error
}

var _ Signatures = (*replayCache)(nil)

// MaxReplayEntries bounds the signatures an ingestion process remembers, and so its memory
// (the heap when full is in docs/performance-analysis.md): past it the oldest
// timestamps are forgotten before their window ends, and a replay of one of them is no
// longer caught. It holds 300 s of about 3,500 signed requests a second.
const MaxReplayEntries = 1 << 20

// replayCache is the in-process Signatures: the claims by second of X-Timestamp, so that
// a whole second is dropped at once when its window has passed (a cache with one TTL from
// insertion would keep each twice as long: a timestamp may be up to SignatureMaxSkew in
// the future).
type replayCache struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	bySec   map[int64]map[replayKey]struct{}
	n       int
	swept   int64 // the unix second of the last sweep
	expires map[int64]time.Time
}

// replayKey identifies a signed request within its second: the app (hashed) and the first
// 16 bytes of its HMAC, which the app's secret makes unforgeable and collision-free in
// practice.
type replayKey struct {
	app uint64
	mac [16]byte
}

func newReplayCache(now func() time.Time, max int) *replayCache {
	return &replayCache{now: now, max: max, bySec: map[int64]map[replayKey]struct{}{}, expires: map[int64]time.Time{}}
}

func newReplayKey(appID string, mac []byte) replayKey {
	k := replayKey{app: xxh3.HashString(appID)}
	copy(k.mac[:], mac)
	return k
}

// Claim implements Signatures. It never fails.
func (c *replayCache) Claim(_ context.Context, appID string, ts int64, mac []byte, expires time.Time) (bool, error) {
	k := newReplayKey(appID, mac)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if sec := now.Unix(); sec != c.swept {
		c.swept = sec
		for s, end := range c.expires {
			if !now.Before(end) {
				c.drop(s)
			}
		}
	}
	m := c.bySec[ts]
	if _, ok := m[k]; ok {
		return false, nil
	}
	for c.n >= c.max && len(c.bySec) > 0 { // full: forget the oldest second
		oldest := ts
		for s := range c.bySec {
			oldest = min(oldest, s)
		}
		if _, ok := c.bySec[oldest]; !ok {
			break // only newer seconds are held: keep them, do not record this one
		}
		c.drop(oldest)
	}
	if c.n >= c.max {
		return true, nil
	}
	if m == nil {
		m = map[replayKey]struct{}{}
		c.bySec[ts] = m
	}
	m[k] = struct{}{}
	c.n++
	if expires.After(c.expires[ts]) {
		c.expires[ts] = expires
	}
	return true, nil
}

// drop forgets the claims of a second. c.mu is held.
func (c *replayCache) drop(sec int64) {
	c.n -= len(c.bySec[sec])
	delete(c.bySec, sec)
	delete(c.expires, sec)
}

// Release implements Signatures. It never fails.
func (c *replayCache) Release(_ context.Context, appID string, ts int64, mac []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.bySec[ts]; ok {
		k := newReplayKey(appID, mac)
		if _, ok := m[k]; ok {
			delete(m, k)
			c.n--
		}
	}
	return nil
}

// checkSignature verifies a signed request of app (over wire, the body as received) and
// claims its signature, so that it is accepted once within SignatureMaxSkew. The release
// it returns forgets the claim, for a request that ends with nothing accepted, so that the
// SDK may send it again as it is. When the shared Signatures cannot be reached, the
// process's own cache stands in (and the failure is logged): replays through this process
// are still refused.
func (s *Server) checkSignature(r *http.Request, app *unmogrowp.App, wire []byte) (release func(), err error) {
	ts, mac, err := verifySignature(r, wire, app.SigningSecret, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	expires := time.Unix(ts, 0).Add(SignatureMaxSkew + time.Second)
	var sigs Signatures = s.replays
	ok, err := s.cfg.Signatures.Claim(r.Context(), app.ID, ts, mac, expires)
	if err != nil {
		s.cfg.Logger.Warn("signature replay unchecked across processes", "app_id", app.ID, "err", err)
		ok, _ = s.replays.Claim(r.Context(), app.ID, ts, mac, expires)
	} else {
		sigs = s.cfg.Signatures
	}
	if !ok {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "This signed request was received already: each signature is accepted once. Sign every request anew with its own X-Timestamp.")
	}
	return func() {
		// Not r.Context(): the client may be gone, and the claim must still go.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Second)
		defer cancel()
		if err := sigs.Release(ctx, app.ID, ts, mac); err != nil {
			s.cfg.Logger.Warn("release signature claim", "app_id", app.ID, "err", err)
		}
	}, nil
}
