package kafka

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/unmogrowp/unmogrowp"
)

// Reader consumes the topic as one member of a consumer group: the group's members share
// its partitions, and when one leaves or dies the others take its partitions over from
// the last committed offsets, so the records it read but did not commit are delivered
// again (at least once; the pipeline's dedup removes the replays). Offsets are committed
// only by Commit, never automatically. Its methods are safe for concurrent use.
//
// Rebalances are not blocked while the pipeline holds records: it keeps several batches
// in flight between Read and Commit, longer than a rebalance should wait. Instead a
// Commit for a partition this member no longer owns is logged and skipped, and a Commit
// in progress holds a revocation back until it is done, so it lands before the
// partition's next owner fetches the committed offset.
type Reader struct {
	cl     *kgo.Client
	topic  string
	log    *slog.Logger
	limit  time.Duration // Options.Timeout: bounds a Commit and the group leave in Close
	closed atomic.Bool

	// gate orders commits against rebalances: Commit holds it shared from the ownership
	// check until the commit is answered; the rebalance callbacks hold it exclusively.
	gate sync.RWMutex
	lag  tracker
}

// OpenReader returns a Reader of opts.Topic in the consumer group opts.Group. The client
// joins the group in the background; a group with no committed offset for a partition
// starts at its earliest record. It returns EINVALID when Brokers or Topic is missing.
func OpenReader(opts Options) (*Reader, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	r := &Reader{topic: opts.Topic, log: opts.Logger, limit: opts.Timeout}
	r.lag.topic = opts.Topic
	r.lag.parts = map[int32]*part{}
	copts := append(opts.clientOpts(),
		kgo.ConsumerGroup(opts.Group),
		kgo.ConsumeTopics(opts.Topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// As the Java clients' fetch.max.wait.ms: partitions taken over in a rebalance
		// wait for the fetch in flight, so this bounds how long a takeover stalls.
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.OnPartitionsAssigned(r.assigned),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.revoked),
		kgo.WithHooks(&r.lag),
	)
	if opts.SessionTimeout > 0 {
		copts = append(copts, kgo.SessionTimeout(opts.SessionTimeout))
	}
	if opts.HeartbeatInterval > 0 {
		copts = append(copts, kgo.HeartbeatInterval(opts.HeartbeatInterval))
	}
	cl, err := kgo.NewClient(copts...)
	if err != nil {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Kafka consumer settings: %v", err)
	}
	r.cl = cl
	return r, nil
}

// assigned is the OnPartitionsAssigned callback: the member starts tracking the new
// partitions (their offsets are fetched after it returns).
func (r *Reader) assigned(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
	r.gate.Lock()
	defer r.gate.Unlock()
	r.lag.add(ps[r.topic])
}

// revoked is the OnPartitionsRevoked and OnPartitionsLost callback: the member stops
// tracking the partitions, so that later Commits for them are skipped. It commits
// nothing: what was read and not committed is for the next owner to read again.
func (r *Reader) revoked(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
	r.gate.Lock()
	defer r.gate.Unlock()
	r.lag.remove(ps[r.topic])
}

// Read waits until records are available and returns up to max of them (max below 1
// counts as 1), in offset order within each partition. After a rebalance it may return
// records it returned before: a partition's new owner starts from its committed offset.
// Read returns ctx.Err() when ctx is done first, and an error with code EUNAVAILABLE
// after Close or when fetching fails (the client keeps retrying; call Read again).
func (r *Reader) Read(ctx context.Context, max int) ([]unmogrowp.Record, error) {
	if max < 1 {
		max = 1
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.closed.Load() {
			return nil, unavailable("closed", nil)
		}
		fs := r.cl.PollRecords(ctx, max)
		if fs.IsClientClosed() {
			return nil, unavailable("closed", nil)
		}
		out := make([]unmogrowp.Record, 0, fs.NumRecords())
		key := "" // the last key: records come in runs of one key (an app's), one string a run
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if p.Topic != r.topic {
				return
			}
			r.lag.watermark(p.Partition, p.HighWatermark)
			for _, rec := range p.Records {
				if string(rec.Key) != key {
					key = string(rec.Key)
				}
				out = append(out, unmogrowp.Record{
					Partition: rec.Partition,
					Offset:    rec.Offset,
					Key:       key,
					Value:     rec.Value,
				})
			}
		})
		var ferr error
		if errs := fs.Errors(); len(errs) > 0 {
			ferr = errs[0].Err
		}
		if len(out) > 0 {
			if ferr != nil {
				r.log.Warn("kafka: fetch error alongside records", "err", ferr)
			}
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ferr != nil && !errors.Is(ferr, context.Canceled) && !errors.Is(ferr, context.DeadlineExceeded) {
			return nil, unavailable("failing to fetch", ferr)
		}
	}
}

