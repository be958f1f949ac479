package inmem

// table is an open-addressing hash table from a 32-bit tag to a 32-bit record position,
// 8 bytes a slot (tag in the high half, position+1 in the low half; 0 is empty), with
// linear probing and no deletes (generations are dropped whole; a device's slot is
// overwritten). It holds no pointers, so the garbage collector never scans it, and it
// takes about 12 bytes per entry where a Go map[uint64]uint32 takes about 28.
//
// The tag is all of the key the table knows: the home slot derives from it too, so one
// tag has at most one slot and growing the table keeps every entry findable. Distinct keys
// with the same tag share a slot: callers must tolerate that (the touchpoint index shares
// the chain, a superset; devices check the record and keep the loser elsewhere).
type table struct {
	slots []uint64
	n     int
}

const (
	minTableSlots = 1024
	maxLoadNum    = 3 // grow past 3/4 full
	maxLoadDen    = 4
)

// home is the first slot to probe for tag among n slots.
func home(tag uint32, n int) int {
	return int(uint64(tag*0x9E3779B1) * uint64(n) >> 32)
}

// get returns the position stored under tag.
func (t *table) get(tag uint32) (uint32, bool) {
	n := len(t.slots)
	if n == 0 {
		return 0, false
	}
	for i := home(tag, n); ; {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if uint32(s>>32) == tag {
			return uint32(s) - 1, true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// put stores pos under tag, replacing what was there. The table must have room (fits).
func (t *table) put(tag, pos uint32) {
	n := len(t.slots)
	v := uint64(tag)<<32 | uint64(pos+1)
	for i := home(tag, n); ; {
		s := t.slots[i]
		if s == 0 {
			t.slots[i] = v
			t.n++
			return
		}
		if uint32(s>>32) == tag {
			t.slots[i] = v
			return
		}
		if i++; i == n {
			i = 0
		}
	}
}

// fits reports whether k more entries fit without growing.
func (t *table) fits(k int) bool {
	return (t.n+k)*maxLoadDen <= len(t.slots)*maxLoadNum
}

// grown returns a copy of t with room for k more entries, half full (two slots an entry),
// at least minTableSlots. It only reads t.
func (t *table) grown(k int) table {
	g := table{slots: make([]uint64, max(minTableSlots, 2*(t.n+k)))}
	for _, s := range t.slots {
		if s != 0 {
			g.put(uint32(s>>32), uint32(s)-1)
		}
	}
	return g
}

// sized returns an empty table with room for k entries (and the usual slack).
func sized(k int) table {
	return table{slots: make([]uint64, max(minTableSlots, k*maxLoadDen/maxLoadNum+k/8))}
}

// remap replaces every position p with fn(p).
func (t *table) remap(fn func(uint32) uint32) {
	for i, s := range t.slots {
		if s != 0 {
			t.slots[i] = s&^(1<<32-1) | uint64(fn(uint32(s)-1)+1)
		}
	}
}

// del removes tag's entry, if any, and reports whether there was one: backward-shift
// deletion, which moves each later entry of the probe run that the hole would hide back
// into it, so that every entry stays findable without a tombstone.
func (t *table) del(tag uint32) bool {
	n := len(t.slots)
	if n == 0 {
		return false
	}
	i := home(tag, n)
	for {
		s := t.slots[i]
		if s == 0 {
			return false
		}
		if uint32(s>>32) == tag {
			break
		}
		if i++; i == n {
			i = 0
		}
	}
	hole := i
	for j := (hole + 1) % n; t.slots[j] != 0; j = (j + 1) % n {
		h := home(uint32(t.slots[j]>>32), n)
		// The entry at j may move to the hole unless its home lies cyclically in (hole, j].
		if (j > hole && (h <= hole || h > j)) || (j < hole && h <= hole && h > j) {
			t.slots[hole] = t.slots[j]
			hole = j
		}
	}
	t.slots[hole] = 0
	t.n--
	return true
}
