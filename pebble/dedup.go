// Package pebble is the embedded Deduplicator of `unmogrowp serve`: it remembers, in a
// Pebble database in a directory, which (app_id, event_id) pairs the pipeline has stored
// within the dedup window, so that an event sent twice is stored once and claims survive a
// restart. Like the other store packages (wal, duckdb, redis), it is named after what it
// wraps: package redis holds the split deployment's Deduplicator, this one the embedded
// one, and both answer to unmogrowp.Deduplicator. The Pebble library itself is imported as
// pebbledb.
//
// # Keys and collision odds
//
// Each pair is stored under a 16-byte key: the 128-bit xxh3 hash of app_id + "\x00" +
// event_id (app ids are server-generated identifiers that never contain a NUL byte). The
// value is 20 bytes: the log partition (4), the offset (8) of the record that claimed the
// pair, and its first-seen time (8, unix seconds: the record's receive time). Two distinct
// pairs collide with probability 2^-128; among n live pairs the chance of any collision is
// about n²/2^129: for a week at 200,000 events/s (n ≈ 1.2e11) that is about 2e-17, so a
// collision (which would drop one event as a duplicate) is not a practical concern.
//
// # Memory bound
//
// Memory does not grow with the number of ids: the ids live on disk in Pebble's sstables,
// and the process holds only Pebble's block cache (Options.CacheBytes, default 32 MiB) and
// its memtables (at most two of Options.MemTableBytes, default 16 MiB each), plus per-call
// buffers sized by the claim batch, and a bloom filter over every id held (filter.go:
// 1.25 bytes for each id it is sized for, up to four times the ids held, at most 40 MiB,
// twice that while the sweeper builds the next one).
// Pebble accounts memtables inside its cache, so the cache it is given is CacheBytes +
// 2×MemTableBytes (64 MiB by default), and that plus the filters is the bound. Index and
// bloom-filter blocks go through the same cache. The in-memory filter keeps the common
// case, a new id, from reading Pebble at all; the ids it may hold are read through
// Pebble's own bloom filters (10 bits per key, ~1% false positives), one per sstable. When
// those filters (~1.25 bytes per id) outgrow the cache, lookups read filter blocks from
// disk (usually from the OS page cache): the store gets slower, never bigger in memory.
// Raise CacheBytes to keep a larger working set resident.
//
// # Expiry
//
// Claim treats an entry older than the window (counted from the claim's receive time) as
// absent, so correctness never depends on the sweeper. The sweeper only reclaims disk: at
// Open and then every SweepInterval (default one hour) it scans the keys in chunks and
// deletes entries whose first-seen time is older than now - Window. A scan reads every
// live entry, sequentially, which is cheap next to the writes that created them. Deletes are re-checked under the claim lock,
// so a sweep never removes an entry that a concurrent Claim has just renewed. A
// time-bucketed key layout with DeleteRange would make expiry free, but every lookup would
// then need one probe per live bucket (8 for a week of daily buckets); lookups are the hot
// path, so the design keeps one probe per claim. The lookups of one call are made in key
// order with one iterator (see lookup.go).
package pebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	pebbledb "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/zeebo/xxh3"

	"github.com/unmogrowp/unmogrowp"
)

// Defaults for Options.
const (
	DefaultCacheBytes    = 32 << 20
	DefaultMemTableBytes = 16 << 20
	DefaultSweepInterval = time.Hour
)

const (
	keyLen   = 16
	valueLen = 20

	// l0CompactionThreshold is how many memtables' worth of sstables L0 gathers before
	// Pebble compacts them into the level below (BenchmarkClaimSustained).
	l0CompactionThreshold = 32
)

var _ unmogrowp.Deduplicator = (*Dedup)(nil)

// Options configure a Dedup. Zero fields take the defaults.
type Options struct {
	// Window is how long an id is remembered; default unmogrowp.DedupWindow.
	Window time.Duration
	// CacheBytes is the size of Pebble's block cache; default 32 MiB.
	CacheBytes int64
	// MemTableBytes is the size of one Pebble memtable; default 16 MiB. At most two exist.
	MemTableBytes int64
	// SweepInterval is how often expired entries are deleted; default one hour.
	// A negative value disables the background sweeper (Sweep can still be called).
	SweepInterval time.Duration
	// Logger receives the sweeper's and Pebble's messages; default slog.Default().
	Logger *slog.Logger
	// Now returns the current time; default time.Now. Tests set a fake clock.
	Now func() time.Time
}

