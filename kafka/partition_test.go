package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// murmur2 is Kafka's Utils.murmur2, which the Java clients' default partitioner hashes
// keys with: partition = (murmur2(key) & 0x7fffffff) % partitions.
func murmur2(data []byte) int32 {
	const m, r = uint32(0x5bd1e995), 24
	n := len(data)
	h := uint32(0x9747b28c) ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := n &^ 3
	switch n % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// javaPartition is the partition Kafka's Java producer picks for key.
func javaPartition(key string, partitions int32) int32 {
	return (murmur2([]byte(key)) & 0x7fffffff) % partitions
}

// TestMurmur2 checks the reference hash against the values of Kafka's own tests
// (UtilsTest.testMurmur2), so the partition checks below compare with the Java clients.
func TestMurmur2(t *testing.T) {
	for in, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := murmur2([]byte(in)); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestKeyPartitionStableAndOrdered appends for three apps concurrently, then again from
// a second producer, and checks that each app's records are all in the partition the
// Java clients would pick for its key, in the order appended.
func TestKeyPartitionStableAndOrdered(t *testing.T) {
	brokers := startCluster(t)
	const topic, partitions = "by-app", 4
	ensureTopic(t, brokers, topic, partitions)
	opts := testOptions(brokers, topic, "by-app-group")
	// Three apps in three different partitions of four (see javaPartition).
	apps := []string{"com.example.alpha", "com.example.shop", "com.example.game"}
	const calls, per = 20, 10

	appendAll := func(first int) {
		t.Helper()
		l := openLog(t, opts)
		var wg sync.WaitGroup
		errs := make(chan error, len(apps))
		for _, app := range apps {
			wg.Go(func() {
				for c := range calls {
					vs := make([][]byte, per)
					for i := range vs {
						vs[i] = fmt.Appendf(nil, "%s/%d", app, first+c*per+i)
					}
					if err := l.Append(context.Background(), app, vs); err != nil {
						errs <- fmt.Errorf("append %s: %w", app, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("close log: %v", err)
		}
	}
	appendAll(0)
	appendAll(calls * per) // a new producer: same partitions, order continues

	total := 2 * calls * per * len(apps)
	r := openReader(t, opts)
	got := readUntil(t, r, 20*time.Second, func(got []unmogrowp.Record) bool { return len(got) >= total })
	if len(got) != total {
		t.Fatalf("read %d records, want %d", len(got), total)
	}
	next := map[string]int{}
	used := map[int32]bool{}
	for i, rec := range got {
		used[rec.Partition] = true
		var seq int
		if _, err := fmt.Sscanf(string(rec.Value), rec.Key+"/%d", &seq); err != nil {
			t.Fatalf("record %d: value %q does not match key %q", i, rec.Value, rec.Key)
		}
		if want := javaPartition(rec.Key, partitions); rec.Partition != want {
			t.Fatalf("record %d of %s in partition %d, want %d (murmur2, as the Java clients)", i, rec.Key, rec.Partition, want)
		}
		if seq != next[rec.Key] {
			t.Fatalf("record %d of %s: seq %d where %d was due", i, rec.Key, seq, next[rec.Key])
		}
		next[rec.Key]++
	}
	if len(used) != len(apps) {
		t.Fatalf("the %d apps used %d partitions, want one each", len(apps), len(used))
	}
}
