package redis

import (
	"context"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/zeebo/xxh3"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.Deduplicator = (*Dedup)(nil)

// Dedup is the Deduplicator of the distributed deployment, shared by every consumer that
// opens one on the same server and prefix. It is safe for concurrent use.
//
// Each (app, event id) claimed is a key (the event id as its 128-bit xxh3 hash, so keys
// have one size; two ids of an app collide with odds of about n²/2^129) whose value names
// the claiming record: "receive-time-ms partition:offset". Its TTL, the window counted from
// the receive time and computed with Options.Now, only reclaims memory: Claim compares the
// times itself, so an entry older than the window counts as absent even while Redis still
// holds it. It needs Redis 7.0 or later (SET with both NX and GET).
//
// Durability is Redis's: a claim survives a Redis restart only as far as its persistence
// does (appendonly yes with appendfsync always loses none; everysec up to a second).
type Dedup struct {
	c      *conn
	window time.Duration
}

// OpenDedup connects to Redis and returns its Dedup. Returns EUNAVAILABLE when the server
// cannot be reached, ctx.Err() when ctx is done first, EINVALID for a bad rawURL. rawURL,
// when not empty, is a URL as ParseURL takes it, whose fields replace those of opts.
func OpenDedup(ctx context.Context, rawURL string, opts Options) (*Dedup, error) {
	if opts.Window <= 0 {
		opts.Window = unmogrowp.DedupWindow
	}
	c, err := open(ctx, rawURL, opts, "dedup", claimScript)
	if err != nil {
		return nil, err
	}
	return &Dedup{c: c, window: opts.Window}, nil
}

// claimScript claims KEYS in order (one app's): ARGV[1] is the window (ms); claim i has
// ARGV[3i-1], "partition:offset" of its record, ARGV[3i], its receive time (ms), and
// ARGV[3i+1], the TTL of its entry (ms). A key is claimed (1) when it is absent or its
// entry is at least the window older than the claim, and then set; a claim whose record
// is the one in the entry is a replay (1, the entry unchanged); any other claim is a
// duplicate (0).
var claimScript = newScript(`
local window, out = tonumber(ARGV[1]), {}
for i = 1, #KEYS do
  local po, at = ARGV[3 * i - 1], ARGV[3 * i]
  local cur, first = redis.call('GET', KEYS[i]), 1
  if cur then
    local sp = string.find(cur, ' ', 1, true)
    if sp and string.sub(cur, sp + 1) == po then
      first = 2
    elseif sp and tonumber(at) - (tonumber(string.sub(cur, 1, sp - 1)) or 0) < window then
      first = 0
    end
  end
  if first == 1 then
    redis.call('SET', KEYS[i], at .. ' ' .. po, 'PX', ARGV[3 * i + 1])
  end
  out[i] = math.min(first, 1)
end
return out
`)

// claimChunk is how many claims one script call takes at most, so that one call never
// holds the server long.
const claimChunk = 100

// minClaimTTL is the least time an entry is kept, even for a claim whose receive time is
// already past the window (a replay of an old log): its duplicates nearby in the log are
// still caught.
const minClaimTTL = time.Minute

// claim is one claim as sent: its key, the entry it would set and the entry's TTL.
type claim struct {
	key   string
	po    string // "partition:offset"
	at    int64  // receive time, ms
	ttlMs int64
}

// Claim implements unmogrowp.Deduplicator. For each claim, in order: an id already seen
// earlier in the same call is a duplicate (false); an id whose entry names the same
// partition and offset is a replay of the record that claimed it (true);
// an id that is absent, or whose entry is at least the window older than the claim's Time,
// is claimed (true) and its entry set to expire a window after that Time (at least
// minClaimTTL from now); any other is a duplicate (false). A claim with a zero Time counts
// from Options.Now.
//
// One round trip does it all in the common case: a pipeline of SET NX GET, one per claim.
// Only claims that find an entry past the window (which Redis still holds when clocks or
// the minimum TTL keep it) take a second round trip, through a script that replaces such
// entries atomically unless another consumer got there first.
//
// Calling Claim again with the same claims gives the same answers, so a call that failed
// midway can be retried. Returns ctx.Err() when ctx is done before anything was sent,
// EUNAVAILABLE after Close or when Redis cannot be reached.
func (d *Dedup) Claim(ctx context.Context, claims []unmogrowp.Claim) ([]bool, error) {
	if err := d.c.start(ctx, "dedup"); err != nil {
		return nil, err
	}
	out := make([]bool, len(claims))
	if len(claims) == 0 {
		return out, nil
	}
	now := d.c.now()
	sent := make([]claim, len(claims))
	prefixes := make(map[string]string) // app → its keys' prefix
	for i := range claims {
		c := &claims[i]
		prefix, ok := prefixes[c.AppID]
		if !ok {
			prefix = d.c.appPrefix("d", c.AppID)
			prefixes[c.AppID] = prefix
		}
		h := xxh3.HashString128(c.EventID).Bytes()
		at := c.Time
		if at.IsZero() {
			at = now
		}
		ms, _ := ttl(now, at.Add(d.window))
		sent[i] = claim{
			key:   prefix + string(h[:]),
			po:    strconv.FormatInt(int64(c.Partition), 10) + ":" + strconv.FormatInt(c.Offset, 10),
			at:    at.UnixMilli(),
			ttlMs: max(ms, minClaimTTL.Milliseconds()),
		}
	}

	cmds := make([]*goredis.StatusCmd, len(sent))
	if _, err := d.c.exec(ctx, "claim", func(p goredis.Pipeliner) {
		for i, c := range sent {
			cmds[i] = p.SetArgs(ctx, c.key, strconv.FormatInt(c.at, 10)+" "+c.po,
				goredis.SetArgs{Mode: "NX", Get: true, TTL: time.Duration(c.ttlMs) * time.Millisecond})
		}
	}); err != nil {
		return nil, err
	}
	var stale []int // claims that found an entry past the window
	seen := make(map[string]struct{}, len(sent))
	for i, cmd := range cmds {
		if _, dup := seen[sent[i].key]; dup {
			continue // its SET NX wrote nothing: the key is there
		}
		seen[sent[i].key] = struct{}{}
		cur, err := cmd.Result()
		if err == goredis.Nil {
			out[i] = true // absent: claimed
			continue
		}
		first, po, ok := strings.Cut(cur, " ")
		firstMs, err := strconv.ParseInt(first, 10, 64)
		switch {
		case !ok || err != nil || sent[i].at-firstMs >= d.window.Milliseconds():
			stale = append(stale, i)
		case po == sent[i].po:
			out[i] = true // a replay of the record that claimed it
		}
	}
	if len(stale) > 0 {
		if err := d.claimStale(ctx, sent, stale, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// claimStale runs the claims of stale (indexes into sent, in order) through claimScript,
// one call per app and claimChunk claims, and sets their results in out.
func (d *Dedup) claimStale(ctx context.Context, sent []claim, stale []int, out []bool) error {
	byApp := make(map[string][]int) // by key prefix: the app's hash tag
	var apps []string
	for _, i := range stale {
		app := sent[i].key[:len(sent[i].key)-16]
		if _, ok := byApp[app]; !ok {
			apps = append(apps, app)
		}
		byApp[app] = append(byApp[app], i)
	}
	type call struct {
		idx []int
		cmd *goredis.Cmd
	}
	var calls []call
	if _, err := d.c.exec(ctx, "claim", func(p goredis.Pipeliner) {
		calls = calls[:0]
		for _, app := range apps {
			for idx := byApp[app]; len(idx) > 0; {
				n := min(len(idx), claimChunk)
				keys := make([]string, n)
				args := make([]any, 1, 1+3*n)
				args[0] = d.window.Milliseconds()
				for j, i := range idx[:n] {
					keys[j] = sent[i].key
					args = append(args, sent[i].po, sent[i].at, sent[i].ttlMs)
				}
				calls = append(calls, call{idx[:n], claimScript.EvalSha(ctx, p, keys, args...)})
				idx = idx[n:]
			}
		}
	}); err != nil {
		return err
	}
	for _, c := range calls {
		res, err := c.cmd.Int64Slice()
		if err != nil {
			return d.c.fail(ctx, "claim", err)
		}
		if len(res) != len(c.idx) {
			return unmogrowp.Errorf(unmogrowp.EINTERNAL, "The Redis claim script answered %d results for %d claims.", len(res), len(c.idx))
		}
		for j, i := range c.idx {
			out[i] = res[j] == 1
		}
	}
	return nil
}

// Close releases the deduplicator; it closes the client if OpenDedup made it. Claims after
// Close fail with EUNAVAILABLE. Close is idempotent.
func (d *Dedup) Close() error { return d.c.close() }

var _ unmogrowp.Forgetter = (*Dedup)(nil)

// Forget implements unmogrowp.Forgetter: one DEL of the app's event ids' claims. Devices
// and touchpoints are the hot state's: it ignores them. Returns ctx.Err() when ctx is done
// before anything was sent, EUNAVAILABLE after Close or when Redis cannot be reached.
func (d *Dedup) Forget(ctx context.Context, appID string, _, _, eventIDs []string) error {
	if err := d.c.start(ctx, "dedup"); err != nil {
		return err
	}
	if len(eventIDs) == 0 {
		return nil
	}
	prefix := d.c.appPrefix("d", appID)
	keys := make([]string, len(eventIDs))
	for i, id := range eventIDs {
		h := xxh3.HashString128(id).Bytes()
		keys[i] = prefix + string(h[:])
	}
	_, err := d.c.exec(ctx, "forget", func(p goredis.Pipeliner) {
		for len(keys) > 0 {
			n := min(len(keys), 512)
			p.Del(ctx, keys[:n]...)
			keys = keys[n:]
		}
	})
	return err
}
