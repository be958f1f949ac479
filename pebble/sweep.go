package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	pebbledb "github.com/cockroachdb/pebble/v2"
)

// sweepChunk is how many keys one sweep step scans before it deletes what expired; the
// claim lock is held only for the deletes of one chunk.
const sweepChunk = 4096

// sweepLoop runs Sweep at start and then every interval until Close.
func (s *Dedup) sweepLoop(interval time.Duration) {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if interval < 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.sweep(ctx, true); err != nil && ctx.Err() == nil {
			s.log.Error("dedup sweep failed", "err", err, "deleted", n)
		} else if n > 0 {
			s.log.Info("dedup sweep", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.rebuild: // the filter is full (filter.go)
		}
	}
}

// Sweep deletes the entries first seen before now - Window and returns how many it deleted.
// The background sweeper calls it at Open and every SweepInterval; calling it directly is
// safe at any time. Its deletes are not synced: a delete lost in a crash is redone by the
// next sweep, and Claim ignores expired entries anyway. Returns ctx.Err() when ctx is done,
// EUNAVAILABLE after Close, or a wrapped Pebble error.
func (s *Dedup) Sweep(ctx context.Context) (int, error) { return s.sweep(ctx, false) }

// sweep is Sweep, which with build also builds the key filter (filter.go) from its scan
// and makes it the live one once the scan is complete.
func (s *Dedup) sweep(ctx context.Context, build bool) (deleted int, err error) {
	cutoff := s.now().Add(-s.window).Unix()
	var (
		start   []byte // the first key of the next chunk; nil: the beginning
		expired = make([][]byte, 0, sweepChunk)
		keys    *[][keyLen]byte
	)
	if build {
		if err := s.startBuild(); err != nil {
			return 0, err
		}
		defer func() { s.endBuild(err == nil) }()
		keys = &[][keyLen]byte{}
	}
	for {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		expired = expired[:0]
		next, err := s.scan(start, cutoff, &expired, keys)
		if err != nil {
			return deleted, err
		}
		if keys != nil {
			s.addBuilt(*keys)
			*keys = (*keys)[:0]
		}
		n, err := s.deleteExpired(expired, cutoff)
		deleted += n
		if err != nil || next == nil {
			return deleted, err
		}
		start = next
	}
}

// startBuild registers the filter a sweep builds, sized after the live one, before the
// sweep's first scan (filter.go).
func (s *Dedup) startBuild() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	n := 0
	if s.filter != nil {
		n = s.filter.added
	}
	s.building = newKeyFilter(n)
	return nil
}

// addBuilt adds a scanned chunk's keys to the filter being built.
func (s *Dedup) addBuilt(keys [][keyLen]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.building == nil {
		return
	}
	for i := range keys {
		s.building.add(keys[i][:])
	}
}

// endBuild makes the filter built the live one when the scan was complete, else drops it.
func (s *Dedup) endBuild(complete bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if complete && s.building != nil {
		s.filter = s.building
	}
	s.building = nil
}

// scan reads up to sweepChunk entries from start and appends copies of the keys of the
// expired ones to expired, and of every key to all when it is not nil. It returns the key
// to continue from, nil at the end.
func (s *Dedup) scan(start []byte, cutoff int64, expired *[][]byte, all *[][keyLen]byte) (next []byte, err error) {
	s.scans.RLock()
	defer s.scans.RUnlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errClosed()
	}
	it, err := s.db.NewIter(&pebbledb.IterOptions{LowerBound: start})
	if err != nil {
		return nil, fmt.Errorf("dedup sweep: %w", err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n == sweepChunk {
			return bytes.Clone(it.Key()), nil
		}
		n++
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("dedup sweep: %w", err)
		}
		if _, _, first, ok := decodeValue(v); !ok || first < cutoff {
			*expired = append(*expired, bytes.Clone(it.Key()))
		}
		if all != nil && len(it.Key()) == keyLen {
			*all = append(*all, [keyLen]byte(it.Key()))
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("dedup sweep: %w", err)
	}
	return nil, nil
}

// deleteExpired deletes the keys that are still expired, re-checking each under the claim
// lock: a Claim may have renewed one since the scan read it.
func (s *Dedup) deleteExpired(keys [][]byte, cutoff int64) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed()
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	for _, k := range keys {
		v, closer, err := s.db.Get(k)
		if errors.Is(err, pebbledb.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("dedup sweep: %w", err)
		}
		_, _, first, ok := decodeValue(v)
		closer.Close()
		if ok && first >= cutoff {
			continue
		}
		if err := batch.Delete(k, nil); err != nil {
			return 0, fmt.Errorf("dedup sweep: %w", err)
		}
	}
	n := int(batch.Count())
	if n == 0 {
		return 0, nil
	}
	if err := batch.Commit(pebbledb.NoSync); err != nil {
		return 0, fmt.Errorf("dedup sweep: %w", err)
	}
	return n, nil
}
