package kafka_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/logtest"
	"github.com/unmogrowp/unmogrowp/kafka"
)

// TestConformance runs the log suite against kfake: each subtest's state names its own
// topic and consumer group, so a restart rejoins the same group on the same topic.
func TestConformance(t *testing.T) {
	brokers := startCluster(t)
	for _, tt := range []struct {
		name       string
		partitions int32
	}{
		{"OnePartition", 1},
		{"FourPartitions", 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logtest.Run(t, func(t *testing.T, state string) (unmogrowp.Log, unmogrowp.LogReader, io.Closer) {
				topic := nameFor("logtest", state)
				ensureTopic(t, brokers, topic, tt.partitions)
				opts := testOptions(brokers, topic, nameFor("group", state))
				l, r := openLog(t, opts), openReader(t, opts)
				return l, r, closers{l, r}
			})
		})
	}
}

func TestOpenValidates(t *testing.T) {
	for _, opts := range []kafka.Options{
		{Topic: "events"},
		{Brokers: []string{"127.0.0.1:9092"}},
	} {
		if _, err := kafka.OpenLog(opts); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("OpenLog(%+v): %v, want code %q", opts, err, unmogrowp.EINVALID)
		}
		if _, err := kafka.OpenReader(opts); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("OpenReader(%+v): %v, want code %q", opts, err, unmogrowp.EINVALID)
		}
	}
}

func TestEnsureTopic(t *testing.T) {
	brokers := startCluster(t)
	ctx := context.Background()
	t.Run("CreateThenExists", func(t *testing.T) {
		ensureTopic(t, brokers, "ensure-twice", 3)
		ensureTopic(t, brokers, "ensure-twice", 3) // exists: nothing to do
		ensureTopic(t, brokers, "ensure-twice", 8) // never repartitioned, no error
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, tt := range []struct {
			name        string
			topic       string
			partitions  int32
			replication int16
		}{
			{"NoPartitions", "ensure-bad", 0, 1},
			{"NoReplicas", "ensure-bad", 1, 0},
			{"NoTopic", "", 1, 1},
			// kfake accepts any topic name, so an invalid name (which Kafka refuses with
			// INVALID_TOPIC_EXCEPTION, mapped to EINVALID) is not tested here.
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := kafka.EnsureTopic(ctx, brokers, tt.topic, tt.partitions, tt.replication)
				if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
					t.Fatalf("EnsureTopic: %v, want code %q", err, unmogrowp.EINVALID)
				}
			})
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		err := kafka.EnsureTopic(ctx, []string{"127.0.0.1:1"}, "nowhere", 1, 1)
		if unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
			t.Fatalf("EnsureTopic on a closed port: %v, want code %q", err, unmogrowp.EUNAVAILABLE)
		}
	})
}

// TestAppendUnreachable checks that an Append to brokers that do not answer fails with
// EUNAVAILABLE within the Timeout instead of hanging.
func TestAppendUnreachable(t *testing.T) {
	opts := testOptions([]string{"127.0.0.1:1"}, "nowhere", "")
	opts.Timeout = time.Second
	l := openLog(t, opts)
	err := l.Append(context.Background(), "app", [][]byte{[]byte("x")})
	if unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
		t.Fatalf("append to a closed port: %v, want code %q", err, unmogrowp.EUNAVAILABLE)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Append(cancelled, "app", [][]byte{[]byte("x")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context: %v", err)
	}
}
