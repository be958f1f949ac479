package pebble

import "encoding/binary"

// New ids skip Pebble. Nearly every claim is of an id never seen, and answering that from
// Pebble's sstables cost a prefix seek per level (an index block and a bloom filter per
// sstable, from the block cache or the disk): the larger part of a claim's CPU and some
// 13% of `unmogrowp serve`'s CPU under load (docs/performance.md, "Sustained end to
// end"). The store keeps one bloom filter over every key it holds, in memory; a key the
// filter has never seen is absent, and Claim writes it without reading Pebble. Keys the
// filter may hold (the duplicates, replays, and ~1% of new ids) are looked up as before.
//
// The filter must never miss a key Pebble holds, or a duplicate would be stored twice:
//
//   - The background sweep builds it (sweepLoop, at Open and every SweepInterval): the
//     filter to be is registered under the claim lock before the scan's first iterator is
//     created, so a key is either written before that (the scan reads it) or by a Claim
//     after it (which adds it to the filter being built as to the live one).
//   - Until the first build completes, there is no filter and every key is looked up.
//   - Deletes (the sweeper's, Forget) leave their keys in the filter: a false positive,
//     looked up, until the next build.
//   - The filter is sized for filterGrowth times the keys its build found (at least
//     minFilterKeys, at most maxFilterKeys); when the keys added since exceed its size,
//     the sweeper is woken to build a larger one, which scans every key held. Past
//     maxFilterKeys it fills up, and more claims are looked up: slower, never wrong,
//     never bigger.

// The bounds of a filter's size, in keys, at filterBitsPerKey: 1.25 bytes a key, so at
// most 40 MiB, twice that while the next one is built. At its size a filter answers
// "may hold" for about 1% of the keys it does not hold (TestKeyFilterFalsePositives).
const (
	minFilterKeys    = 1 << 20
	maxFilterKeys    = 1 << 25
	filterBitsPerKey = 10
)

// filterGrowth is how many times the keys it found a build sizes its filter for: while
// the keys grow, a store that reaches n keys has scanned about n/(filterGrowth-1) keys
// for its builds (BenchmarkClaimSustained), and holds a filter of up to filterGrowth
// times 1.25 bytes a key (within maxFilterKeys).
const filterGrowth = 4

// keyFilter is a split-block bloom filter over dedup keys (the layout Parquet's bloom
// filters use): each key sets one bit in each of the eight 32-bit words of one 256-bit
// block, so adding or testing a key touches one cache line, where a classic bloom filter
// touches one per bit. The key is already a 128-bit hash, so the filter hashes nothing:
// its first 32 bits pick the block, the next 32 the bits.
type keyFilter struct {
	blocks   [][8]uint32
	capacity int
	added    int
}

func newKeyFilter(keys int) *keyFilter {
	n := min(max(filterGrowth*keys, minFilterKeys), maxFilterKeys)
	return &keyFilter{blocks: make([][8]uint32, (n*filterBitsPerKey+255)/256), capacity: n}
}

// filterSalt are the odd constants that spread a key's 32 bits over the block's eight
// words (from the Parquet specification's split block bloom filter).
var filterSalt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

// block returns key's block and the 32 bits that choose its bits there.
func (f *keyFilter) block(key []byte) (*[8]uint32, uint32) {
	i := uint64(binary.BigEndian.Uint32(key[0:4])) * uint64(len(f.blocks)) >> 32
	return &f.blocks[i], binary.BigEndian.Uint32(key[4:8])
}

func (f *keyFilter) add(key []byte) {
	b, x := f.block(key)
	for i, salt := range filterSalt {
		b[i] |= 1 << (x * salt >> 27)
	}
	f.added++
}

// mayContain reports false only for a key never added.
func (f *keyFilter) mayContain(key []byte) bool {
	b, x := f.block(key)
	for i, salt := range filterSalt {
		if b[i]&(1<<(x*salt>>27)) == 0 {
			return false
		}
	}
	return true
}

// full reports whether the filter has more keys than it was sized for (and may grow).
func (f *keyFilter) full() bool { return f.added > f.capacity && f.capacity < maxFilterKeys }

// filterAdd adds key to the live filter and to the one being built. Callers hold s.mu.
func (s *Dedup) filterAdd(key []byte) {
	if s.filter != nil {
		s.filter.add(key)
	}
	if s.building != nil {
		s.building.add(key)
	}
}

// filterAbsent reports whether key is surely not in the store. Callers hold s.mu.
func (s *Dedup) filterAbsent(key []byte) bool {
	return s.filter != nil && !s.filter.mayContain(key)
}

// filterCheck wakes the sweeper to build a larger filter when the live one is full.
// Callers hold s.mu.
func (s *Dedup) filterCheck() {
	if s.filter != nil && s.building == nil && s.filter.full() {
		select {
		case s.rebuild <- struct{}{}:
		default:
		}
	}
}
