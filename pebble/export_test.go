package pebble

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
