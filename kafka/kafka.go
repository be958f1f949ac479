// Package kafka is the log of the distributed deployment on Apache Kafka, through the
// franz-go client: Log appends with an idempotent producer and acks=all, keyed by app so
// that an app's records share a partition and keep their order; Reader consumes as a
// member of a consumer group and commits only the offsets the pipeline says it processed.
// They implement unmogrowp.Log and unmogrowp.LogReader.
package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unmogrowp/unmogrowp"
)

var (
	_ unmogrowp.Log       = (*Log)(nil)
	_ unmogrowp.LogReader = (*Reader)(nil)
)

// DefaultGroup is the consumer group of a Reader whose Options name none.
const DefaultGroup = "unmogrowp-consumer"

// Options configure a Log and a Reader. Brokers and Topic are required.
type Options struct {
	// Brokers are the seed brokers, host:port (the seed's KAFKA_BROKERS, comma-separated).
	Brokers []string

	// Topic is the topic of the log (the seed's KAFKA_TOPIC). Create it with EnsureTopic.
	Topic string

	// Group is the consumer group the Reader joins (default DefaultGroup). Every consumer
	// of one deployment uses the same group, so that they share the partitions.
	Group string

	// Partitions is how many partitions Open creates the topic with when it is missing
	// (default DefaultPartitions); an existing topic keeps its own.
	Partitions int32

	// Linger is how long the producer waits for more records before it sends a
	// partition's batch (default 1ms; negative for none). Every Append waits for its
	// batch's acknowledgement, so the linger adds to its latency; the default costs 32
	// concurrent appenders nothing measurable (BenchmarkAppend; figures in
	// docs/performance-analysis.md), and against a real cluster, where requests take
	// longer, it lets more records share a batch.
	Linger time.Duration

	// MaxBufferedRecords bounds the records the producer holds before they are
	// acknowledged; Append waits while it is reached (default 100,000).
	MaxBufferedRecords int

	// Timeout bounds how long an Append waits for its acknowledgements, a Commit for its
	// answer, and Close for the pending records or the group leave (default 30s).
	Timeout time.Duration

	// SessionTimeout and HeartbeatInterval tune the Reader's group membership (defaults
	// 45s and 3s): a member that stops heartbeating for SessionTimeout loses its
	// partitions to the others, and members learn of a rebalance at their next heartbeat.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration

	// Logger receives the client's warnings and errors and the Reader's notes on skipped
	// commits (default: discard).
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if o.Linger == 0 {
		o.Linger = time.Millisecond
	}
	if o.Linger < 0 {
		o.Linger = 0
	}
	if o.MaxBufferedRecords <= 0 {
		o.MaxBufferedRecords = 100_000
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// validate reports a missing required setting as EINVALID.
func (o *Options) validate() error {
	if len(o.Brokers) == 0 {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Kafka brokers are not set (KAFKA_BROKERS).")
	}
	if o.Topic == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Kafka topic is not set (KAFKA_TOPIC).")
	}
	return nil
}

// clientOpts are the options the producer and the consumer share.
func (o *Options) clientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.WithLogger(kgoLogger{o.Logger}),
	}
}

// unavailable is the error of a call the log cannot serve now, with the cause (if any)
// kept for the logs but out of the message a caller may show.
func unavailable(why string, cause error) error {
	e := unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The event log is %s.", why)
	if cause == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, cause)
}

// kgoLogger passes the client's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

// Level implements kgo.Logger.
func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

// Log implements kgo.Logger.
func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	k.l.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}

// ping reports whether a broker of cl answers a metadata request within ctx: nil, or
// EUNAVAILABLE naming Kafka.
func ping(ctx context.Context, cl *kgo.Client) error {
	if err := cl.Ping(ctx); err != nil {
		return unavailable("unreachable: no Kafka broker answers", err)
	}
	return nil
}
