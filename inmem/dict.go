package inmem

import (
	"strings"
	"sync/atomic"

	"github.com/zeebo/xxh3"
)

// Strings that repeat (media sources, campaigns, user agents, app ids) are interned: a
// record refers to them by a small id in a dictionary instead of repeating their bytes.
// A string enters a dictionary only the second time it is seen, so values that never
// repeat (click ids, per-click sub parameters) stay in the records and cost the
// dictionary nothing.

const (
	dictChunkBits = 10
	dictChunkLen  = 1 << dictChunkBits
	maxInternLen  = 1024    // longer strings are never interned
	seenSlots     = 1 << 16 // the probation table: 512 KiB
)

type dictChunk [dictChunkLen]string

// dict maps ids to interned strings. Only the writer (Apply, under State.applyMu) adds to
// it; readers look ids up without a lock. That is safe because an entry is written before
// any record that refers to it is published, under the lock that publishes the record,
// which the reader holds while it reads the record; entries are never changed once
// written, and the list of chunks is replaced atomically when it grows.
type dict struct {
	ids    map[string]uint32 // writer only
	n      uint32            // writer only
	bytes  int64             // writer only: string bytes held
	chunks atomic.Pointer[[]*dictChunk]
}

// get returns the string with id; "" for an id it never gave out.
func (d *dict) get(id uint32) string {
	cs := d.chunks.Load()
	if cs == nil || int(id>>dictChunkBits) >= len(*cs) {
		return ""
	}
	return (*cs)[id>>dictChunkBits][id&(dictChunkLen-1)]
}

// intern returns the id of s, adding s when seen says it was met before; false when s is
// not interned (yet).
func (d *dict) intern(s string, seen *probation) (uint32, bool) {
	if id, ok := d.ids[s]; ok {
		return id, true
	}
	if len(s) > maxInternLen || !seen.again(s) {
		return 0, false
	}
	if d.ids == nil {
		d.ids = make(map[string]uint32)
	}
	id := d.n
	var cs []*dictChunk
	if p := d.chunks.Load(); p != nil {
		cs = *p
	}
	if int(id>>dictChunkBits) == len(cs) {
		cs = append(cs[:len(cs):len(cs)], new(dictChunk)) // a new slice: readers keep the old one
		d.chunks.Store(&cs)
	}
	s = strings.Clone(s) // never keep the caller's (possibly larger) buffer alive
	cs[id>>dictChunkBits][id&(dictChunkLen-1)] = s
	d.ids[s] = id
	d.n++
	d.bytes += int64(len(s))
	return id, true
}

// probation remembers the hashes of recently seen strings in a fixed table: a string
// whose hash is already in its slot has been seen before (or collides, which only interns
// a string early). It belongs to the writer.
type probation struct {
	slots []uint64
}

// again records s and reports whether it was seen before.
func (p *probation) again(s string) bool {
	if p.slots == nil {
		p.slots = make([]uint64, seenSlots)
	}
	h := xxh3.HashString(s) | 1 // never 0, the empty slot
	slot := &p.slots[h&(seenSlots-1)]
	if *slot == h {
		return true
	}
	*slot = h
	return false
}
