package kafka_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/kafka"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url  string
		want kafka.Options
	}{
		{"kafka://b1:9092", kafka.Options{Brokers: []string{"b1:9092"}, Topic: kafka.DefaultTopic, Group: kafka.DefaultGroup, Partitions: kafka.DefaultPartitions}},
		{"kafka://b1,b2:9093/events?partitions=4&group=g1", kafka.Options{Brokers: []string{"b1:9092", "b2:9093"}, Topic: "events", Group: "g1", Partitions: 4}},
		{"kafka://[::1]:9092/t.v-1_x", kafka.Options{Brokers: []string{"[::1]:9092"}, Topic: "t.v-1_x", Group: kafka.DefaultGroup, Partitions: kafka.DefaultPartitions}},
	} {
		got, err := kafka.ParseURL(tt.url)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tt.url, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "wal:///x", "kafka://", "kafka:///topic", "kafka://u:p@b1:9092/t", "kafka://b1:x/t",
		"kafka://b1:9092/bad topic", "kafka://b1:9092/t?partitions=0", "kafka://b1:9092/t?replicas=3", "kafka://b1:9092/t?group="} {
		if _, err := kafka.ParseURL(bad); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("ParseURL(%q): %v, want code %s", bad, err, unmogrowp.EINVALID)
		}
	}
}

// TestOpenURL: Open creates the URL's topic with its partitions, and its Log and Reader
// carry records through it.
func TestOpenURL(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic, err := kafka.Open(ctx, "kafka://"+cluster.ListenAddrs()[0]+"/url-test?partitions=3&group=g",
		kafka.Options{Brokers: []string{"192.0.2.1:1"}, Topic: "ignored", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l, err := topic.Log()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, err := topic.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := l.Append(ctx, "app", [][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}
	recs, err := r.Read(ctx, 10)
	if err != nil || len(recs) != 1 || string(recs[0].Value) != "one" {
		t.Fatalf("Read: %v %v", recs, err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx, "url-test")
	if err != nil || len(details["url-test"].Partitions) != 3 {
		t.Errorf("topic url-test: %+v %v, want 3 partitions", details["url-test"], err)
	}
}
