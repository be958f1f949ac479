// Package pipeline moves events and touchpoints from the log to the analytics store exactly
// once: it reads batches of log records, decodes them, drops the duplicate events the
// Deduplicator reports, lets a Stage decide and enrich the rest (the Attributor: install
// decisions, every event tagged with its device's attribution), appends the batch to the
// store, tells the Stage the store has it, and only then commits the records on the log.
//
// # Exactly once
//
// The order of the steps is what makes a crash at any point safe:
//
//  1. Claim before storing. Claims are durable when Claim returns. A crash after the claim
//     and before the store write replays the batch; the Deduplicator answers true again
//     for a record with the same partition and offset as the one that claimed its id, so
//     the event is stored then, not lost.
//  2. Store atomically. Append stores all of a batch's rows and raises the
//     partitions' watermarks in one transaction. A crash after it and before the log
//     commit replays the batch; records at or below the watermark loaded at start are
//     skipped, so nothing is stored twice. A store write that fails is retried only after
//     the watermarks are read again, so a write that failed after committing (an
//     ambiguous error) is not repeated.
//  3. Commit last. The log is told a record is processed only once the store has it, so the
//     log never lets go of data the store lacks.
//
// # Held transactions
//
// With Options.HoldRows, a store transaction spans several batches, and the log is
// committed after that transaction's COMMIT, so point 3 holds unchanged. The Stage learns
// each batch (Stored) before the store has it, so that the next batch is decided while
// the store writes this one. A crash before the COMMIT loses the held batches from the
// store and leaves the log where it was: the next run reads them again, their claims
// answer true again (same partition and offset, as in point 1), and they are decided
// again from a hot state rebuilt from the store, which lacks them too. That is why
// holding requires a Stage whose state does not outlive the process (the in-process hot
// state, which `unmogrowp serve` rebuilds from the store at start), and why a batch the
// Stage learned and the store lost while the process runs (a failed write or COMMIT, or
// a stop whose grace passed before the write) ends Run with ErrHeldLost instead of being
// retried. A failure while nothing else is held is retried as a batch's is. A stop stores
// and commits every batch the Stage has learned.
//
// A store that also stages (StagingStore) makes a batch that was not full (the pipeline has
// caught up with the log) visible at once, and durable only with the next commit, so that
// freshness does not wait for a transaction to fill: staged batches are committed once
// they hold HoldRows events or StageFor has passed since the first. Full batches (a
// backlog) are held as before. The commit, and the log's after it, run on a goroutine of
// their own while the next batches are staged or held: a commit that stalls (DuckDB's
// checkpoint) delays durability, not visibility.
//
// Records of one partition are processed in offset order, so a partition's watermark
// covers exactly its records that were stored; the ones at or below it that were
// duplicates or corrupt were not stored and need not be.
//
// # Stages
//
// Run overlaps its work on goroutines: the first stage reads, decodes and claims batch
// N+1 while the second decides, stores and commits batch N. Claims may thus run one batch
// ahead of the store, which point 1 already covers: a claimed batch that never reaches the
// store is replayed and its claims answer true again. With held transactions the store is
// a third stage: the second decides batch N+1 and the Stage learns it while the third
// writes batch N into the transaction and commits. Decisions, store writes and commits
// each stay in read order on one goroutine, so the watermark argument holds unchanged,
// and the Stage sees every batch after the one before it was decided and learned.
package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/skan"
)

// Defaults for Options.
const (
	DefaultBatchSize = 5000
	DefaultRetryMin  = 100 * time.Millisecond
	DefaultRetryMax  = 5 * time.Second
)

// yieldWindow is how often a yielding pipeline looks at the log again.
const yieldWindow = 20 * time.Millisecond

// stopGrace is how long a stop waits for the batch being written: stored, applied to the
// hot state and committed on the log.
const stopGrace = 5 * time.Second

// DefaultHoldFor is Options.HoldFor's default: a held transaction's rows are visible at
// most this long (plus a batch's work) after its first batch was stored.
const DefaultHoldFor = time.Second

// DefaultStageFor is Options.StageFor's default: long enough that a staged row group is
// moved whole at the rates where batches are not full, short enough to keep a restart's
// replay of what was staged and lost brief.
const DefaultStageFor = 5 * time.Second

// DefaultLinger is Options.Linger's default: short next to the seconds a marketer waits
// for a dashboard, long enough to fold a trickle of records into a few batches a second.
const DefaultLinger = 100 * time.Millisecond

