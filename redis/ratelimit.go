package redis

import (
	"context"
	"strconv"

	goredis "github.com/redis/go-redis/v9"
)

// RateLimiter limits the events and touchpoints each app may send per second across every
// ingestion process that opens one on the same server and prefix: the distributed
// counterpart of ingestion's in-process golang.org/x/time/rate limiter. It is safe for
// concurrent use.
//
// It counts in fixed one-second windows, by the clock of Options.Now (the Unix second), one
// counter per app and second shared by every process; processes whose clocks differ by a
// fraction of a second count that fraction in a neighbouring window. Contract for the
// caller (the ingestion server):
//
//   - Call Allow(ctx, app.ID, n, app.Settings.RateLimitPerSecond) before accepting n
//     events or touchpoints; on false answer 429 with Retry-After: 1 (the window resets
//     within a second).
//   - perSecond <= 0 means no limit (no round trip); n <= 0 is always allowed.
//   - A request is allowed when the window's count plus n stays within perSecond: the
//     burst is the limit, as the in-process limiter's. So n > perSecond is never allowed
//     (the ingestion server refuses such a batch before asking, with a message saying it
//     can never pass whole). An allowed request adds n; a refused one adds nothing.
//   - On error (EUNAVAILABLE when Redis cannot be reached or after Close, ctx.Err() when
//     ctx is done) the limit is unknown: the caller decides; failing open (accept, log)
//     keeps ingestion up while Redis is down, which the log can absorb.
type RateLimiter struct {
	c *conn
}

// OpenRateLimiter connects to Redis and returns its RateLimiter. Returns EUNAVAILABLE when
// the server cannot be reached, ctx.Err() when ctx is done first, EINVALID for a bad
// rawURL. rawURL, when not empty, is a URL as ParseURL takes it, whose fields replace
// those of opts.
func OpenRateLimiter(ctx context.Context, rawURL string, opts Options) (*RateLimiter, error) {
	c, err := open(ctx, rawURL, opts, "rate limiter", allowScript)
	if err != nil {
		return nil, err
	}
	return &RateLimiter{c: c}, nil
}

// allowScript adds ARGV[1] to the counter KEYS[1] unless that takes it past ARGV[2], and
// returns 1 when it added. A new counter expires after ARGV[3] ms.
var allowScript = newScript(`
local cur, n = tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[1])
if cur + n > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], n)
if cur == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`)

// counterTTL is how long a second's counter lives (ms): past its second, with room for
// processes whose clocks lag.
const counterTTL = 5000

// Allow reports whether the app may send n more events or touchpoints in the current
// second given its limit of perSecond, and counts them when it may: one script call. See
// RateLimiter for the contract.
func (r *RateLimiter) Allow(ctx context.Context, appID string, n int, perSecond int) (bool, error) {
	if err := r.c.start(ctx, "rate limiter"); err != nil {
		return false, err
	}
	if perSecond <= 0 || n <= 0 {
		return true, nil
	}
	key := r.c.key("rl", appID, strconv.FormatInt(r.c.now().Unix(), 10))
	var cmd *goredis.Cmd
	if _, err := r.c.exec(ctx, "allow", func(p goredis.Pipeliner) {
		cmd = allowScript.EvalSha(ctx, p, []string{key}, n, perSecond, counterTTL)
	}); err != nil {
		return false, err
	}
	ok, err := cmd.Int64()
	if err != nil {
		return false, r.c.fail(ctx, "allow", err)
	}
	return ok == 1, nil
}

// Close releases the limiter; it closes the client if OpenRateLimiter made it. Calls after
// Close fail with EUNAVAILABLE. Close is idempotent.
func (r *RateLimiter) Close() error { return r.c.close() }
