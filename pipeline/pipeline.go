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
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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

	// Used by Run's goroutine only.
	watermarks map[int32]int64
	events     []unmogrowp.Event
	claims     []unmogrowp.Claim
	claimIdx   []int
	keep       []bool
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

// Run processes the log until ctx is done, then returns nil. It never skips data: a failing
// read, claim, enrichment, store write or commit is logged and retried with back-off
// until it succeeds or ctx is done. A batch interrupted by ctx is abandoned uncommitted and
// processed again, exactly once, by the next Run on the same log, deduplicator and store.
// Run returns ErrRunning if another Run of the same pipeline has not returned.
func (p *Pipeline) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer p.running.Store(false)

	var ok bool
	p.watermarks, ok = retryValue(ctx, p, "watermarks", func() (map[int32]int64, error) {
		return p.s.Watermarks(ctx)
	})
	if !ok {
		return nil
	}
	p.log.Info("pipeline started", "watermarks", p.watermarks)
	for {
		recs, ok := retryValue(ctx, p, "read", func() ([]unmogrowp.Record, error) {
			return p.r.Read(ctx, p.opts.BatchSize)
		})
		if !ok || !p.process(ctx, recs) {
			p.log.Info("pipeline stopped", "records", p.stats.records.Load())
			return nil
		}
	}
}

// process runs one batch through claim, enrichment, store and commit. It returns false
// when ctx is done before the batch is committed.
func (p *Pipeline) process(ctx context.Context, recs []unmogrowp.Record) bool {
	start := time.Now()
	events := p.decode(recs)

	keep, ok := p.claim(ctx, events)
	if !ok {
		return false
	}
	kept := events[:0]
	for i := range events {
		if keep[i] {
			kept = append(kept, events[i])
		}
	}
	dups := len(events) - len(kept)
	events = kept

	if p.opts.Enrich != nil && len(events) > 0 {
		if !p.retry(ctx, "enrich", func() error { return p.opts.Enrich(ctx, events) }) {
			return false
		}
	}
	if !p.store(ctx, events) {
		return false
	}
	p.stats.stored.Add(int64(len(events)))
	p.m.stored.Add(float64(len(events)))
	p.stats.duplicates.Add(int64(dups))
	p.m.duplicates.Add(float64(dups))
	for i := range events {
		if w, ok := p.watermarks[events[i].Partition]; !ok || events[i].Offset > w {
			p.watermarks[events[i].Partition] = events[i].Offset
		}
	}

	if !p.commit(ctx, recs) {
		return false
	}
	p.stats.records.Add(int64(len(recs)))
	p.m.batchSeconds.Observe(time.Since(start).Seconds())
	return true
}

// claim asks the deduplicator which events are the first with their id and returns one
// answer per event. An event without an event id (ingestion always sets one) cannot be
// deduplicated and is kept. It returns false when ctx is done first.
func (p *Pipeline) claim(ctx context.Context, events []unmogrowp.Event) ([]bool, bool) {
	keep := slices.Grow(p.keep[:0], len(events))[:len(events)]
	p.keep = keep
	claims, idx := p.claims[:0], p.claimIdx[:0]
	for i := range events {
		e := &events[i]
		if keep[i] = e.EventID == ""; keep[i] {
			continue
		}
		claims = append(claims, unmogrowp.Claim{
			AppID: e.AppID, EventID: e.EventID, Partition: e.Partition, Offset: e.Offset, Time: e.ReceivedAt,
		})
		idx = append(idx, i)
	}
	p.claims, p.claimIdx = claims, idx
	if len(claims) == 0 {
		return keep, true
	}
	first, ok := retryValue(ctx, p, "claim", func() ([]bool, error) {
		got, err := p.d.Claim(ctx, claims)
		if err == nil && len(got) != len(claims) {
			err = fmt.Errorf("deduplicator answered %d claims of %d", len(got), len(claims))
		}
		return got, err
	})
	if !ok {
		return nil, false
	}
	for j, i := range idx {
		keep[i] = first[j]
	}
	return keep, true
}

