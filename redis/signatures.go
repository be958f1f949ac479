package redis

import (
	"context"
	"encoding/hex"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Signatures remembers the signed requests that ingestion accepted, across every ingestion
// process that opens one on the same server and prefix, so that a replayed request (the
// same app, X-Timestamp and X-Signature) is refused by all of them: the distributed
// counterpart of ingestion's in-process cache. It is safe for concurrent use.
//
// A claim is one key, "sig:{app}:<timestamp>:<first 16 bytes of the MAC in hex>", set with
// SET NX and a TTL up to the end of the request's window (PX, from Options.Now), so Redis
// holds each signature for at most the window: 136 bytes a key (MEMORY USAGE, default
// prefix). On error (EUNAVAILABLE when Redis cannot be reached or after Close, ctx.Err()
// when ctx is done) the caller decides; ingestion falls back to its in-process cache.
type Signatures struct {
	c *conn
}

// OpenSignatures connects to Redis and returns its Signatures. Returns EUNAVAILABLE when
// the server cannot be reached, ctx.Err() when ctx is done first, EINVALID for a bad
// rawURL. rawURL, when not empty, is a URL as ParseURL takes it, whose fields replace
// those of opts.
func OpenSignatures(ctx context.Context, rawURL string, opts Options) (*Signatures, error) {
	c, err := open(ctx, rawURL, opts, "signature cache")
	if err != nil {
		return nil, err
	}
	return &Signatures{c: c}, nil
}

// key is the key of a claim. 16 bytes of an HMAC-SHA256 under the app's secret are as
// unique as the whole.
func (s *Signatures) key(appID string, ts int64, mac []byte) string {
	return s.c.key("sig", appID, strconv.FormatInt(ts, 10)+":"+hex.EncodeToString(mac[:min(len(mac), 16)]))
}

// Claim records appID's request signed mac at ts until expires (at least a second from
// now), and reports false when another claim holds it: one SET NX.
func (s *Signatures) Claim(ctx context.Context, appID string, ts int64, mac []byte, expires time.Time) (bool, error) {
	if err := s.c.start(ctx, "signature cache"); err != nil {
		return false, err
	}
	ms, _ := ttl(s.c.now(), expires)
	var cmd *goredis.BoolCmd
	if _, err := s.c.exec(ctx, "claim signature", func(p goredis.Pipeliner) {
		cmd = p.SetNX(ctx, s.key(appID, ts, mac), 1, time.Duration(max(ms, 1000))*time.Millisecond)
	}); err != nil {
		return false, err
	}
	return cmd.Val(), nil
}

// Release forgets a claim, so that the same signed request may be sent again: one DEL.
func (s *Signatures) Release(ctx context.Context, appID string, ts int64, mac []byte) error {
	if err := s.c.start(ctx, "signature cache"); err != nil {
		return err
	}
	_, err := s.c.exec(ctx, "release signature", func(p goredis.Pipeliner) {
		p.Del(ctx, s.key(appID, ts, mac))
	})
	return err
}

// Close releases the cache; it closes the client if OpenSignatures made it. Calls after
// Close fail with EUNAVAILABLE. Close is idempotent.
func (s *Signatures) Close() error { return s.c.close() }
