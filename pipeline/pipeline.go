// Package pipeline moves events from the log to the analytics store exactly once: it reads
// batches of log records, decodes them, drops the duplicates the Deduplicator reports, lets
// an optional hook enrich the rest (attribution), appends them to the store, and only then
// commits the records on the log.
//
// # Exactly once
//
// The order of the steps is what makes a crash at any point safe:
//
//  1. Claim before storing. Claims are durable when Claim returns. A crash after the claim
//     and before the store write replays the batch; the Deduplicator answers true again
//     for a record with the same partition and offset as the one that claimed its id, so
//     the event is stored then, not lost.
//  2. Store atomically. AppendEvents stores all of a batch's events and raises the
//     partitions' watermarks in one transaction. A crash after it and before the log
//     commit replays the batch; records at or below the watermark loaded at start are
//     skipped, so nothing is stored twice. A store write that fails is retried only after
//     the watermarks are read again, so a write that failed after committing (an
//     ambiguous error) is not repeated.
//  3. Commit last. The log is told a record is processed only once the store has it, so the
//     log never lets go of data the store lacks.
//
// Records of one partition are processed in offset order, so a partition's watermark
// covers exactly its records that were stored; the ones at or below it that were
// duplicates or corrupt were not stored and need not be.
//
// # Two stages
//
// Run overlaps two stages on two goroutines: the first reads, decodes and claims batch
// N+1 while the second enriches, stores and commits batch N. Claims may thus run one batch
// ahead of the store, which point 1 already covers: a claimed batch that never reaches the
// store is replayed and its claims answer true again. Enrichment, store writes and commits
// stay in read order on one goroutine, so the watermark argument holds unchanged.
package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
)

// Defaults for Options.
const (
	DefaultBatchSize  = 5000
	DefaultRetryMin   = 100 * time.Millisecond
	DefaultRetryMax   = 5 * time.Second
	commitOnStopLimit = 5 * time.Second
)

// Options configure a Pipeline. Zero fields take the defaults.
type Options struct {
	// BatchSize is the most records read and processed at once; default 5000.
	BatchSize int
	// Logger receives failures and skipped records; default slog.Default().
	Logger *slog.Logger
	// Registerer, when not nil, gets the pipeline's metrics.
	Registerer prometheus.Registerer
	// Enrich, when not nil, runs on each batch's new events (after dedup, in log order,
	// before the store write) and may change them, e.g. set MediaSource and Campaign. It
	// must not keep the slice after it returns. An error is retried like a store failure;
	// the same events are passed again. It is not called for an empty batch.
	Enrich func(ctx context.Context, events []unmogrowp.Event) error
	// RetryMin and RetryMax bound the back-off between attempts of a failing step; it
	// starts at RetryMin and doubles up to RetryMax (defaults 100 ms and 5 s).
	RetryMin, RetryMax time.Duration
}

// Pipeline processes the log into the store. Create it with New and start it with Run.
type Pipeline struct {
	r    unmogrowp.LogReader
	d    unmogrowp.Deduplicator
	s    unmogrowp.EventStore
	opts Options
	log  *slog.Logger
	m    *metrics

	running atomic.Bool
	stats   struct{ records, stored, duplicates, corrupt, alreadyStored atomic.Int64 }
}

// Stats are running totals since New.
type Stats struct {
	Records       int64 // log records committed: every record, stored or not
	Stored        int64 // events written to the store
	Duplicates    int64 // events dropped as duplicates
	Corrupt       int64 // records skipped because they do not decode
	AlreadyStored int64 // records skipped because the store had them before a restart
}

// New returns a pipeline from r through d into s. Metrics are registered on
// opts.Registerer now; a registration failure (a second pipeline on the same registry) is
// logged and the metrics of this pipeline are then not exported.
func New(r unmogrowp.LogReader, d unmogrowp.Deduplicator, s unmogrowp.EventStore, opts Options) *Pipeline {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = DefaultRetryMin
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(DefaultRetryMax, opts.RetryMin)
	}
	p := &Pipeline{r: r, d: d, s: s, opts: opts, log: opts.Logger.With("component", "pipeline")}
	m, collectors := newMetrics(r)
	p.m = m
	if opts.Registerer != nil {
		for _, c := range collectors {
			if err := opts.Registerer.Register(c); err != nil {
				p.log.Warn("pipeline metrics not registered", "err", err)
			}
		}
	}
	return p
}

// Stats returns the running totals.
func (p *Pipeline) Stats() Stats {
	return Stats{
		Records:       p.stats.records.Load(),
		Stored:        p.stats.stored.Load(),
		Duplicates:    p.stats.duplicates.Load(),
		Corrupt:       p.stats.corrupt.Load(),
		AlreadyStored: p.stats.alreadyStored.Load(),
	}
}

// Lag returns the log reader's lag: records not yet committed and the age of the oldest.
func (p *Pipeline) Lag() (records int64, oldest time.Duration) { return p.r.Lag() }

// ErrRunning is returned by Run when the pipeline is already running.
var ErrRunning = errors.New("pipeline already running")
