package inmem

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/unmogrowp/unmogrowp"
)

// The touchpoint index. Touchpoints are kept in generations, one per span of touch times
// (a bucket, Retention/8 wide): a generation holds its records in an arena, its own
// dictionary, and a table from key tag to the newest record stored under that key. Each
// record carries, for every key it is stored under, the position of the previous record
// with the same tag, so the records of one key form a chain from the table's entry.
//
// A key's tag is 29 bits of the xxh3 hash of its value, seeded with the hash of the app
// id, and the key's kind (below) in the low 3 bits, so that a chain only ever passes
// through records that have a pointer for that kind. Keys of one kind whose tags collide
// share a chain (in a generation of a million touchpoints, a few thousand keys do): Candidates then returns a touchpoint too many, which Decide
// discards. A whole generation is dropped at once when its newest possible touch time is
// past retention: expiry costs nothing and leaves no stale entries behind.
//
// A record is: a byte with bit k set for each kind k it is stored under, a 4-byte
// little-endian position per set bit in kind order (the next record of that chain, or
// noPos), then the body (encodeTouchpoint).

// Key kinds, in the order of attribution.Keys.Strings' prefixes. Keys with an unknown
// prefix (none today) take kindOther, a second one kindOther+1.
var keyPrefixes = [...]string{"tp:", "idfa:", "gaid:", "android_id:", "device_id:", "fp:"}

const (
	kindTouchpointID = 0
	kindOther        = len(keyPrefixes)
	numKinds         = 8
)

// probe is a key to store a touchpoint under or look touchpoints up by: its tag in the
// generations' tables, and its kind.
type probe struct {
	tag  uint32
	kind int
}

// splitKey returns the kind of key and the value its hash covers: the part after a known
// prefix, or the whole key with kind -1.
func splitKey(key string) (int, string) {
	for k, p := range keyPrefixes {
		if strings.HasPrefix(key, p) {
			return k, key[len(p):]
		}
	}
	return -1, key
}

func appSeed(appID string) uint64 { return xxh3.HashString(appID) }

// keyTag is the tag of a key: 29 bits of the xxh3 hash of its value seeded with its app,
// and its kind in the low 3 bits.
func keyTag(seed uint64, kind int, value string) uint32 {
	return uint32(xxh3.HashStringSeed(value, seed)>>32)&^(numKinds-1) | uint32(kind)
}

// lookupProbes returns the probes for Candidates' keys: an unknown kind may have been
// stored as either kindOther slot.
func lookupProbes(appID string, keys []string) []probe {
	seed := appSeed(appID)
	out := make([]probe, 0, len(keys)+1)
	for _, key := range keys {
		kind, v := splitKey(key)
		if kind >= 0 {
			out = append(out, probe{keyTag(seed, kind, v), kind})
			continue
		}
		for k := kindOther; k < numKinds; k++ {
			out = append(out, probe{keyTag(seed, k, v), k})
		}
	}
	return out
}

