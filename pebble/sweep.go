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
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("dedup sweep failed", "err", err, "deleted", n)
		} else if n > 0 {
			s.log.Info("dedup sweep", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep deletes the entries first seen before now - Window and returns how many it deleted.
// The background sweeper calls it at Open and every SweepInterval; calling it directly is
// safe at any time. Its deletes are not synced: a delete lost in a crash is redone by the
// next sweep, and Claim ignores expired entries anyway. Returns ctx.Err() when ctx is done,
// EUNAVAILABLE after Close, or a wrapped Pebble error.
func (s *Dedup) Sweep(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.window).Unix()
	var (
		deleted int
		start   []byte // the first key of the next chunk; nil: the beginning
		expired = make([][]byte, 0, sweepChunk)
	)
	for {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		expired = expired[:0]
		next, err := s.scan(start, cutoff, &expired)
		if err != nil {
			return deleted, err
		}
		n, err := s.deleteExpired(expired, cutoff)
		deleted += n
		if err != nil || next == nil {
			return deleted, err
		}
		start = next
	}
}

// scan reads up to sweepChunk entries from start and appends copies of the keys of the
// expired ones to expired. It returns the key to continue from, nil at the end.
func (s *Dedup) scan(start []byte, cutoff int64, expired *[][]byte) (next []byte, err error) {
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
		s.freshDelete(k)
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
