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

// sent is a call's claims as sent, in the order of the call: claim i's key, the entry it
// would set ("receive-time-ms partition:offset"), its receive time (ms) and the entry's TTL
// (ms). The keys and entries are substrings of one string each, and the commands' arguments
// point into these slices, so that a call allocates little per claim.
type sent struct {
	keys, entries []string
	at, ttlMs     []int64
}

// po returns the "partition:offset" of claim i's entry.
func (s *sent) po(i int) string {
	_, po, _ := strings.Cut(s.entries[i], " ")
	return po
}

// encode returns claims as sent, their Time (now when zero) counted from now.
func (d *Dedup) encode(claims []unmogrowp.Claim, now time.Time) *sent {
	n := len(claims)
	s := &sent{keys: make([]string, n), entries: make([]string, n), at: make([]int64, n), ttlMs: make([]int64, n)}
	var keyBuf, entryBuf []byte
	keyEnd, entryEnd := make([]int, n), make([]int, n)
	lastApp, prefix := "", ""
	var prefixes map[string]string // app → its keys' prefix, once a call has two apps
	for i := range claims {
		c := &claims[i]
		if i == 0 {
			lastApp, prefix = c.AppID, d.c.appPrefix("d", c.AppID)
			keyBuf = make([]byte, 0, n*(len(prefix)+16))
			entryBuf = make([]byte, 0, n*24)
		} else if c.AppID != lastApp {
			if prefixes == nil {
				prefixes = map[string]string{lastApp: prefix}
			}
			p, ok := prefixes[c.AppID]
			if !ok {
				p = d.c.appPrefix("d", c.AppID)
				prefixes[c.AppID] = p
			}
			lastApp, prefix = c.AppID, p
		}
		h := xxh3.HashString128(c.EventID).Bytes()
		keyBuf = append(append(keyBuf, prefix...), h[:]...)
		keyEnd[i] = len(keyBuf)
		at := c.Time
		if at.IsZero() {
			at = now
		}
		ms, _ := ttl(now, at.Add(d.window))
		s.at[i], s.ttlMs[i] = at.UnixMilli(), max(ms, minClaimTTL.Milliseconds())
		entryBuf = strconv.AppendInt(entryBuf, s.at[i], 10)
		entryBuf = append(entryBuf, ' ')
		entryBuf = strconv.AppendInt(entryBuf, int64(c.Partition), 10)
		entryBuf = append(entryBuf, ':')
		entryBuf = strconv.AppendInt(entryBuf, c.Offset, 10)
		entryEnd[i] = len(entryBuf)
	}
	keys, entries := bufString(keyBuf), bufString(entryBuf)
	for i, k, e := 0, 0, 0; i < n; i++ {
		s.keys[i], s.entries[i] = keys[k:keyEnd[i]], entries[e:entryEnd[i]]
		k, e = keyEnd[i], entryEnd[i]
	}
	return s
}

// Claim implements unmogrowp.Deduplicator. For each claim, in order: an id already seen
// earlier in the same call is a duplicate (false); an id whose entry names the same
// partition and offset is a replay of the record that claimed it (true);
// an id that is absent, or whose entry is at least the window older than the claim's Time,
// is claimed (true) and its entry set to expire a window after that Time (at least
// minClaimTTL from now); any other is a duplicate (false). A claim with a zero Time counts
// from Options.Now.
//
// One round trip does it all in the common case, where every id is new: a pipeline of
// SET NX, one per claim, which answers OK for each id it claimed. Only claims whose id was
// there already (duplicates, replays) take a second round trip, a GET of each such entry;
// and only those whose entry is past the window (which Redis still holds when clocks or the
// minimum TTL keep it) or gone by then a third, through a script that replaces such entries
// atomically unless another consumer got there first.
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
	s := d.encode(claims, d.c.now())

	// SET key entry PX ttl NX, its arguments pointing into s: no conversion to an
	// interface allocates.
	const nargs = 6
	args := make([]any, nargs*len(claims))
	cmds := make([]*goredis.StatusCmd, len(claims))
	queued := make([]goredis.Cmder, len(claims))
	if _, err := d.c.exec(ctx, "claim", func(p goredis.Pipeliner) {
		for i := range cmds {
			a := args[nargs*i : nargs*(i+1) : nargs*(i+1)]
			a[0], a[1], a[2], a[3], a[4], a[5] = "set", &s.keys[i], &s.entries[i], "px", &s.ttlMs[i], "nx"
			cmds[i] = goredis.NewStatusCmd(ctx, a...)
			queued[i] = cmds[i]
		}
		p.BatchProcess(ctx, queued...)
	}); err != nil {
		return nil, err
	}
	var present []int // claims whose id was there: SET NX answered nil
	for i, cmd := range cmds {
		if cmd.Err() == nil {
			out[i] = true // absent: claimed
		} else {
			present = append(present, i)
		}
	}
	if len(present) == 0 {
		return out, nil
	}
	return out, d.claimPresent(ctx, s, present, out)
}

// claimPresent answers the claims of present (indexes into s, in order), whose SET NX found
// their id there, and sets their results in out: a duplicate of an earlier claim of the
// call stays false; the others read their entry, and a replay is true, an entry within the
// window false, and one past the window or gone since goes through claimStale.
func (d *Dedup) claimPresent(ctx context.Context, s *sent, present []int, out []bool) error {
	first := make(map[string]int, len(present)) // key → its first claim in the call
	for _, i := range present {
		first[s.keys[i]] = i
	}
	for i, k := range s.keys {
		if j, ok := first[k]; ok && i < j {
			first[k] = i
		}
	}
	var read []int
	for _, i := range present {
		if first[s.keys[i]] == i {
			read = append(read, i)
		} // else a later claim of an id this call claimed or read: a duplicate
	}
	gets := make([]*goredis.StringCmd, len(read))
	if _, err := d.c.exec(ctx, "claim", func(p goredis.Pipeliner) {
		for j, i := range read {
			gets[j] = p.Get(ctx, s.keys[i])
		}
	}); err != nil {
		return err
	}
	var stale []int // claims that found an entry past the window, or none any more
	for j, i := range read {
		cur, err := gets[j].Result()
		if err == goredis.Nil {
			stale = append(stale, i) // expired or deleted since the SET NX
			continue
		}
		at, po, ok := strings.Cut(cur, " ")
		atMs, err := strconv.ParseInt(at, 10, 64)
		switch {
		case !ok || err != nil || s.at[i]-atMs >= d.window.Milliseconds():
			stale = append(stale, i)
		case po == s.po(i):
			out[i] = true // a replay of the record that claimed it
		}
	}
	if len(stale) == 0 {
		return nil
	}
	return d.claimStale(ctx, s, stale, out)
}

// claimStale runs the claims of stale (indexes into s, in order) through claimScript,
// one call per app and claimChunk claims, and sets their results in out.
func (d *Dedup) claimStale(ctx context.Context, s *sent, stale []int, out []bool) error {
	byApp := make(map[string][]int) // by key prefix: the app's hash tag
	var apps []string
	for _, i := range stale {
		app := s.keys[i][:len(s.keys[i])-16]
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
					keys[j] = s.keys[i]
					args = append(args, s.po(i), s.at[i], s.ttlMs[i])
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
