package duckdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// BenchmarkAppend appends batches to a file database. The timed part ends with a
// CHECKPOINT, so the cost of compressing what was appended into the database file is
// counted, not left to a later checkpoint. The mixes:
//
//   - events/batch=1000 and events/batch=10000: events only, the pipeline's batch and a
//     big one (what BenchmarkAppendEvents measured before Append replaced AppendEvents);
//   - mixed/batch=1000: the pipeline's batch of an app that buys traffic, 1000 events,
//     1000 touchpoints and the install decisions of the install events (about 140);
//   - touchpoints/batch=1000: a span of the log with clicks only.
//
// It reports events/s and rows/s (all three kinds), the CPU time per row over all
// threads, and the average size of a log record (event or touchpoint; an install decision
// is not one).
func BenchmarkAppend(b *testing.B) {
	for _, mix := range []struct {
		name                string
		events, touchpoints int
	}{
		{"events/batch=1000", 1000, 0},
		{"events/batch=10000", 10000, 0},
		{"mixed/batch=1000", 1000, 1000},
		{"touchpoints/batch=1000", 0, 1000},
	} {
		b.Run(mix.name, func(b *testing.B) { benchmarkAppend(b, mix.events, mix.touchpoints) })
	}
}

func benchmarkAppend(b *testing.B, events, touchpoints int) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "events.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	// A pool of 50 batches, cycled through: each time a batch is appended its rows get
	// new log positions.
	const batches = 50
	pool := storetest.BenchPool(batches, events, touchpoints)
	var records, size int
	for k := range pool {
		bb := &pool[k]
		records += len(bb.Events) + len(bb.Touchpoints)
		for i := range bb.Events {
			size += len(unmogrowp.EncodeEventRecord(nil, &bb.Events[i]))
		}
		for i := range bb.Touchpoints {
			size += len(unmogrowp.EncodeTouchpointRecord(nil, &bb.Touchpoints[i]))
		}
	}
	ctx := context.Background()
	var offset int64
	var nEvents, nRows int
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testenv.ProcessCPU()
	for i := range b.N {
		bb := &pool[i%batches]
		offset = bb.Renumber(offset)
		if err := s.Append(ctx, bb.Batch); err != nil {
			b.Fatal(err)
		}
		nEvents += len(bb.Events)
		nRows += bb.Len()
	}
	if err := s.checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu = testenv.ProcessCPU() - cpu
	if nEvents > 0 {
		b.ReportMetric(float64(nEvents)/b.Elapsed().Seconds(), "events/s")
	}
	b.ReportMetric(float64(nRows)/b.Elapsed().Seconds(), "rows/s")
	// CPU per row, in all threads: unlike rows/s it does not drop when other processes
	// take the cores.
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(nRows), "cpu-µs/row")
	b.ReportMetric(float64(size)/float64(records), "bytes/record")
}