// Dedup is a Deduplicator backed by a Pebble database. It is safe for concurrent use;
// Claim calls are serialised.
type Dedup struct {
	db     *pebbledb.DB
	window time.Duration
	log    *slog.Logger
	now    func() time.Time

	mu     sync.Mutex                // serialises Claim and the sweeper's deletes
	closed bool                      // under mu
	scans  sync.RWMutex              // held shared by sweep scans, which run without mu; Close waits
	seen   map[[keyLen]byte]struct{} // keys of the current Claim call, reused
	looked []lookup                  // per claim of the current call, reused
	order  []int32                   // claim indexes sorted by key, reused
	write  []int32                   // indexes of the claims to write, reused
	keyBuf []byte                    // hash input buffer, reused

	// The filter of every key held (filter.go), under mu: nil until the first build ends;
	// building is the one the running build fills, nil when none runs.
	filter, building *keyFilter
	rebuild          chan struct{} // wakes the sweeper to build a larger filter

	stop chan struct{}
	done chan struct{}
}

// Open opens (creating if needed) the dedup database in dir and starts the sweeper, which
// runs once right away. Close releases it.
func Open(dir string, opts Options) (*Dedup, error) {
	if opts.Window <= 0 {
		opts.Window = unmogrowp.DedupWindow
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.MemTableBytes <= 0 {
		opts.MemTableBytes = DefaultMemTableBytes
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logger := opts.Logger.With("component", "dedup")

	po := &pebbledb.Options{
		// Pebble reserves its memtables' memory out of the block cache, so the cache it is
		// given is CacheBytes for blocks plus room for the two memtables.
		CacheSize:                   opts.CacheBytes + 2*opts.MemTableBytes,
		MemTableSize:                uint64(opts.MemTableBytes),
		MemTableStopWritesThreshold: 2,
		// Keys are hashes, spread over the whole key space, so every compaction of L0
		// into the level below rewrites all of that level: letting L0 gather 32 memtables
		// first rewrites it an eighth as often as Pebble's default of 4. Lookups are rare
		// (the key filter answers new ids, filter.go), so the deeper L0 costs them little.
		L0CompactionThreshold: l0CompactionThreshold,
		L0StopWritesThreshold: 4 * l0CompactionThreshold,
		FormatMajorVersion:    pebbledb.FormatNewest,
		Logger:                pebbleLogger{logger},
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		// Keys are hashes, and values small numbers: compression finds next to nothing.
		po.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	db, err := pebbledb.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("open dedup store %s: %w", dir, err)
	}
	s := &Dedup{
		db:      db,
		window:  opts.Window,
		log:     logger,
		now:     opts.Now,
		seen:    make(map[[keyLen]byte]struct{}),
		rebuild: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.sweepLoop(opts.SweepInterval)
	return s, nil
}

// Claim implements unmogrowp.Deduplicator. For each claim, in order: an id already seen
// earlier in the same call is a duplicate; otherwise an id that is absent, or whose entry
// is older than the window at the claim's time, is claimed (true); an id whose entry names
// the same partition and offset is a replay of the record that claimed it (true); any other
// is a duplicate (false). All new claims are written in one batch synced to disk before
// Claim returns. A claim with a zero Time counts from Options.Now. Returns EUNAVAILABLE
// after Close, and a wrapped Pebble error if the database cannot be read or written; on
// error no claim of the call is recorded.
func (s *Dedup) Claim(ctx context.Context, claims []unmogrowp.Claim) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed()
	}
	clear(s.seen)
	if err := s.lookup(claims); err != nil {
		return nil, err
	}
	out := make([]bool, len(claims))
	write := s.write[:0] // the claims to write, by index
	var now time.Time
	for i := range claims {
		c, l := &claims[i], &s.looked[i]
		if _, dup := s.seen[l.key]; dup {
			continue
		}
		s.seen[l.key] = struct{}{}
		at := c.Time
		if at.IsZero() {
			if now.IsZero() {
				now = s.now()
			}
			at = now
		}
		if l.found {
			part, off, first, ok := decodeValue(l.val[:])
			if ok && part == c.Partition && off == c.Offset {
				out[i], l.replay = true, true // the record that claimed it, read again
				continue
			}
			if ok && at.Sub(time.Unix(first, 0)) < s.window {
				continue // a duplicate within the window
			}
		}
		encodeValue(&l.val, c.Partition, c.Offset, at.Unix())
		// A later equal key in this call is caught by s.seen; l.val is what is written.
		out[i] = true
		write = append(write, int32(i))
	}
	s.write = write
	if len(write) > 0 {
		// In key order: the memtable's skiplist inserts each key from the previous one's
		// place (Pebble's Inserter), rather than searching from its top for each key of
		// a random sequence.
		slices.SortFunc(write, func(a, b int32) int {
			return bytes.Compare(s.looked[a].key[:], s.looked[b].key[:])
		})
		batch := s.db.NewBatch()
		defer batch.Close()
		for _, i := range write {
			if err := batch.Set(s.looked[i].key[:], s.looked[i].val[:], nil); err != nil {
				return nil, fmt.Errorf("dedup claim: %w", err)
			}
		}
		if err := batch.Commit(pebbledb.Sync); err != nil {
			return nil, fmt.Errorf("dedup commit: %w", err)
		}
		for i := range claims {
			if out[i] && !s.looked[i].replay {
				s.filterAdd(s.looked[i].key[:])
			}
		}
		s.filterCheck()
	}
	return out, nil
}

// Close stops the sweeper and closes the database. Claims after Close fail with
// EUNAVAILABLE. Close is idempotent.
func (s *Dedup) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	<-s.done
	s.scans.Lock() // wait for a Sweep called directly to leave its scan
	defer s.scans.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close dedup store: %w", err)
	}
	return nil
}

