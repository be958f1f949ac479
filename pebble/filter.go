package pebble

import (
	"github.com/bits-and-blooms/bloom/v3"
)

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
//   - The filter is sized for twice the keys its build found (at least minFilterKeys,
//     at most maxFilterKeys); when the keys added since exceed its size, the sweeper is
//     woken to build a larger one. Past maxFilterKeys it fills up, and more claims are
//     looked up: slower, never wrong, never bigger.

// The bounds of a filter's size, in keys, at filterFP false positives: 1.2 bytes a key, so
// at most ~38 MiB, twice that while the next one is built.
const (
	minFilterKeys = 1 << 20
	maxFilterKeys = 1 << 25
	filterFP      = 0.01
)

// keyFilter is a bloom filter over dedup keys and how many were added.
type keyFilter struct {
	bf       *bloom.BloomFilter
	capacity int
	added    int
}

func newKeyFilter(keys int) *keyFilter {
	n := min(max(2*keys, minFilterKeys), maxFilterKeys)
	return &keyFilter{bf: bloom.NewWithEstimates(uint(n), filterFP), capacity: n}
}

func (f *keyFilter) add(key []byte) {
	f.bf.Add(key)
	f.added++
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
	return s.filter != nil && !s.filter.bf.Test(key)
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
