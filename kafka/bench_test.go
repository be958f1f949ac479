package kafka_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/unmogrowp/unmogrowp/kafka"
)

// The benchmarks run against kfake in the same process: an in-memory fake with no disk
// and no replication, sharing the CPU with the client. Their figures are an upper bound of
// what the client side does, not of a Kafka cluster.

// benchValues returns n values of size bytes.
func benchValues(n, size int) [][]byte {
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = make([]byte, size)
		for j := range vals[i] {
			vals[i][j] = byte(i*31 + j*7 + j>>5)
		}
	}
	return vals
}

// BenchmarkAppend measures acknowledged appends of 100 records of 400 bytes from 32
// concurrent callers, each its own app, to a topic of 16 partitions, for a few producer
// lingers. kfake discards the records (BlackholeProduce) but acknowledges and checks
// the idempotent sequences as a broker does.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name    string
		linger  time.Duration
		perCall int
	}{
		{"Batch100x32/LingerNone", -1, 100},
		{"Batch100x32/Linger1ms", time.Millisecond, 100},
		{"Batch100x32/Linger5ms", 5 * time.Millisecond, 100},
		{"Single1x32/LingerNone", -1, 1},
		{"Single1x32/Linger1ms", time.Millisecond, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			brokers := startCluster(b, kfake.BlackholeProduce())
			ensureTopic(b, brokers, "bench", 16)
			opts := kafka.Options{Brokers: brokers, Topic: "bench", Linger: bc.linger}
			l := openLog(b, opts)
			vals := benchValues(bc.perCall, 400)
			if err := l.Append(context.Background(), "warm-up", vals); err != nil {
				b.Fatal(err)
			}
			var app atomic.Int64
			b.SetBytes(int64(bc.perCall * 400))
			b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := fmt.Sprintf("com.example.app%d", app.Add(1))
				ctx := context.Background()
				for pb.Next() {
					if err := l.Append(ctx, key, vals); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*bc.perCall)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkReadCommit measures a consumer reading 400-byte records in Reads of up to
// 1000 and committing each batch, as the pipeline does, from a topic of 4 partitions
// filled beforehand with b.N records of 32 apps.
func BenchmarkReadCommit(b *testing.B) {
	brokers := startCluster(b)
	ensureTopic(b, brokers, "bench", 4)
	opts := kafka.Options{Brokers: brokers, Topic: "bench"}
	l := openLog(b, opts)
	vals := benchValues(1000, 400)
	ctx := context.Background()
	for n, app := 0, 0; n < b.N; n, app = n+len(vals), app+1 {
		if err := l.Append(ctx, fmt.Sprintf("com.example.app%d", app%32), vals[:min(len(vals), b.N-n)]); err != nil {
			b.Fatal(err)
		}
	}
	opts.Group = fmt.Sprintf("bench-%d", b.N)
	r := openReader(b, opts)
	b.SetBytes(400)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		recs, err := r.Read(ctx, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Commit(ctx, recs); err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
