package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/internal/storetest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// BenchmarkAppend appends batches of realistic rows to the test server, each batch one
// INSERT per table and one of the watermarks, as the consumer does. The mixes:
//
//   - mixed/batch=5000: 5000 events, 5000 touchpoints and the install decisions of the
//     install events (about 700): the consumer's batch of an app that buys traffic;
//   - events/batch=5000: events only;
//   - mixed/batch=50000: ten times the consumer's batch, fewer and bigger parts, which is
//     what ClickHouse prefers (each INSERT is a part to write now and merge later).
//
// It reports events/s and rows/s (all three kinds), the client's CPU time per row (this
// process: building the columns and encoding the native protocol) and, when the server
// runs on this machine and its process can be read, the server's.
func BenchmarkAppend(b *testing.B) {
	for _, mix := range []struct {
		name                string
		events, touchpoints int
	}{
		{"mixed/batch=5000", 5000, 5000},
		{"events/batch=5000", 5000, 0},
		{"mixed/batch=50000", 50000, 50000},
	} {
		b.Run(mix.name, func(b *testing.B) { benchmarkAppend(b, mix.events, mix.touchpoints) })
	}
}

func benchmarkAppend(b *testing.B, events, touchpoints int) {
	s := openTest(b)
	batches := max(2, 100_000/events) // a pool of batches, cycled through
	pool := storetest.BenchPool(batches, events, touchpoints)
	ctx := context.Background()
	var offset int64
	var nEvents, nRows int
	server := 0
	if pids := testenv.PIDsNamed("clickhouse-serv"); len(pids) > 0 {
		server = pids[0]
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu, serverCPU := testenv.ProcessCPU(), pidCPU(server)
	for i := range b.N {
		bb := &pool[i%batches]
		offset = bb.Renumber(offset) // each time a batch is appended its rows get new positions
		if err := s.Append(ctx, bb.Batch); err != nil {
			b.Fatal(err)
		}
		nEvents += len(bb.Events)
		nRows += bb.Len()
	}
	b.StopTimer()
	cpu = testenv.ProcessCPU() - cpu
	b.ReportMetric(float64(nEvents)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(nRows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(nRows), "client-cpu-µs/row")
	if server > 0 {
		serverCPU = pidCPU(server) - serverCPU
		b.ReportMetric(float64(serverCPU.Nanoseconds())/1e3/float64(nRows), "server-cpu-µs/row")
	}
}

// pidCPU returns the CPU time (user and system) process pid has used so far, or 0.
func pidCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	user, sys := testenv.PIDTicks(pid)
	return time.Duration(user+sys) * 10 * time.Millisecond
}
