package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/storetest"
)

// BenchmarkAppendEvents appends batches of 1000 events (the pipeline's batch) and of
// 10000 to a file database. The timed part ends with a CHECKPOINT, so the cost of
// compressing what was appended into the database file is counted, not left to a later
// checkpoint. It also reports the CPU time per event over all threads.
func BenchmarkAppendEvents(b *testing.B) {
	for _, batch := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchmarkAppend(b, batch) })
	}
}

func benchmarkAppend(b *testing.B, batch int) {
	s, err := Open(filepath.Join(b.TempDir(), "events.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const poolSize = 50000
	pool := storetest.RealisticEvents(poolSize, 42)
	var size int
	for i := range pool {
		size += len(unmogrowp.EncodeEventRecord(nil, &pool[i]))
	}
	batches := poolSize / batch
	ctx := context.Background()
	var offset int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := range b.N {
		events := pool[(i%batches)*batch : (i%batches+1)*batch]
		for j := range events {
			events[j].Partition, events[j].Offset = int32(j%4), offset
			offset++
		}
		if err := s.AppendEvents(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu = processCPU() - cpu
	b.ReportMetric(float64(offset)/b.Elapsed().Seconds(), "events/s")
	// CPU per event, in all threads: unlike events/s it does not drop when other
	// processes take the cores.
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(offset), "cpu-µs/event")
	b.ReportMetric(float64(size)/float64(len(pool)), "bytes/event")
}
