package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/kafka"
)

// startCluster starts an in-memory Kafka (kfake) in the test process, closed at the end
// of the test, and returns its broker addresses. Kafka has no Debian package: this is
// how every go test, CI included, exercises the Kafka wire protocol.
func startCluster(t testing.TB, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// nameFor derives a topic or group name from a test's state path.
func nameFor(prefix, state string) string {
	h := fnv.New64a()
	h.Write([]byte(state))
	return fmt.Sprintf("%s-%016x", prefix, h.Sum64())
}

// testOptions are Options for a test: fast heartbeats so that rebalances take
// milliseconds rather than seconds.
func testOptions(brokers []string, topic, group string) kafka.Options {
	return kafka.Options{
		Brokers:           brokers,
		Topic:             topic,
		Group:             group,
		Timeout:           10 * time.Second,
		HeartbeatInterval: 100 * time.Millisecond,
	}
}

func ensureTopic(t testing.TB, brokers []string, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kafka.EnsureTopic(ctx, brokers, topic, partitions, 1); err != nil {
		t.Fatalf("ensure topic %s: %v", topic, err)
	}
}

func openLog(t testing.TB, opts kafka.Options) *kafka.Log {
	t.Helper()
	l, err := kafka.OpenLog(opts)
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openReader(t testing.TB, opts kafka.Options) *kafka.Reader {
	t.Helper()
	r, err := kafka.OpenReader(opts)
	if err != nil {
		t.Fatalf("open reader: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// closers closes each of its members, joining their errors.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// readUntil reads with r until done reports true for what was read so far, failing
// after timeout.
func readUntil(t *testing.T, r unmogrowp.LogReader, timeout time.Duration, done func([]unmogrowp.Record) bool) []unmogrowp.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got []unmogrowp.Record
	for !done(got) {
		recs, err := r.Read(ctx, 100)
		if err != nil {
			t.Fatalf("read after %d records: %v", len(got), err)
		}
		got = append(got, recs...)
	}
	return got
}
