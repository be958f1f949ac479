package pebble

import "context"

// Len counts the entries in the database, expired or not, by scanning them.
func (s *Dedup) Len() int {
	s.scans.RLock()
	defer s.scans.RUnlock()
	it, err := s.db.NewIter(nil)
	if err != nil {
		panic(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

// SetFreshGenLimit makes the store start a flush every n claims (fresh.go) until the
// returned function restores the default.
func SetFreshGenLimit(n int) (restore func()) {
	old := freshGenLimit
	freshGenLimit = n
	return func() { freshGenLimit = old }
}

// FreshLen counts the claims held in memory since the last complete flush.
func (s *Dedup) FreshLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.fresh {
		n += len(m)
	}
	return n
}

// WaitFlush waits for the flush that is running, if any, and lets the store drop the
// claims it covers, as the next Claim would.
func (s *Dedup) WaitFlush() {
	s.mu.Lock()
	ch := s.flushing
	s.mu.Unlock()
	if ch != nil {
		<-ch
	}
	s.mu.Lock()
	s.freshTurn()
	s.mu.Unlock()
}

// BuildFilter runs a sweep that builds the key filter (filter.go), as the background
// sweeper does, and returns how many keys the live filter then holds.
func (s *Dedup) BuildFilter(ctx context.Context) (int, error) {
	if _, err := s.sweep(ctx, true); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.filter == nil {
		return 0, nil
	}
	return s.filter.added, nil
}

// FilterReady reports whether a key filter is live.
func (s *Dedup) FilterReady() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filter != nil
}
