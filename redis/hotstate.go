package redis

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/zeebo/xxh3"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

var _ unmogrowp.HotState = (*HotState)(nil)

// HotState is the HotState of the distributed deployment: every consumer that opens one on
// the same server and prefix sees the others' Apply. It is safe for concurrent use.
//
// Expiry: a touchpoint's record expires Retention after its touch time; a key's sorted set
// drops the ids older than that on each write and expires Retention after its newest touch
// time; Candidates reads only the ids within retention. So a touchpoint is kept for
// Retention, by the clock of the process that applied it. Device decisions never expire.
type HotState struct {
	c         *conn
	retention time.Duration
}

// Open connects to Redis and returns its HotState. Returns EUNAVAILABLE when the server
// cannot be reached, ctx.Err() when ctx is done first, EINVALID for a bad rawURL. rawURL,
// when not empty, is a URL as ParseURL takes it, whose fields replace those of opts.
func Open(ctx context.Context, rawURL string, opts Options) (*HotState, error) {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	c, err := open(ctx, rawURL, opts, "hot state", candidatesScript, deviceScript, watermarksScript, activityScript)
	if err != nil {
		return nil, err
	}
	return &HotState{c: c, retention: opts.Retention}, nil
}

// Ping reports whether Redis answers: nil, EUNAVAILABLE when it cannot be reached or
// after Close, ctx.Err() when ctx is done first.
func (h *HotState) Ping(ctx context.Context) error { return h.c.ping(ctx, "hot state") }

// candidatesScript returns the records of the touchpoints under KEYS, each once: the first
// ARGV[1] KEYS are sorted sets whose members scored at or above ARGV[2] (the retention
// cutoff, ms) are ids, the ARGV[4] highest scored of each to be read under the prefix
// ARGV[3]; the other KEYS are records. All keys are the app's, so in its hash slot (the
// records it reads by id too).
var candidatesScript = newScript(`
local nz, recs, seen = tonumber(ARGV[1]), {}, {}
for i = 1, #KEYS do
  if i <= nz then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[i], '+inf', ARGV[2], 'BYSCORE', 'REV', 'LIMIT', 0, ARGV[4])) do
      local k = ARGV[3] .. id
      if not seen[k] then seen[k] = true; recs[#recs + 1] = k end
    end
  elseif not seen[KEYS[i]] then
    seen[KEYS[i]] = true; recs[#recs + 1] = KEYS[i]
  end
end
local out = {}
for i = 1, #recs, 512 do
  for _, v in ipairs(redis.call('MGET', unpack(recs, i, math.min(i + 511, #recs)))) do
    if v then out[#out + 1] = v end
  end
end
return out
`)

// deviceScript makes ARGV[1] the value of the device decision KEYS[1], unless the current
// one is in the same partition (the first 4 bytes of the header) at a higher offset (the
// next 8, compared byte by byte: Lua's < on strings follows the server's locale): a replay
// of an older batch. It returns 1 when it wrote.
var deviceScript = newScript(`
local cur, new = redis.call('GET', KEYS[1]), ARGV[1]
if cur and #cur >= 12 and string.sub(cur, 1, 4) == string.sub(new, 1, 4) then
  for i = 5, 12 do
    local c, n = string.byte(cur, i), string.byte(new, i)
    if c > n then return 0 end
    if c < n then break end
  end
end
redis.call('SET', KEYS[1], new)
return 1
`)

// activityScript raises the activity hash KEYS[1] of the device whose decision is KEYS[2],
// when it has one: field t (the last event time, decimal microseconds, exact in Lua's
// numbers) takes ARGV[1] when it has none or a lower one; fields idfa, gaid and aid take
// ARGV[2], ARGV[3] and ARGV[4] when those are not empty. It returns 1 when the device has
// a decision.
var activityScript = newScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if ARGV[1] ~= '' then
  local cur = redis.call('HGET', KEYS[1], 't')
  if not cur or tonumber(cur) < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 't', ARGV[1]) end
