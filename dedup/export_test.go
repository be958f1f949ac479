package dedup

// Len counts the entries in the database, expired or not, by scanning them.
func (s *Store) Len() int {
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