func errClosed() error {
	return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The dedup store is closed.")
}

// key returns the hash key of an (app, event) pair. Callers hold s.mu (keyBuf is shared).
func (s *Dedup) key(appID, eventID string) [keyLen]byte {
	b := append(s.keyBuf[:0], appID...)
	b = append(b, 0)
	b = append(b, eventID...)
	s.keyBuf = b
	h := xxh3.Hash128(b)
	var k [keyLen]byte
	binary.BigEndian.PutUint64(k[:8], h.Hi)
	binary.BigEndian.PutUint64(k[8:], h.Lo)
	return k
}

func encodeValue(v *[valueLen]byte, partition int32, offset, firstSeen int64) {
	binary.BigEndian.PutUint32(v[0:4], uint32(partition))
	binary.BigEndian.PutUint64(v[4:12], uint64(offset))
	binary.BigEndian.PutUint64(v[12:20], uint64(firstSeen))
}

// decodeValue returns ok false for a value of the wrong size, which Claim treats as
// absent (it is overwritten) and the sweeper deletes.
func decodeValue(v []byte) (partition int32, offset, firstSeen int64, ok bool) {
	if len(v) != valueLen {
		return 0, 0, 0, false
	}
	return int32(binary.BigEndian.Uint32(v[0:4])), int64(binary.BigEndian.Uint64(v[4:12])),
		int64(binary.BigEndian.Uint64(v[12:20])), true
}

// pebbleLogger routes Pebble's messages to slog: its routine notices at debug level.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "source", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "source", "pebble")
}

// Fatalf logs and panics: Pebble calls it on invariant violations it cannot continue
// from, and a library must not exit the process.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "source", "pebble")
	panic("pebble: " + msg)
}

var _ unmogrowp.Forgetter = (*Dedup)(nil)

// Forget implements unmogrowp.Forgetter: it deletes the claims of the app's event ids,
// synced to disk before it returns, so that no claim of an erased device's events is
// left. Devices and touchpoints are not its to keep: it ignores them. Returns EUNAVAILABLE
// after Close.
func (s *Dedup) Forget(ctx context.Context, appID string, _, _, eventIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(eventIDs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	for _, id := range eventIDs {
		k := s.key(appID, id)
		if err := batch.Delete(k[:], nil); err != nil {
			return fmt.Errorf("dedup forget: %w", err)
		}
	}
	if err := batch.Commit(pebbledb.Sync); err != nil {
		return fmt.Errorf("dedup forget: %w", err)
	}
	return nil
}