// BenchmarkScanTouchpoints reads 300k touchpoints back, as the hot state does on start:
// in chunks of defaultScanChunk rows, each its own query.
func BenchmarkScanTouchpoints(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "events.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const n = 300_000
	tps := storetest.RealisticTouchpoints(n, 43)
	for i := range tps {
		tps[i].Partition, tps[i].Offset = int32(i%4), int64(i)
	}
	if err := s.Append(ctx, unmogrowp.Batch{Touchpoints: tps}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		got := 0
		if err := s.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{}, func(*unmogrowp.Touchpoint) error {
			got++
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("scanned %d touchpoints, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "touchpoints/s")
}

// BenchmarkScanDevices reads the latest install of 200k devices back, as the hot state
// does on start: in chunks of about defaultScanChunk devices, each its own query.
func BenchmarkScanDevices(b *testing.B) {
	const n = 200_000
	s := installsStore(b, n, func(i int) int { return i % (n * 9 / 10) })
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		got := 0
		if err := s.ScanDevices(ctx, func(unmogrowp.Install) error {
			got++
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if got == 0 {
			b.Fatal("scanned no devices")
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "installs/s")
}

// BenchmarkAttribution looks up one device's install among 200k, as
// GET /api/apps/{app_id}/attribution/{device_id} does (and the load tool's visibility
// probes, many times a second), for a device that has one and for one that has none. It
// reports the process CPU per lookup: DuckDB runs a query on several threads.
func BenchmarkAttribution(b *testing.B) {
	s := installsStore(b, 200_000, func(i int) int { return i })
	ctx := context.Background()
	for _, tt := range []struct {
		name, device string
		found        bool
	}{{"found", "device-123457", true}, {"missing", "device-none", false}} {
		b.Run(tt.name, func(b *testing.B) {
			cpu0 := testenv.ProcessCPU()
			for range b.N {
				in, err := s.Attribution(ctx, "app-2", tt.device)
				if tt.found && (err != nil || in.DeviceID != tt.device) {
					b.Fatalf("Attribution = %+v, %v", in, err)
				}
				if !tt.found && unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
					b.Fatalf("Attribution of a device without installs: %v", err)
				}
			}
			b.ReportMetric(float64((testenv.ProcessCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/lookup")
		})
	}
}

// BenchmarkAttributionSpammed is BenchmarkAttribution for a device that click spam
// reached: 50 installs, each listing MaxCandidatesPerKey rejected touchpoints.
func BenchmarkAttributionSpammed(b *testing.B) {
	s := installsStore(b, 1000, func(i int) int { return i })
	ctx := context.Background()
	spammed := make([]unmogrowp.Install, 50)
	for i := range spammed {
		in := storetest.OrganicInstall(0, int64(1000+i), "app-2", "device-spammed", 0)
		for j := range unmogrowp.MaxCandidatesPerKey {
			in.Rejected = append(in.Rejected, unmogrowp.Rejection{TouchpointID: fmt.Sprintf("%032x", i<<20|j),
				MediaSource: "spam_int", Reason: unmogrowp.RejectClickInjection})
		}
		spammed[i] = in
	}
	if err := s.Append(ctx, unmogrowp.Batch{Installs: spammed}); err != nil {
		b.Fatal(err)
	}
	cpu0 := testenv.ProcessCPU()
	for range b.N {
		if in, err := s.Attribution(ctx, "app-2", "device-spammed"); err != nil || len(in.Rejected) != unmogrowp.MaxCandidatesPerKey {
			b.Fatalf("Attribution = %+v, %v", in, err)
		}
	}
	b.ReportMetric(float64((testenv.ProcessCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/lookup")
}

// installsStore opens a store holding n installs, the i-th of app-(i%5) and of device
// "device-" + device(i), appended in batches of 5,000. It is closed when b ends.
func installsStore(b *testing.B, n int, device func(i int) int) *Store {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "events.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	installs := make([]unmogrowp.Install, n)
	for i := range installs {
		installs[i] = storetest.OrganicInstall(int32(i%4), int64(i), fmt.Sprintf("app-%d", i%5), fmt.Sprintf("device-%d", device(i)), 0)
	}
	for i := 0; i < n; i += 5000 {
		if err := s.Append(context.Background(), unmogrowp.Batch{Installs: installs[i:min(i+5000, n)]}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkAppendTransactions appends the same 491,520 realistic events (four row groups)
// to a new file database in transactions of 20,000 events (what `unmogrowp serve` used to
// write while draining a backlog) and of RowGroupRows, the latter also in six AppendHeld
// batches a transaction (what it writes now), and ends with a CHECKPOINT. It
// reports the CPU per row over all threads, with and without the checkpoint: whole row
// groups are compressed during the append and leave the checkpoint little to do.
func BenchmarkAppendTransactions(b *testing.B) {
	const n = 4 * RowGroupRows
	events := storetest.RealisticEvents(n, 42)
	for i := range events {
		events[i].Partition, events[i].Offset = int32(i%4), int64(i)
	}
	for _, c := range []struct{ tx, held int }{{20_000, 0}, {RowGroupRows, 0}, {RowGroupRows, RowGroupRows / 6}} {
		tx := c.tx
		name := fmt.Sprintf("tx=%d", tx)
		if c.held > 0 {
			name += fmt.Sprintf("/held=%d", c.held)
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var appendCPU, allCPU time.Duration
			for range b.N {
				b.StopTimer()
				s, err := Open(ctx, filepath.Join(b.TempDir(), "events.duckdb"), Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu := testenv.ProcessCPU()
				appendInTransactions(b, s, events, tx, c.held)
				appendCPU += testenv.ProcessCPU() - cpu
				if err := s.checkpoint(ctx); err != nil {
					b.Fatal(err)
				}
				allCPU += testenv.ProcessCPU() - cpu
				b.StopTimer()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			rows := float64(n) * float64(b.N)
			b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(appendCPU.Nanoseconds())/1e3/rows, "append-cpu-µs/row")
			b.ReportMetric(float64(allCPU.Nanoseconds())/1e3/rows, "cpu-µs/row")
		})
	}
}

// appendInTransactions writes events into s in transactions of tx events: each one
// Append, or, when held is positive, AppendHeld batches of held events and a CommitHeld.
func appendInTransactions(b *testing.B, s *Store, events []unmogrowp.Event, tx, held int) {
	ctx := context.Background()
	n := len(events)
	for i := 0; i < n; i += tx {
		if held == 0 {
			if err := s.Append(ctx, unmogrowp.Batch{Events: events[i:min(i+tx, n)]}); err != nil {
				b.Fatal(err)
			}
			continue
		}
		for j := i; j < min(i+tx, n); j += held {
			if err := s.AppendHeld(ctx, unmogrowp.Batch{Events: events[j:min(j+held, i+tx, n)]}); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.CommitHeld(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageMoves stages four moves of 31 batches of 4,096 realistic events (a row
// group and a batch), 300 touchpoints and the install decisions of their install events,
// with a CommitHeld after each, as `unmogrowp serve` does when it has caught up; then
// checkpoints. It reports the CPU per event over all threads of the stage and the moves,
// and of the checkpoint, as the store runs (vacuum=off) and with DuckDB's vacuum of row
// groups turned back on (vacuum=on; its default), which makes the checkpoint merge the
// partial row group each move leaves with the whole ones around it.
func BenchmarkStageMoves(b *testing.B) {
	const batch, perMove, moves, touchpoints = 4096, RowGroupRows/4096 + 1, 4, 300
	batches := realisticBatches(moves*perMove, batch, touchpoints)
	for _, vacuum := range []bool{false, true} {
		name := "vacuum=off"
		if vacuum {
			name = "vacuum=on"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var moveCPU, checkpointCPU time.Duration
			for range b.N {
				b.StopTimer()
				s, err := Open(ctx, filepath.Join(b.TempDir(), "events.duckdb"), Options{})
				if err != nil {
					b.Fatal(err)
				}
				if vacuum {
					if _, err := s.db.ExecContext(ctx, "SET GLOBAL max_vacuum_tasks = 100"); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				cpu := testenv.ProcessCPU()
				stagedMoves(b, s, batches, perMove)
				moved := testenv.ProcessCPU()
				if err := s.checkpoint(ctx); err != nil {
					b.Fatal(err)
				}
				moveCPU += moved - cpu
				checkpointCPU += testenv.ProcessCPU() - moved
				b.StopTimer()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			n := float64(len(batches)*batch) * float64(b.N)
			b.ReportMetric(float64(moveCPU.Nanoseconds())/1e3/n, "move-cpu-µs/event")
			b.ReportMetric(float64(checkpointCPU.Nanoseconds())/1e3/n, "checkpoint-cpu-µs/event")
		})
	}
}

// BenchmarkAppendDeviceFields measures what the events' device fields cost the store:
// four row groups of realistic events written as `serve` drains a backlog (AppendHeld
// batches of a sixth of a row group, a CommitHeld a row group, then a CHECKPOINT), as
// they are (fields=all), and with the twelve fields that describe the device rather than
// the event empty (fields=no-device: OS and app version, model, language, the four
// advertising and vendor ids, ATT status, install referrer, IP, user agent), which is
// about what an events table that stored them once per device would write. It reports
// the CPU per row over all threads and the file's bytes per row.
func BenchmarkAppendDeviceFields(b *testing.B) {
	const n = 4 * RowGroupRows
	for _, device := range []bool{true, false} {
		events := storetest.RealisticEvents(n, 42)
		for i := range events {
			events[i].Partition, events[i].Offset = int32(i%4), int64(i)
			if !device {
				e := &events[i]
				e.OSVersion, e.AppVersion, e.DeviceModel, e.Language = "", "", "", ""
				e.IDFA, e.GAID, e.IDFV, e.AndroidID = "", "", "", ""
				e.ATTStatus, e.InstallReferrer, e.IP, e.UserAgent = "", "", "", ""
			}
		}
		name := "fields=all"
		if !device {
			name = "fields=no-device"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var cpu time.Duration
			var size int64
			for range b.N {
				path := filepath.Join(b.TempDir(), "events.duckdb")
				s, err := Open(ctx, path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				start := testenv.ProcessCPU()
				appendInTransactions(b, s, events, RowGroupRows, RowGroupRows/6)
				if err := s.checkpoint(ctx); err != nil {
					b.Fatal(err)
				}
				cpu += testenv.ProcessCPU() - start
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				size += fi.Size()
			}
			rows := float64(n) * float64(b.N)
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/rows, "cpu-µs/row")
			b.ReportMetric(float64(size)/rows, "file-B/row")
		})
	}
}