end
local names = {'idfa', 'gaid', 'aid'}
for i = 1, 3 do
  if ARGV[i + 1] ~= '' then redis.call('HSET', KEYS[1], names[i], ARGV[i + 1]) end
end
return 1
`)

// watermarksScript raises the fields of the hash KEYS[1]: ARGV holds partition, offset
// pairs, and a field takes its offset when it has none or a lower one.
var watermarksScript = newScript(`
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur or tonumber(cur) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0
`)

// Candidates implements unmogrowp.HotState in one script call. A "tp:ID" key reads the
// touchpoint with that ID; any other key reads the ids its sorted set holds within
// retention, the MaxCandidatesPerKey latest by touch time. A stored touchpoint that does
// not decode is logged and left out. Returns ctx.Err() when ctx is done, EUNAVAILABLE
// after Close or when Redis cannot be reached.
func (h *HotState) Candidates(ctx context.Context, appID string, keys []string) ([]unmogrowp.Touchpoint, error) {
	if len(keys) == 0 {
		if err := h.c.start(ctx, "hot state"); err != nil {
			return nil, err
		}
		return nil, nil
	}
	out, err := h.CandidatesOf(ctx, appID, [][]string{keys})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// CandidatesOf answers, for each of keySets in order, what Candidates answers for the app
// and those keys, in one round trip: a pipeline of one script call a set (none for an
// empty set, whose answer is nil). Errors as for Candidates.
func (h *HotState) CandidatesOf(ctx context.Context, appID string, keySets [][]string) ([][]unmogrowp.Touchpoint, error) {
	if err := h.c.start(ctx, "hot state"); err != nil {
		return nil, err
	}
	recPrefix := h.c.appPrefix("tp", appID)
	keyPrefix := h.c.appPrefix("k", appID)
	cutoff := h.c.now().Add(-h.retention).UnixMilli()
	cmds := make([]*goredis.Cmd, len(keySets))
	if _, err := h.c.exec(ctx, "candidates", func(p goredis.Pipeliner) {
		for i, keys := range keySets {
			if len(keys) == 0 {
				continue
			}
			rkeys := make([]string, 0, len(keys))
			var direct []string
			for _, k := range keys {
				if id, ok := strings.CutPrefix(k, "tp:"); ok {
					direct = append(direct, recPrefix+id)
				} else {
					rkeys = append(rkeys, keyPrefix+k)
				}
			}
			nz := len(rkeys)
			rkeys = append(rkeys, direct...)
			cmds[i] = candidatesScript.EvalShaRO(ctx, p, rkeys, nz, cutoff, recPrefix, unmogrowp.MaxCandidatesPerKey)
		}
	}); err != nil {
		return nil, err
	}
	all := make([][]unmogrowp.Touchpoint, len(keySets))
	bad := 0
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		vals, err := cmd.Slice()
		if err != nil {
			return nil, h.c.fail(ctx, "candidates", err)
		}
		out := make([]unmogrowp.Touchpoint, 0, len(vals))
		for _, v := range vals {
			s, _ := v.(string)
			out = append(out, unmogrowp.Touchpoint{})
			tp := &out[len(out)-1]
			if err := decodeTouchpoint([]byte(s), tp); err != nil || tp.AppID != appID {
				out, bad = out[:len(out)-1], bad+1
			}
		}
		all[i] = out
	}
	if bad > 0 {
		h.c.log.Error("touchpoint records do not decode", "app_id", appID, "records", bad)
	}
	return all, nil
}

// Device implements unmogrowp.HotState in one round trip: a GET of the decision and an
// HMGET of the activity (the hash "act:", beside "dev:" in the app's slot). Returns
// ctx.Err() when ctx is done, EUNAVAILABLE after Close or when Redis cannot be reached,
// EINTERNAL when the stored decision does not decode.
func (h *HotState) Device(ctx context.Context, appID, deviceID string) (unmogrowp.Install, bool, error) {
	if err := h.c.start(ctx, "hot state"); err != nil {
		return unmogrowp.Install{}, false, err
	}
	var get *goredis.StringCmd
	var act *goredis.SliceCmd
	if _, err := h.c.exec(ctx, "device", func(p goredis.Pipeliner) {
		get = p.Get(ctx, h.c.key("dev", appID, deviceID))
		act = p.HMGet(ctx, h.c.key("act", appID, deviceID), "t", "idfa", "gaid", "aid")
	}); err != nil {
		return unmogrowp.Install{}, false, err
	}
	v, err := get.Result()
	if err == goredis.Nil {
		return unmogrowp.Install{}, false, nil
	}
	if err != nil {
		return unmogrowp.Install{}, false, errUndecodable()
	}
	return decodeDevice(appID, deviceID, v, act.Val())
}

// devicesChunk is how many keys one MGET of Devices names at most, so that one command
// never holds the server long.
const devicesChunk = 512

// Devices is Device for many devices of one app in two round trips whatever their number:
// MGETs of their decisions (devicesChunk at a time), then an HMGET of the activity of each
// device that has a decision, pipelined. It answers for each of deviceIDs, in order, what
// Device would: the decision and whether there is one. Errors as for Device.
func (h *HotState) Devices(ctx context.Context, appID string, deviceIDs []string) ([]unmogrowp.Install, []bool, error) {
	if err := h.c.start(ctx, "hot state"); err != nil {
		return nil, nil, err
	}
	installs, ok := make([]unmogrowp.Install, len(deviceIDs)), make([]bool, len(deviceIDs))
	if len(deviceIDs) == 0 {
		return installs, ok, nil
	}
	// The commands' arguments point into keys and fields: no conversion to an interface
	// allocates.
	keys := prefixed(h.c.appPrefix("dev", appID), deviceIDs)
	chunks := (len(deviceIDs) + devicesChunk - 1) / devicesChunk
	args := make([]any, 0, chunks+len(deviceIDs))
	gets := make([]*goredis.SliceCmd, chunks)
	for c := range gets {
		from := len(args)
		args = append(args, "mget")
		for i := c * devicesChunk; i < min((c+1)*devicesChunk, len(keys)); i++ {
			args = append(args, &keys[i])
		}
		gets[c] = goredis.NewSliceCmd(ctx, args[from:len(args):len(args)]...)
	}
	if _, err := h.c.exec(ctx, "devices", func(p goredis.Pipeliner) {
		for _, get := range gets {
			p.Process(ctx, get)
		}
	}); err != nil {
		return nil, nil, err
	}
	values := make([]string, len(deviceIDs))
	var found []int // the devices with a decision
	i := 0
	for _, get := range gets {
		for _, v := range get.Val() {
			if i < len(values) {
				if s, ok := v.(string); ok {
					values[i] = s
					found = append(found, i)
				}
			}
			i++
		}
	}
	if i != len(deviceIDs) {
		return nil, nil, unmogrowp.Errorf(unmogrowp.EINTERNAL, "Redis answered %d decisions for %d devices.", i, len(deviceIDs))
	}
	if len(found) == 0 {
		return installs, ok, nil
	}
	foundIDs := make([]string, len(found))
	for j, i := range found {
		foundIDs[j] = deviceIDs[i]
	}
	actKeys := prefixed(h.c.appPrefix("act", appID), foundIDs)
	const nargs = 6 // HMGET key t idfa gaid aid
	actArgs := make([]any, nargs*len(found))
	acts := make([]*goredis.SliceCmd, len(found))
	for j := range acts {
		a := actArgs[nargs*j : nargs*(j+1) : nargs*(j+1)]
		a[0], a[1], a[2], a[3], a[4], a[5] = "hmget", &actKeys[j], "t", "idfa", "gaid", "aid"
		acts[j] = goredis.NewSliceCmd(ctx, a...)
	}
	if _, err := h.c.exec(ctx, "devices", func(p goredis.Pipeliner) {
		for _, act := range acts {
			p.Process(ctx, act)
		}
	}); err != nil {
		return nil, nil, err
	}
	for j, i := range found {
		in, _, err := decodeDevice(appID, deviceIDs[i], values[i], acts[j].Val())
		if err != nil {
			return nil, nil, err
		}
		installs[i], ok[i] = in, true
	}
	return installs, ok, nil
}

// prefixed returns prefix+id for each of ids, substrings of one string.
func prefixed(prefix string, ids []string) []string {
	n := len(prefix) * len(ids)
	for _, id := range ids {
		n += len(id)
	}
	b := make([]byte, 0, n)
	for _, id := range ids {
		b = append(append(b, prefix...), id...)
	}
	all, out := bufString(b), make([]string, len(ids))
	for i, id := range ids {
		out[i], all = all[:len(prefix)+len(id)], all[len(prefix)+len(id):]
	}
	return out
}

// errUndecodable is the error of a stored decision that does not decode.
func errUndecodable() error {
	return unmogrowp.Errorf(unmogrowp.EINTERNAL, "The device's decision in Redis does not decode.")
}

// decodeDevice returns the app's device's decision from its stored value v and the
// fields of its activity hash (t, idfa, gaid, aid; nil where absent), as Device answers
// it, or EINTERNAL when v does not decode or is another device's.
func decodeDevice(appID, deviceID, v string, fields []any) (unmogrowp.Install, bool, error) {
	var in unmogrowp.Install
	if decodeInstall(v, &in) != nil || in.AppID != appID || in.DeviceID != deviceID {
		return unmogrowp.Install{}, false, errUndecodable()
	}
	in.Activity = unmogrowp.Activity{}
	str := func(i int) string {
		if i < len(fields) {
			s, _ := fields[i].(string)
			return s
		}
		return ""
	}
	if us, err := strconv.ParseInt(str(0), 10, 64); err == nil && us != 0 {
		in.Activity.LastEventTime = time.UnixMicro(us).UTC()
	}
	in.Activity.IDFA, in.Activity.GAID, in.Activity.AndroidID = str(1), str(2), str(3)
	return in, true, nil
}

// Seen implements unmogrowp.HotState in one pipeline of script calls, one per device (see
// activityScript: it raises nothing of a device without a decision). The activity never
// expires, as decisions do not. Returns ctx.Err() when ctx is done before anything was
// sent, EUNAVAILABLE after Close or when Redis cannot be reached.
func (h *HotState) Seen(ctx context.Context, devices []unmogrowp.DeviceActivity) error {
	if err := h.c.start(ctx, "hot state"); err != nil {
		return err
	}
	if len(devices) == 0 {
		return nil
	}
	_, err := h.c.exec(ctx, "seen", func(p goredis.Pipeliner) {
		for i := range devices {
			h.raise(ctx, p, devices[i].AppID, devices[i].DeviceID, &devices[i].Activity)
		}
	})
	return err
}

// raise adds to p the script call that raises the device's activity to a.
func (h *HotState) raise(ctx context.Context, p goredis.Pipeliner, appID, deviceID string, a *unmogrowp.Activity) {
	t := ""
	if !a.LastEventTime.IsZero() {
		t = strconv.FormatInt(a.LastEventTime.UnixMicro(), 10)
	}
	activityScript.EvalSha(ctx, p, []string{h.c.key("act", appID, deviceID), h.c.key("dev", appID, deviceID)},
		t, a.IDFA, a.GAID, a.AndroidID)
}

// Apply implements unmogrowp.HotState in one pipeline. For each touchpoint within retention
// (one whose touch time is zero or older than now - Retention is left out) it stores the
// record unless one with the same app and ID is stored (SET NX; a touchpoint without ID is
// known by the hash of its record), expiring Retention after its touch time. It adds the
// ID to the sorted set of each of its keys but its "tp:" one (attribution.TouchpointKeys):
// per distinct key of the batch, ZADD NX of its ids, ZREMRANGEBYSCORE of the ids past
// retention, ZREMRANGEBYRANK of all but the MaxCandidatesPerKey latest, and PEXPIRE NX
// then GT so the set lives Retention past its newest id. Plain commands rather than a
// script: a batch never holds the server for long, and other consumers' lookups
// interleave. Records are written before the ids that point at them, so a concurrent
// Candidates never sees an id without its record. Then each install, in order, goes
// through a script that ignores it when the device's current decision is in the same
// partition at a higher offset, and its Activity, when not zero, raises the device's as
// Seen does. All of this is idempotent.
//
// The writes are not one transaction: after an error some may be done, which applying the
// batch again completes. Returns ctx.Err() when ctx is done before anything was sent,
// EUNAVAILABLE after Close or when Redis cannot be reached.
func (h *HotState) Apply(ctx context.Context, touchpoints []unmogrowp.Touchpoint, installs []unmogrowp.Install) error {
	if err := h.c.start(ctx, "hot state"); err != nil {
		return err
	}
	if len(touchpoints) == 0 && len(installs) == 0 {
		return nil
	}
	now := h.c.now()
	nowMs, cutoffMs, retentionMs := now.UnixMilli(), now.Add(-h.retention).UnixMilli(), h.retention.Milliseconds()

	type record struct {
		key   string
		value []byte
		ttl   int64
	}
	records := make([]record, 0, len(touchpoints))
	type set struct {
		members []goredis.Z
		newest  int64 // the highest score
	}
	index := make(map[string]*set) // sorted set key → what to add
	var order []string             // index's keys in first-seen order
	var buf []byte
	for i := range touchpoints {
		tp := &touchpoints[i]
		ms, ok := ttl(now, tp.Time.Add(h.retention))
		if tp.Time.IsZero() || !ok {
			continue
		}
		buf = appendTouchpoint(buf[:0], tp)
		id := tp.ID
		if id == "" {
			sum := xxh3.Hash128(buf).Bytes()
			id = "~" + hex.EncodeToString(sum[:])
		}
		records = append(records, record{h.c.key("tp", tp.AppID, id), append([]byte(nil), buf...), ms})
		score := tp.Time.UnixMilli()
		for _, k := range attribution.TouchpointKeys(tp).Strings() {
			if strings.HasPrefix(k, "tp:") {
				continue // read as the record itself
			}
			zk := h.c.key("k", tp.AppID, k)
			z := index[zk]
			if z == nil {
				z = &set{}
				index[zk] = z
				order = append(order, zk)
			}
			z.members = append(z.members, goredis.Z{Score: float64(score), Member: id})
			z.newest = max(z.newest, score)
		}
	}
	devices := make([]string, len(installs))
	values := make([][]byte, len(installs))
	for i := range installs {
		in := &installs[i]
		devices[i] = h.c.key("dev", in.AppID, in.DeviceID)
		values[i] = appendInstall(nil, in)
	}

	_, err := h.c.exec(ctx, "apply", func(p goredis.Pipeliner) {
		for _, r := range records {
			p.SetNX(ctx, r.key, r.value, time.Duration(r.ttl)*time.Millisecond)
		}
		for _, zk := range order {
			z := index[zk]
			p.ZAddNX(ctx, zk, z.members...)
			p.ZRemRangeByScore(ctx, zk, "-inf", "("+strconv.FormatInt(cutoffMs, 10))
			p.ZRemRangeByRank(ctx, zk, 0, -unmogrowp.MaxCandidatesPerKey-1) // never read again
			// The set lives as long as its newest id: NX sets a new set's TTL, GT only
			// lengthens an older one's.
			ttl := z.newest + retentionMs - nowMs
			p.Do(ctx, "pexpire", zk, ttl, "nx")
			p.Do(ctx, "pexpire", zk, ttl, "gt")
		}
		for i := range installs {
			deviceScript.EvalSha(ctx, p, []string{devices[i]}, values[i])
			if in := &installs[i]; in.Activity != (unmogrowp.Activity{}) {
				h.raise(ctx, p, in.AppID, in.DeviceID, &in.Activity)
			}
		}
	})
	return err
}

// Close releases the hot state; it closes the client if Open made it. Calls after Close
// fail with EUNAVAILABLE. Close is idempotent.
func (h *HotState) Close() error { return h.c.close() }

// watermarksKey is the hash of the hot state's watermarks, partition → offset (decimal).
func (h *HotState) watermarksKey() string { return h.c.prefix + "watermarks" }

// RaiseWatermarks implements unmogrowp.HotState in one script call. Offsets are exact up
// to 2^53 (Lua's numbers). Returns ctx.Err() when ctx is done, EUNAVAILABLE after Close
// or when Redis cannot be reached.
func (h *HotState) RaiseWatermarks(ctx context.Context, marks map[int32]int64) error {
	if err := h.c.start(ctx, "hot state"); err != nil {
		return err
	}
	if len(marks) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(marks))
	for p, o := range marks {
		args = append(args, p, o)
	}
	_, err := h.c.exec(ctx, "raise watermarks", func(p goredis.Pipeliner) {
		watermarksScript.EvalSha(ctx, p, []string{h.watermarksKey()}, args...)
	})
	return err
}

// Watermarks implements unmogrowp.HotState with one HGETALL. Returns ctx.Err() when ctx
// is done, EUNAVAILABLE after Close or when Redis cannot be reached, EINTERNAL for a field
// that is not a partition and an offset.
func (h *HotState) Watermarks(ctx context.Context) (map[int32]int64, error) {
	if err := h.c.start(ctx, "hot state"); err != nil {
		return nil, err
	}
	var cmd *goredis.MapStringStringCmd
	if _, err := h.c.exec(ctx, "watermarks", func(p goredis.Pipeliner) {
		cmd = p.HGetAll(ctx, h.watermarksKey())
	}); err != nil {
		return nil, err
	}
	out := make(map[int32]int64, len(cmd.Val()))
	for f, v := range cmd.Val() {
		p, err1 := strconv.ParseInt(f, 10, 32)
		o, err2 := strconv.ParseInt(v, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, unmogrowp.Errorf(unmogrowp.EINTERNAL, "redis: hot state watermark %q = %q is not a partition and an offset", f, v)
		}
		out[int32(p)] = o
	}
	return out, nil
}

var _ unmogrowp.Forgetter = (*HotState)(nil)

// Forget implements unmogrowp.Forgetter in two round trips: it reads the touchpoints'
// records, then deletes the devices' decisions and the records and removes the ids from
// the sorted set of each key of theirs (attribution.TouchpointKeys), so that no set names
// them again. Event ids are the deduplicator's: it ignores them. Returns ctx.Err() when
// ctx is done before anything was sent, EUNAVAILABLE after Close or when Redis cannot be
// reached.
func (h *HotState) Forget(ctx context.Context, appID string, deviceIDs, touchpointIDs, _ []string) error {
	if err := h.c.start(ctx, "hot state"); err != nil {
		return err
	}
	recKeys := make([]string, len(touchpointIDs))
	for i, id := range touchpointIDs {
		recKeys[i] = h.c.key("tp", appID, id)
	}
	var recs []any
	if len(recKeys) > 0 {
		var cmd *goredis.SliceCmd
		if _, err := h.c.exec(ctx, "forget", func(p goredis.Pipeliner) { cmd = p.MGet(ctx, recKeys...) }); err != nil {
			return err
		}
		recs = cmd.Val()
	}
	_, err := h.c.exec(ctx, "forget", func(p goredis.Pipeliner) {
		for _, d := range deviceIDs {
			p.Del(ctx, h.c.key("dev", appID, d), h.c.key("act", appID, d))
		}
		for i, v := range recs {
			s, ok := v.(string)
			if !ok {
				continue // gone already
			}
			var tp unmogrowp.Touchpoint
			if err := decodeTouchpoint([]byte(s), &tp); err == nil {
				for _, k := range attribution.TouchpointKeys(&tp).Strings() {
					if !strings.HasPrefix(k, "tp:") {
						p.ZRem(ctx, h.c.key("k", appID, k), touchpointIDs[i])
					}
				}
			}
			p.Del(ctx, recKeys[i])
		}
	})
	return err
}
