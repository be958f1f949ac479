package pebble

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/unmogrowp/unmogrowp"
)

// lookup is what the database holds for one claim's key.
type lookup struct {
	key    [keyLen]byte
	val    [valueLen]byte // what was found, then what Claim wrote
	found  bool
	replay bool // Claim found the record that claimed it: nothing written
}

// lookup fills s.looked[i] for each claim. It visits the keys in sorted order with one
// iterator: consecutive prefix seeks reuse the iterator's position and loaded blocks, and
// check each sstable's bloom filter, which is cheaper than one Get (a fresh iterator
// stack) per key. Callers hold s.mu.
func (s *Dedup) lookup(claims []unmogrowp.Claim) error {
	n := len(claims)
	s.looked = slices.Grow(s.looked[:0], n)[:n]
	s.order = slices.Grow(s.order[:0], n)[:n]
	for i := range claims {
		s.looked[i] = lookup{key: s.key(claims[i].AppID, claims[i].EventID)}
		s.order[i] = int32(i)
	}
	if n == 0 {
		return nil
	}
	// Keys the filter has never seen are absent (filter.go); the others are read from
	// Pebble, memtables and sstables.
	s.order = slices.DeleteFunc(s.order, func(i int32) bool {
		return s.filterAbsent(s.looked[i].key[:])
	})
	if len(s.order) == 0 {
		return nil
	}
	slices.SortFunc(s.order, func(a, b int32) int {
		return bytes.Compare(s.looked[a].key[:], s.looked[b].key[:])
	})
	it, err := s.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("dedup lookup: %w", err)
	}
	for _, i := range s.order {
		l := &s.looked[i]
		if !it.SeekPrefixGE(l.key[:]) || !bytes.Equal(it.Key(), l.key[:]) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("dedup lookup: %w", err)
		}
		// A value of the wrong size is treated as absent: the claim overwrites it.
		l.found = copy(l.val[:], v) == valueLen && len(v) == valueLen
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("dedup lookup: %w", err)
	}
	return nil
}