// Commit commits, for each partition in recs, the offset after its highest record there,
// so that the group resumes after it. It commits only what recs name and only for the
// partitions this member owns: a partition lost to another member is logged and skipped
// (its new owner reads those records again), as is an offset at or below the committed
// one, and so is a commit the group refuses because the member was fenced out by a
// rebalance. It returns ctx.Err() when ctx is done first and an error with code
// EUNAVAILABLE after Close or when the commit fails or takes longer than the Timeout.
func (r *Reader) Commit(ctx context.Context, recs []unmogrowp.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.closed.Load() {
		return unavailable("closed", nil)
	}
	want := map[int32]int64{}
	for i := range recs {
		if off := recs[i].Offset + 1; off > want[recs[i].Partition] {
			want[recs[i].Partition] = off
		}
	}
	if len(want) == 0 {
		return nil
	}
	r.gate.RLock()
	defer r.gate.RUnlock()
	offsets, notOwned := r.lag.toCommit(want)
	if len(notOwned) > 0 {
		slices.Sort(notOwned)
		r.log.Warn("kafka: skipping commit for partitions this member no longer owns; their new owner reads them again",
			"topic", r.topic, "partitions", notOwned)
	}
	if len(offsets) == 0 {
		return nil
	}
	var (
		cerr  error
		done  []int32
		fence []int32
	)
	cctx, cancel := context.WithTimeout(ctx, r.limit)
	defer cancel()
	r.cl.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{r.topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					switch err := kerr.ErrorForCode(p.ErrorCode); {
					case err == nil:
						done = append(done, p.Partition)
					case fenced(err):
						fence = append(fence, p.Partition)
					case cerr == nil:
						cerr = err
					}
				}
			}
		})
	r.lag.committed(done, offsets)
	if len(fence) > 0 {
		r.log.Warn("kafka: commit refused after a rebalance; the partitions' owners read the records again",
			"topic", r.topic, "partitions", fence)
	}
	switch {
	case cerr == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(cerr, kgo.ErrClientClosed) || r.closed.Load():
		return unavailable("closed", cerr)
	case fenced(cerr):
		r.log.Warn("kafka: commit refused after a rebalance; the partitions' owners read the records again",
			"topic", r.topic, "err", cerr)
		return nil
	}
	return unavailable("failing to commit", cerr)
}

// fenced tells the commit errors of a member whose generation is over: the partitions
// may belong to another member now, and committing again cannot help.
func fenced(err error) bool {
	return errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) ||
		errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.FencedInstanceID) ||
		errors.Is(err, kerr.StaleMemberEpoch)
}

// Lag returns the records not yet committed in the partitions this member owns and
// roughly how long ago the oldest of them was produced (0, 0 when none).
//
// It is an approximation from what the client has seen, without asking the brokers: the
// end of a partition is the highest of the high watermark in the last fetch Read returned
// and the last record the client fetched in the background; the age comes from the
// producer timestamps of fetched records (within 10ms). Records appended since the last
// fetch are not counted yet, and neither are the partitions of other members: the
// group's total lag is the sum over its members.
func (r *Reader) Lag() (records int64, oldest time.Duration) { return r.lag.lag() }

// Ping reports whether a broker answers within ctx, for /health: nil, or an error with
// code EUNAVAILABLE saying that no Kafka broker answers (or the reader is closed).
func (r *Reader) Ping(ctx context.Context) error {
	if r.closed.Load() {
		return unavailable("closed", nil)
	}
	return ping(ctx, r.cl)
}

// Close leaves the group without committing anything (what was read and not committed
// is delivered again to the partitions' next owners) and releases the client. A blocked
// Read returns an EUNAVAILABLE error, as do later calls. Calling it again returns nil.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.limit)
	defer cancel()
	err := r.cl.LeaveGroupContext(ctx)
	r.cl.Close()
	if err != nil && !errors.Is(err, kgo.ErrClientClosed) {
		r.log.Warn("kafka: leaving the consumer group failed; the group reassigns its partitions after the session timeout", "err", err)
	}
	return nil
}