// Options configure a Pipeline. Zero fields take the defaults.
type Options struct {
	// BatchSize is the most records read and processed at once; default 5000.
	BatchSize int
	// Linger is how long a read that found fewer than BatchSize records waits for more
	// before the batch is processed; default DefaultLinger, negative for none. Each batch
	// costs the store a transaction and the deduplicator a sync, and their disk flushes
	// slow down the log's own: a trickle of records processed one small batch at a time
	// made every acknowledged request wait several times longer for its fsync.
	Linger time.Duration
	// Logger receives failures and skipped records; default slog.Default().
	Logger *slog.Logger
	// Registerer, when not nil, gets the pipeline's metrics.
	Registerer prometheus.Registerer
	// Stage, when not nil, decides and enriches each batch before it is stored; see Stage.
	Stage Stage
	// RetryMin and RetryMax bound the back-off between attempts of a failing step; it
	// starts at RetryMin and doubles up to RetryMax (defaults 100 ms and 5 s).
	RetryMin, RetryMax time.Duration
	// YieldLimit, when positive, gives the CPU to a log that takes records in faster than
	// the pipeline processes them, as ingestion does in a burst when both share a machine
	// (`unmogrowp serve`). Before each read, while the pipeline is two batches or more
	// behind, its oldest uncommitted record is younger than YieldLimit, and the log took in
	// more records over the last yieldWindow than the pipeline processes in that time, the
	// pipeline waits: the log absorbs the burst, acknowledged at the speed of ingestion
	// alone, and the pipeline catches up when the burst ends. Zero: never.
	YieldLimit time.Duration
	// HoldRows, when positive and the store is a HoldingStore, lets consecutive batches
	// share one store transaction: each is decided on and learned by the Stage, then
	// appended into it (AppendHeld) on a goroutine of its own while the next batch is
	// decided, and the transaction is committed, then the log, once it holds HoldRows
	// events or more, once HoldFor has passed since its first batch, or after a batch that
	// was not full (no backlog: the log had no more to give at once). `unmogrowp serve`
	// holds a DuckDB row group (duckdb.RowGroupRows) in batches of a sixth of it: DuckDB
	// writes the row group compressed, sparing its WAL and the checkpoint's second pass
	// (BenchmarkAppendTransactions in duckdb), and Go holds the decoded rows of three
	// batches at most, one a stage. See "Held transactions" in the package comment for
	// what it requires of the Stage. Zero: a transaction per batch.
	HoldRows int
	// HoldFor bounds how long a held transaction stays open, so that its rows become
	// visible; default DefaultHoldFor.
	HoldFor time.Duration
	// StageFor bounds how long a batch staged by a StagingStore (visible, not durable)
	// waits for the commit that makes it durable; default DefaultStageFor, and never
	// shorter than HoldFor.
	StageFor time.Duration
	// Tombstones, when not nil, are the erased identities (OpenDSR): events and
	// touchpoints that carry one are dropped, neither claimed, decided, stored nor sent,
	// also when the log is read again after their erasure.
	Tombstones Tombstones
}

// Tombstones gives the erased identities as they stand: opendsr.Cache, which reads them
// from the metadata store when they change.
type Tombstones interface {
	// Tombstones returns the current set. An error is retried.
	Tombstones(ctx context.Context) (*unmogrowp.TombstoneSet, error)
}

// Stage is the step between dedup and the store: attribution. Its methods are called on the
// pipeline's second stage's goroutine, one batch at a time, in log order.
type Stage interface {
	// Prepare runs on a batch's new events and touchpoints (after dedup, before the store
	// write; rows of one partition in offset order) and may change the events and fill
	// b.Installs. An error is retried: Prepare is called again with the same rows and
	// b.Installs emptied, so it must not have changed anything outside b. It is not called
	// for an empty batch.
	Prepare(ctx context.Context, b *unmogrowp.Batch) error

	// Stored runs once the store has the batch that Prepare last saw (with held
	// transactions, before the store writes it: see the package comment), before the log
	// commit. An error is retried with the same batch.
	Stored(ctx context.Context, b *unmogrowp.Batch) error
}

// OutboxStage is a Stage that writes what a batch owes to others before the store has it:
// the Attributor's postback deliveries (the outbox). Writing them before the store write
// is what makes them exactly once: a crash before the write replays the batch, decided
// again from the same state, so BeforeStore writes the same things again (it must be
// idempotent); a crash after it skips the batch, whose deliveries are written already.
type OutboxStage interface {
	Stage
	// BeforeStore runs after Prepare, before the store write, on the rows of the batch
	// the store is about to write: b.Events are the first of the events Prepare last saw,
	// in the same order (those handed to it again, stored before, are left out), and
	// b.Installs the decisions of those. It is not called for a batch with nothing to
	// store. An error is retried with the same rows.
	BeforeStore(ctx context.Context, b *unmogrowp.Batch) error
}

// KeepingStage is a Stage whose state lives outside the store and outlives the process:
// the Attributor, whose hot state may be in Redis. A crash between a batch's store write
// and Stored would leave that state without the batch for good, since a restart skips what
// the store holds. So at start the pipeline asks the stage what it has learned, and hands
// it again the records the log delivers that the store holds above that: Prepare and
// Stored, without a store write (nor of the installs Prepare makes for them).
type KeepingStage interface {
	Stage
	// Watermarks returns, by partition, the highest offset of the batches Stored has
	// completed; a partition it has none of is absent.
	Watermarks(ctx context.Context) (map[int32]int64, error)
}