// storeProbes appends to dst the probes a touchpoint with keys is stored under, at most
// one per kind, sorted by kind; it returns how many keys found no kind slot.
func storeProbes(dst []probe, appID string, keys []string) ([]probe, int) {
	seed := appSeed(appID)
	var used uint8
	lost, start := 0, len(dst)
	for _, key := range keys {
		kind, v := splitKey(key)
		if kind < 0 {
			kind = kindOther
			for kind < numKinds && used&(1<<kind) != 0 {
				kind++
			}
		}
		if kind >= numKinds || used&(1<<kind) != 0 {
			lost++
			continue
		}
		used |= 1 << kind
		dst = append(dst, probe{keyTag(seed, kind, v), kind})
	}
	// Insertion sort: there are at most numKinds.
	for i := start + 1; i < len(dst); i++ {
		for j := i; j > start && dst[j].kind < dst[j-1].kind; j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst, lost
}

// generation holds the touchpoints of one bucket of touch times (or part of them, when an
// arena fills up and another generation of the same bucket starts).
type generation struct {
	bucket int64     // touch times in [start, start+width)
	start  time.Time // UTC
	heads  table     // key tag → the newest record with the key
	arena  arena
	dict   dict
	count  int
	// erased are the positions of the records Forget erased: walk passes them by.
	erased map[uint32]struct{}
}

// next returns the position after pos in the chain of kind.
func (g *generation) next(pos uint32, kind int) uint32 {
	rec := g.arena.at(pos)
	mask := rec[0]
	if mask&(1<<kind) == 0 {
		return noPos
	}
	i := bits.OnesCount8(mask & (1<<kind - 1))
	return binary.LittleEndian.Uint32(rec[1+4*i:])
}

// body returns a reader of the body of the record at pos.
func (g *generation) body(pos uint32) []byte {
	rec := g.arena.at(pos)
	return rec[1+4*bits.OnesCount8(rec[0]):]
}

// walk calls fn with each position in the chain of p, but the erased ones.
func (g *generation) walk(p probe, fn func(pos uint32) bool) {
	pos, ok := g.heads.get(p.tag)
	for ok && pos != noPos {
		if _, gone := g.erased[pos]; !gone && !fn(pos) {
			return
		}
		pos = g.next(pos, p.kind)
	}
}

// index is the set of generations. Its methods that change it are called by the writer
// with State.mu held; the others with State.mu held for reading.
type index struct {
	width   int64         // bucket width in seconds
	gens    []*generation // by bucket, then age
	current int64         // the bucket of the writer's clock, set by Apply
	seen    probation     // writer only
	w       writer        // writer only
	count   int
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (x *index) bucket(t time.Time) int64 { return floorDiv(t.Unix(), x.width) }

// end is the first time after bucket b.
func (x *index) end(b int64) time.Time { return time.Unix((b+1)*x.width, 0) }

// newest returns the newest generation of bucket b, nil when there is none.
func (x *index) newest(b int64) *generation {
	for i := len(x.gens) - 1; i >= 0 && x.gens[i].bucket >= b; i-- {
		if x.gens[i].bucket == b {
			return x.gens[i]
		}
	}
	return nil
}

// newGeneration returns an empty generation of bucket b, not yet added. The generation
// that traffic moves on to (a bucket after all the others, up to the current one) gets a
// table sized like the largest generation's, so that it rarely grows; another (a touch
// time in the future, or an arena that filled up) starts small.
func (x *index) newGeneration(b int64) *generation {
	newest := int64(math.MinInt64) // the newest bucket up to the current one
	for i := len(x.gens) - 1; i >= 0; i-- {
		if x.gens[i].bucket <= x.current {
			newest = x.gens[i].bucket
			break
		}
	}
	hint := 0
	if b <= x.current && b > newest { // generations of future touch times do not count
		hint = x.keysHint()
	}
	return &generation{bucket: b, start: time.Unix(b*x.width, 0).UTC(), heads: sized(hint)}
}

// add adds g after the generations of its bucket and those before.
func (x *index) add(g *generation) {
	i := len(x.gens)
	for i > 0 && x.gens[i-1].bucket > g.bucket {
		i--
	}
	x.gens = slices.Insert(x.gens, i, g)
}

// reserve makes room for k more keys in the newest generation of bucket b, creating it
// if need be, so that insert neither allocates a large table nor copies one under the
// write lock: the work is done here, by the writer, without the lock (readers go on
// reading the old table), and only the swap takes lock.
func (x *index) reserve(b int64, k int, lock sync.Locker) {
	g := x.newest(b)
	if g == nil {
		g = x.newGeneration(b)
		lock.Lock()
		x.add(g)
		lock.Unlock()
	}
	if !g.heads.fits(k) {
		t := g.heads.grown(k)
		lock.Lock()
		g.heads = t
		lock.Unlock()
	}
}

// keysHint is how many keys the largest generation has.
func (x *index) keysHint() int {
	n := 0
	for _, g := range x.gens {
		n = max(n, g.heads.n)
	}
	return n
}

// has reports whether a touchpoint (appID, id) is stored in a generation of bucket b.
func (x *index) has(b int64, p probe, appID, id string) bool {
	found := false
	for i := len(x.gens) - 1; i >= 0 && x.gens[i].bucket >= b && !found; i-- {
		g := x.gens[i]
		if g.bucket != b {
			continue
		}
		g.walk(p, func(pos uint32) bool {
			r := reader{b: g.body(pos), dict: &g.dict}
			found = touchpointIs(&r, appID, id)
			return !found
		})
	}
	return found
}

// insert stores tp under probes (sorted by kind) unless a touchpoint with its app and id
// is already in its bucket. It reports whether it stored it.
func (x *index) insert(tp *unmogrowp.Touchpoint, probes []probe) bool {
	b := x.bucket(tp.Time)
	if tp.ID != "" && len(probes) > 0 && probes[0].kind == kindTouchpointID &&
		x.has(b, probes[0], tp.AppID, tp.ID) {
		return false
	}
	var mask byte
	for _, p := range probes {
		mask |= 1 << p.kind
	}
	g := x.newest(b)
	if g == nil {
		g = x.newGeneration(b)
		x.add(g)
	}
	for {
		x.w = writer{b: append(x.w.b[:0], mask), dict: &g.dict, seen: &x.seen}
		x.w.b = append(x.w.b, make([]byte, 4*len(probes))...)
		encodeTouchpoint(&x.w, tp, g.start)
		if g.arena.fits(len(x.w.b)) {
			break
		}
		g = x.newGeneration(b) // 4 GiB in one bucket: start another generation
		x.add(g)
	}
	rec := x.w.b
	for i, p := range probes {
		head, ok := g.heads.get(p.tag)
		if !ok {
			head = noPos
		}
		binary.LittleEndian.PutUint32(rec[1+4*i:], head)
	}
	pos, _ := g.arena.add(rec)
	if !g.heads.fits(len(probes)) { // reserve makes room, but insert stands on its own
		g.heads = g.heads.grown(len(probes))
	}
	for _, p := range probes {
		g.heads.put(p.tag, pos)
	}
	g.count++
	x.count++
	return true
}

// expire drops the generations whose every touch time is before cutoff, and returns how
// many touchpoints they held.
func (x *index) expire(cutoff time.Time) int {
	n, dropped := 0, 0
	for n < len(x.gens) && !x.end(x.gens[n].bucket).After(cutoff) {
		dropped += x.gens[n].count
		n++
	}
	if n > 0 {
		x.gens = append(x.gens[:0:0], x.gens[n:]...) // a new array: drop the old one whole
		x.count -= dropped
	}
	return dropped
}

// ref names a record: the generation's index in gens and the position.
type ref uint64

// lookup appends to dst the records stored under any of probes, at most
// MaxCandidatesPerKey under each: the newest bucket's first, newest stored first in each.
func (x *index) lookup(dst []ref, probes []probe) []ref {
	var found [2 * numKinds]int
	counts := found[:0]
	if len(probes) <= len(found) {
		counts = found[:len(probes)]
	} else {
		counts = make([]int, len(probes))
	}
	for gi := len(x.gens) - 1; gi >= 0; gi-- { // the newest touch times first
		g := x.gens[gi]
		for i, p := range probes {
			if counts[i] >= unmogrowp.MaxCandidatesPerKey {
				continue
			}
			g.walk(p, func(pos uint32) bool {
				dst = append(dst, ref(gi)<<32|ref(pos))
				counts[i]++
				return counts[i] < unmogrowp.MaxCandidatesPerKey
			})
		}
	}
	return dst
}
