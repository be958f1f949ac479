package pebble

// Lookups skip Pebble's memtables. A claim's lookup used to seek every memtable's skiplist
// (a cache miss per level) before the sstables' bloom filters, the larger part of a
// claim's CPU (BenchmarkClaim; docs/performance-analysis.md). Now the claims written since the last complete flush are also kept in Go
// maps, and Pebble is read with OnlyReadGuaranteedDurable, which sees the sstables only.
// Every key written is either in a map or in an sstable:
//
//   - Claim adds what it wrote to the newest map. When that map holds freshGenLimit keys
//     and no flush is running, a new map starts and the store asks Pebble to flush
//     (AsyncFlush): everything written before the call is in sstables once its channel
//     closes (Pebble closes it only after a successful flush, retrying failed ones), and
//     the maps sealed before the call are dropped then.
//   - Open flushes whatever Pebble recovered from its WAL into memtables before the first
//     Claim, so no key written by an earlier process hides in a memtable.
//   - Pebble's own flushes (a full memtable) put keys in sstables that a map still holds:
//     harmless, the map's value is the same or newer.
//   - The sweeper deletes an expired key from the maps as well as from Pebble.
//
// The maps cost ~2 × freshGenLimit entries (~70 bytes each) at most while a flush runs.

// freshGenLimit is how many keys one map takes before the store starts a flush.
var freshGenLimit = 1 << 17 // a variable for tests

// freshMap is one generation of claims written since the last complete flush.
type freshMap = map[[keyLen]byte][valueLen]byte

// freshLookup returns the newest value written for key since the last complete flush.
// Callers hold s.mu.
func (s *Dedup) freshLookup(key *[keyLen]byte) ([valueLen]byte, bool) {
	for i := len(s.fresh) - 1; i >= 0; i-- {
		if v, ok := s.fresh[i][*key]; ok {
			return v, true
		}
	}
	return [valueLen]byte{}, false
}

// freshAdd records a value written for key. Callers hold s.mu.
func (s *Dedup) freshAdd(key *[keyLen]byte, val *[valueLen]byte) {
	s.fresh[len(s.fresh)-1][*key] = *val
}

// freshDelete forgets key in every map. Callers hold s.mu.
func (s *Dedup) freshDelete(key []byte) {
	k := [keyLen]byte(key)
	for _, m := range s.fresh {
		delete(m, k)
	}
}

// freshTurn drops the maps that a completed flush covers, and seals the newest map and
// starts a flush when it is full and none is running. Callers hold s.mu.
func (s *Dedup) freshTurn() {
	if s.flushing != nil {
		select {
		case <-s.flushing:
			n := copy(s.fresh, s.fresh[s.flushGens:])
			clear(s.fresh[n:]) // no reference left to the dropped maps
			s.fresh = s.fresh[:n]
			s.flushing, s.flushGens = nil, 0
		default:
		}
	}
	if s.flushing != nil || len(s.fresh[len(s.fresh)-1]) < freshGenLimit {
		return
	}
	ch, err := s.db.AsyncFlush()
	if err != nil {
		s.log.Warn("flush the claims' memtable; will retry", "err", err)
		return
	}
	s.flushing, s.flushGens = ch, len(s.fresh)
	s.fresh = append(s.fresh, make(freshMap, freshGenLimit))
}
