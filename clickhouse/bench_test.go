package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/storetest"
	"github.com/unmogrowp/unmogrowp/testenv"
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

// benchBatch is one batch of the benchmark's pool, and where each install's event is.
type benchBatch struct {
	unmogrowp.Batch
	installEvent []int // index in Events of each install's event
}

func benchmarkAppend(b *testing.B, events, touchpoints int) {
	s := openTest(b)
	batches := max(2, 100_000/events) // a pool of batches, cycled through
	evPool := storetest.RealisticEvents(batches*events, 42)
	tpPool := storetest.RealisticTouchpoints(batches*touchpoints, 43)
	pool := make([]benchBatch, batches)
	for k := range pool {
		bb := &pool[k]
		bb.Events = evPool[k*events : (k+1)*events]
		bb.Touchpoints = tpPool[k*touchpoints : (k+1)*touchpoints]
		if touchpoints > 0 {
			bb.Installs = storetest.RealisticInstalls(bb.Events, bb.Touchpoints, uint64(k))
			for j := range bb.Events {
				if bb.Events[j].EventType == unmogrowp.EventInstall {
					bb.installEvent = append(bb.installEvent, j)
				}
			}
		}
	}
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
		// Each time a batch is appended its rows get new log positions.
		for j := range bb.Events {
			bb.Events[j].Partition, bb.Events[j].Offset = int32(j%4), offset
			offset++
		}
		for j := range bb.Touchpoints {
			bb.Touchpoints[j].Partition, bb.Touchpoints[j].Offset = int32(j%4), offset
			offset++
		}
		for j, e := range bb.installEvent {
			bb.Installs[j].Partition, bb.Installs[j].Offset = bb.Events[e].Partition, bb.Events[e].Offset
		}
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
