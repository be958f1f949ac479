package pebble

import (
	"bytes"
	"context"
	"time"
)

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

// Flush flushes Pebble's memtables to sstables, and with compact compacts all of them.
func (s *Dedup) Flush(compact bool) error {
	if err := s.db.Flush(); err != nil {
		return err
	}
	if !compact {
		return nil
	}
	return s.db.Compact(context.Background(), []byte{0}, bytes.Repeat([]byte{0xff}, keyLen+1), true)
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

// WaitCompactions waits until Pebble has run no flush or compaction for a second.
func (s *Dedup) WaitCompactions() {
	quiet := 0
	for quiet < 20 {
		m := s.db.Metrics()
		if m.Compact.NumInProgress == 0 && m.Flush.NumInProgress == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// FilterFull reports whether the live filter holds more keys than it was sized for, which
// wakes the background sweeper to build a larger one.
func (s *Dedup) FilterFull() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filter != nil && s.filter.full()
}
