// Package opendsr carries out OpenDSR (OpenGDPR) subject requests (docs/privacy.md): the
// tombstones' cache that ingestion and the pipeline consult, the job that erases a
// subject from every store or writes its access file, the processor's signing key, and
// the signed status callbacks.
package opendsr

import (
	"context"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TombstoneStore is where the cache reads tombstones: the metadata store.
type TombstoneStore interface {
	// TombstoneVersion changes whenever a tombstone is added or removed.
	TombstoneVersion(ctx context.Context) (string, error)
	// Tombstones returns them all.
	Tombstones(ctx context.Context) ([]unmogrowp.Tombstone, error)
}

// Cache holds the tombstones of every app in memory and reads them again when their
// version changes: one small query per call, at most every MinInterval. It is safe for
// concurrent use.
type Cache struct {
	store TombstoneStore
	// MinInterval is how long an answer is reused without asking the store; 0 asks on
	// every call (the pipeline: once a batch, so that an erasure takes effect at the next
	// batch).
	MinInterval time.Duration

	mu      sync.Mutex
	version string
	set     *unmogrowp.TombstoneSet
	checked time.Time
}

// NewCache returns a cache of store's tombstones.
func NewCache(store TombstoneStore) *Cache { return &Cache{store: store} }

// Tombstones returns the current set (pipeline.Tombstones).
func (c *Cache) Tombstones(ctx context.Context) (*unmogrowp.TombstoneSet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set != nil && c.MinInterval > 0 && time.Since(c.checked) < c.MinInterval {
		return c.set, nil
	}
	v, err := c.store.TombstoneVersion(ctx)
	if err != nil {
		return nil, err
	}
	if c.set == nil || v != c.version {
		ts, err := c.store.Tombstones(ctx)
		if err != nil {
			return nil, err
		}
		c.set, c.version = unmogrowp.NewTombstoneSet(ts), v
	}
	c.checked = time.Now()
	return c.set, nil
}