// decode returns the events of recs that are new to the store, with their log position.
// Corrupt records are logged, counted and left out. The slice is reused by the next batch.
func (p *Pipeline) decode(recs []unmogrowp.Record) []unmogrowp.Event {
	events := p.events[:0]
	for i := range recs {
		rec := &recs[i]
		if w, ok := p.watermarks[rec.Partition]; ok && rec.Offset <= w {
			p.stats.alreadyStored.Add(1)
			p.m.alreadyStored.Inc()
			continue
		}
		events = append(events, unmogrowp.Event{})
		e := &events[len(events)-1]
		err := unmogrowp.ErrCorruptRecord
		if len(rec.Value) > 0 && rec.Value[0] == unmogrowp.RecordEvent {
			err = unmogrowp.DecodeEventRecord(rec.Value, e)
		}
		if err != nil {
			events = events[:len(events)-1]
			p.stats.corrupt.Add(1)
			p.m.corrupt.Inc()
			p.log.Error("skipping a log record that does not decode", "partition", rec.Partition,
				"offset", rec.Offset, "key", rec.Key, "bytes", len(rec.Value), "err", err)
			continue
		}
		e.Partition, e.Offset = rec.Partition, rec.Offset
	}
	p.events = events
	return events
}

// store appends events to the store, retrying until it succeeds. After a failed attempt it
// reads the watermarks again before retrying: AppendEvents is atomic, so either the whole
// batch made it (the failure was reported after the commit) and nothing is left to write,
// or none of it did.
func (p *Pipeline) store(ctx context.Context, events []unmogrowp.Event) bool {
	if len(events) == 0 {
		return true
	}
	failed := false
	return p.retry(ctx, "store", func() error {
		if failed {
			wm, err := p.s.Watermarks(ctx)
			if err != nil {
				return fmt.Errorf("read watermarks: %w", err)
			}
			stored := 0
			for i := range events {
				if w, ok := wm[events[i].Partition]; ok && events[i].Offset <= w {
					stored++
				}
			}
			if stored == len(events) {
				p.log.Warn("store write reported failure but committed; not writing it again", "events", len(events))
				return nil
			}
			if stored != 0 {
				// The store broke its atomicity contract: do not guess which part is there.
				return fmt.Errorf("store holds %d of %d events of a failed batch", stored, len(events))
			}
		}
		if err := p.s.AppendEvents(ctx, events); err != nil {
			failed = true
			return err
		}
		return nil
	})
}

// commit commits recs on the log. If ctx is done first, it makes one last attempt on a
// short detached context so that a clean shutdown does not leave a stored batch to be
// skipped again after the restart.
func (p *Pipeline) commit(ctx context.Context, recs []unmogrowp.Record) bool {
	if p.retry(ctx, "commit", func() error { return p.r.Commit(ctx, recs) }) {
		return true
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitOnStopLimit)
	defer cancel()
	if err := p.r.Commit(cctx, recs); err != nil {
		p.log.Info("batch stored but not committed at stop; it is skipped after restart", "records", len(recs), "err", err)
		return false
	}
	p.stats.records.Add(int64(len(recs)))
	return false
}

// retry calls f until it succeeds, backing off between attempts. It returns false when ctx
// is done first.
func (p *Pipeline) retry(ctx context.Context, step string, f func() error) bool {
	_, ok := retryValue(ctx, p, step, func() (struct{}, error) { return struct{}{}, f() })
	return ok
}

func retryValue[T any](ctx context.Context, p *Pipeline, step string, f func() (T, error)) (T, bool) {
	wait := p.opts.RetryMin
	for attempt := 1; ; attempt++ {
		v, err := f()
		if err == nil {
			return v, true
		}
		if ctx.Err() != nil {
			return v, false
		}
		p.m.retries.WithLabelValues(step).Inc()
		p.log.Error("pipeline step failed; retrying", "step", step, "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, false
		case <-t.C:
		}
		wait = min(2*wait, p.opts.RetryMax)
	}
}
