package inmem

import (
	"context"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.Forgetter = (*State)(nil)

// Forget implements unmogrowp.Forgetter for an erasure: the devices' install decisions
// leave their shard's table (their record's bytes are zeroed, and compaction reclaims
// them), and the touchpoints with the ids are marked erased in their generation, which no
// lookup returns again, their bodies zeroed: their bytes are gone from memory at once,
// and the records' space goes with their generation. Event ids are the deduplicator's: it
// ignores them. Returns ctx.Err() when ctx is done, EUNAVAILABLE after Close.
func (s *State) Forget(ctx context.Context, appID string, deviceIDs, touchpointIDs, _ []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed()
	}
	for _, d := range deviceIDs {
		s.dev.del(appID, d)
	}
	if len(touchpointIDs) == 0 {
		return nil
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range touchpointIDs {
		for _, p := range lookupProbes(appID, []string{"tp:" + id}) {
			for _, g := range s.idx.gens {
				var hits []uint32
				g.walk(p, func(pos uint32) bool {
					r := reader{b: g.body(pos), dict: &g.dict}
					if touchpointIs(&r, appID, id) {
						hits = append(hits, pos)
					}
					return true
				})
				for _, pos := range hits {
					g.erase(pos)
					s.idx.count--
				}
			}
		}
	}
	return nil
}

// erase marks the touchpoint record at pos erased and zeroes its body. The caller holds
// the write lock.
func (g *generation) erase(pos uint32) {
	body := g.body(pos)
	var tp unmogrowp.Touchpoint
	r := reader{b: body, dict: &g.dict}
	decodeTouchpoint(&r, &tp, g.start)
	if r.err == nil {
		clear(body[:len(body)-len(r.b)])
	}
	if g.erased == nil {
		g.erased = map[uint32]struct{}{}
	}
	g.erased[pos] = struct{}{}
	g.count--
}

// del removes the latest decision of (appID, deviceID), and reports whether there was
// one. A device of the shard's overflow whose tag is the removed one's moves into the
// table in its place.
func (d *devices) del(appID, deviceID string) bool {
	h := deviceHash(appID, deviceID)
	sh := d.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	okey := appID + "\x00" + deviceID
	if pos, ok := sh.overflow[okey]; ok {
		sh.scrub(pos)
		delete(sh.overflow, okey)
		return true
	}
	pos, ok := sh.pos.get(uint32(h))
	if !ok {
		return false
	}
	_, body := sh.record(pos)
	if same, _, _ := installIs(&reader{b: body, dict: &d.dict}, appID, deviceID); !same {
		return false
	}
	sh.scrub(pos)
	sh.pos.del(uint32(h))
	for k, p := range sh.overflow {
		app, dev, _ := cutNul(k)
		if uint32(deviceHash(app, dev)) == uint32(h) {
			sh.pos.put(uint32(h), p)
			delete(sh.overflow, k)
			break
		}
	}
	return true
}

// scrub zeroes the body of the device record at pos and counts it as garbage. The caller
// holds sh.mu.
func (sh *deviceShard) scrub(pos uint32) {
	rec, body := sh.record(pos)
	clear(body)
	sh.garbage += int64(len(rec))
}

// cutNul splits k at its first NUL byte.
func cutNul(k string) (before, after string, found bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == 0 {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}