// ValueRecycler is a LogReader that can reuse the memory of the record values it returned:
// the embedded log (wal.WAL). The first stage calls RecycleValues once it has decoded a
// batch, after which nothing reads the batch's values; the log's reads then fill the same
// memory again instead of leaving it to the garbage collector.
type ValueRecycler interface {
	RecycleValues()
}

// HoldingStore is an EventStore that can keep one transaction open across batches
// (Options.HoldRows): the DuckDB store.
type HoldingStore interface {
	unmogrowp.EventStore
	// AppendHeld writes the batch into the open transaction, beginning one, without
	// committing. On error every batch held since the last commit is lost, b included.
	AppendHeld(ctx context.Context, b unmogrowp.Batch) error
	// CommitHeld commits the held batches and raises the watermarks to theirs; nothing
	// held, it does nothing. On error the held batches are either all committed (a
	// failure reported after COMMIT) or all lost.
	CommitHeld(ctx context.Context) error
}

// StagingStore is a HoldingStore that can make a batch visible before it is durable: the
// DuckDB store.
type StagingStore interface {
	HoldingStore
	// AppendStaged writes the batch where every read sees it at once, not durable until
	// the next CommitHeld, which commits it with the held batches. It may run while a
	// CommitHeld is in progress. On error nothing of b is written and nothing else lost.
	AppendStaged(ctx context.Context, b unmogrowp.Batch) error
}

// ErrHeldLost is returned (wrapped) by Run when a held transaction (Options.HoldRows) was
// lost to a failed write or commit while the Stage had learned its batches: the Stage now
// knows of rows the store lacks, which only a restart (an in-process hot state rebuilt
// from the store, the log read again from its last commit) puts right. The process
// should stop.
var ErrHeldLost = errors.New("pipeline: a held store transaction was lost")

// Pipeline processes the log into the store. Create it with New and start it with Run.
type Pipeline struct {
	r    unmogrowp.LogReader
	d    unmogrowp.Deduplicator
	s    unmogrowp.EventStore
	opts Options
	log  *slog.Logger
	m    *metrics

	skanCount *prometheus.CounterVec // unmogrowp_skan_postbacks_total, whose duplicates the pipeline counts

	running atomic.Bool
	stats   struct{ records, stored, touchpoints, duplicates, corrupt, alreadyStored, erased atomic.Int64 }
	// rate is the records per second the second stage processed full batches at (decide,
	// store, commit), a moving average as math.Float64bits; 0 until the first full batch.
	rate atomic.Uint64
	// staged counts the log records of batches written to a StagingStore's stage (visible)
	// whose log commit has not yet been made: Lag counts them, Unseen does not.
	staged atomic.Int64
}

// Stats are running totals since New.
type Stats struct {
	Records       int64 // log records committed: every record, stored or not
	Stored        int64 // events written to the store
	Touchpoints   int64 // touchpoints written to the store
	Duplicates    int64 // events dropped as duplicates
	Corrupt       int64 // records skipped because they do not decode
	AlreadyStored int64 // records skipped because the store had them before a restart
	Erased        int64 // events and touchpoints dropped because they carry an erased identity
}

// New returns a pipeline from r through d into s. Metrics are registered on
// opts.Registerer now; a registration failure (a second pipeline on the same registry) is
// logged and the metrics of this pipeline are then not exported.
func New(r unmogrowp.LogReader, d unmogrowp.Deduplicator, s unmogrowp.EventStore, opts Options) *Pipeline {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultLinger
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HoldFor <= 0 {
		opts.HoldFor = DefaultHoldFor
	}
	if opts.StageFor <= 0 {
		opts.StageFor = DefaultStageFor
	}
	opts.StageFor = max(opts.StageFor, opts.HoldFor)
	if opts.RetryMin <= 0 {
		opts.RetryMin = DefaultRetryMin
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(DefaultRetryMax, opts.RetryMin)
	}
	p := &Pipeline{r: r, d: d, s: s, opts: opts, log: opts.Logger.With("component", "pipeline")}
	m, collectors := newMetrics(p)
	p.m = m
	p.skanCount = skan.Counter(opts.Registerer)
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
		Touchpoints:   p.stats.touchpoints.Load(),
		Duplicates:    p.stats.duplicates.Load(),
		Corrupt:       p.stats.corrupt.Load(),
		AlreadyStored: p.stats.alreadyStored.Load(),
		Erased:        p.stats.erased.Load(),
	}
}

// Lag returns the log reader's lag: records not yet committed and the age of the oldest.
func (p *Pipeline) Lag() (records int64, oldest time.Duration) { return p.r.Lag() }

// Unseen returns how many log records are not yet visible in the store: Lag's records less
// those the pipeline has written to a StagingStore's stage, which are visible and become
// durable with the next commit. When nothing stages, it is Lag's. It never reads lower
// than the truth: the log's lag is read before the staged count, which drops before the
// log commit that takes the same records out of the lag.
func (p *Pipeline) Unseen() int64 {
	lag, _ := p.Lag()
	return max(lag-p.staged.Load(), 0)
}

// ErrRunning is returned by Run when the pipeline is already running.
var ErrRunning = errors.New("pipeline already running")
