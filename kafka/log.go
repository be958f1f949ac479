package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unmogrowp/unmogrowp"
)

// Log appends to a Kafka topic. Its producer is idempotent (the client's default: a retry
// never writes a record twice nor out of order) and waits for all in-sync replicas
// (acks=all). Records are keyed by app id and partitioned like Kafka's Java clients do
// (murmur2 of the key), so one app's records share a partition in the order appended.
// Its methods are safe for concurrent use.
type Log struct {
	cl      *kgo.Client
	timeout time.Duration
	closed  atomic.Bool
}

// OpenLog returns a Log producing to opts.Topic. It does not contact the brokers: the
// first Append does, and fails with EUNAVAILABLE if none answers. It returns EINVALID
// when Brokers or Topic is missing.
func OpenLog(opts Options) (*Log, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	cl, err := kgo.NewClient(append(opts.clientOpts(),
		kgo.DefaultProduceTopic(opts.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(opts.Linger),
		kgo.MaxBufferedRecords(opts.MaxBufferedRecords),
		kgo.RecordDeliveryTimeout(max(opts.Timeout, time.Second)), // the client allows no less
	)...)
	if err != nil {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Kafka producer settings: %v", err)
	}
	return &Log{cl: cl, timeout: opts.Timeout}, nil
}

// Append produces the values in order under key and returns nil once every one of them is
// acknowledged by all in-sync replicas. On any failure it returns an error and
// acknowledges none, though some may be stored (the pipeline's dedup removes them when
// the caller retries): code EUNAVAILABLE when Kafka does not take them within the
// Timeout or after Close, ETOOLARGE for a value over the topic's limit, and ctx.Err() when
// ctx is done first. The values are copied: the caller may reuse them once Append returns.
func (l *Log) Append(ctx context.Context, key string, values [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.closed.Load() {
		return unavailable("closed", nil)
	}
	if len(values) == 0 {
		return nil
	}
	size := 0
	for _, v := range values {
		size += len(v)
	}
	// One copy of the values in one slab: the records may still be in flight when Append
	// returns early.
	slab := make([]byte, 0, size)
	k := []byte(key)
	recs := make([]kgo.Record, len(values))
	w := &acks{done: make(chan struct{})}
	w.left.Store(int64(len(values)))
	// The records' context is the caller's without its cancellation: a batch fails as a
	// whole on its first record's context, so one caller going away must not fail the
	// records of others in the same batch. Timeout still bounds them.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	w.cancel = cancel
	for i, v := range values {
		slab = append(slab, v...)
		recs[i] = kgo.Record{Key: k, Value: slab[len(slab)-len(v):]}
		l.cl.Produce(pctx, &recs[i], w.promise)
	}
	timer := time.NewTimer(l.timeout)
	defer timer.Stop()
	select {
	case <-w.done:
		return produceError(w.err)
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return unavailable("not acknowledging writes", nil)
	}
}

// acks collects the acknowledgements of one Append.
type acks struct {
	left   atomic.Int64
	mu     sync.Mutex
	err    error // the first failure
	cancel context.CancelFunc
	done   chan struct{}
}

func (w *acks) promise(_ *kgo.Record, err error) {
	if err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	if w.left.Add(-1) == 0 {
		w.cancel()
		close(w.done)
	}
}

// produceError maps a produce failure to the error contract of Append.
func produceError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Errorf("%w: %w", unmogrowp.Errorf(unmogrowp.ETOOLARGE, "Log record is over the Kafka topic's size limit."), err)
	case errors.Is(err, kgo.ErrClientClosed):
		return unavailable("closed", err)
	}
	return unavailable("not acknowledging writes", err)
}

// Ping reports whether a broker answers within ctx, for /health: nil, or an error with
// code EUNAVAILABLE saying that no Kafka broker answers (or the log is closed).
func (l *Log) Ping(ctx context.Context) error {
	if l.closed.Load() {
		return unavailable("closed", nil)
	}
	return ping(ctx, l.cl)
}

// Close waits up to Timeout for the records being produced, then releases the client.
// Appends after it fail with EUNAVAILABLE. Calling it again returns nil.
func (l *Log) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	err := l.cl.Flush(ctx)
	l.cl.Close()
	if err != nil {
		return fmt.Errorf("close kafka log: flush: %w", err)
	}
	return nil
}
