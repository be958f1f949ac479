package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleBench = `goos: linux
goarch: amd64
pkg: github.com/unmogrowp/unmogrowp/wal
cpu: AMD EPYC
BenchmarkAppend/Batch100x32-2         	   10000	    264482 ns/op	 151.24 MB/s	    378102 events/s	    5282 B/op	       0 allocs/op
BenchmarkAppend/Batch100x32-2         	   10000	    364482 ns/op	 151.24 MB/s	    278102 events/s	    5282 B/op	       0 allocs/op
BenchmarkAppend/Batch100x32-2         	   10000	    164482 ns/op	 151.24 MB/s	    478102 events/s	    5282 B/op	       0 allocs/op
PASS
ok  	github.com/unmogrowp/unmogrowp/wal	6.259s
pkg: github.com/unmogrowp/unmogrowp
BenchmarkEventRecord-2   	  715150	      2774 ns/op	  99.84 MB/s	    360431 events/s	     272 B/op	      20 allocs/op
pkg: github.com/unmogrowp/unmogrowp/inmem
BenchmarkCandidates-2                	  265804	      4477 ns/op	         0.8431 candidates/lookup	    223344 lookups/s	     546 B/op	       5 allocs/op
BenchmarkMemory-2   	       1	3961164519 ns/op	        85.00 B/device	        95.00 B/touchpoint
`

func TestReport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("machine.txt", "date: 2026-11-27 09:20 UTC\nCPU: AMD EPYC, 2 cores (nproc)\nGo: go1.26.8 linux/amd64\nload average at the start: 6.84 5.27 5.37 (other processes)\n")
	write("go-bench.txt", sampleBench)
	write("go-commands.txt", "go test -run '^$' -bench '^BenchmarkAppend$' -benchtime 2s -count 3 ./wal\n")
	write("load/01-serve-batch.json", `{"mode":"flat-out","connections":32,"batch_size":100,"events_per_second":400000,"requests_per_second":4000,
		"errors":0,"status_counts":{"200":40000},"latency_p50_ms":7.5,"latency_p99_ms":19,"latency_p999_ms":30,
		"visible":{"via":"api","markers":10,"seen":10,"p50_ms":300,"p99_ms":900,"drain_seconds":1.5,"pipeline_events_per_second":250000}}`)
	write("load/01-serve-batch.cmd", "unmogrowp-bench loadgen --url $INGEST --batch 100 -c 32")
	write("load/02-serve-mixed-fixed.json", `{"mode":"fixed-rate","target_events_per_second":100000,"connections":64,"batch_size":100,
		"events_per_second":99000,"errors":3,"unsent":1234,"status_counts":{"200":900,"302":100,"503":3},
		"visible":{"markers":10,"seen":10,"p50_ms":300,"p99_ms":2500,"drain_seconds":-1}}`)
	write("load/03-baseline-batch.json", `{"mode":"flat-out","connections":32,"batch_size":100,"events_per_second":100000}`)
	write("serve-rss-kb.txt", "524288\n")
	write("profile-top.txt", "flat  flat%\n1.74s 40.56% runtime.cgocall")

	r, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| CPU | AMD EPYC, 2 cores (nproc) |",
		"**The machine was busy**: a load average of 6.8 on 2 cores when the run started.",
		"| serve-batch | 32 | 100 | flat out | **400,000** | 4,000 | 0 | 7.50 ms | 19 ms | 30 ms | 300 / 900 ms (10) | 1.5 s | 250,000 |",
		"| serve-mixed-fixed | 64 | 100 | 100,000/s | **99,000** |",
		"503: 3, 1,234 unsent",
		"not in time",
		"- batch: serve 400,000 events/s, baseline 100,000 events/s: **4.00×** the baseline",
		"| durable batch ingest (100-event batches, 32 connections): at least 400,000 events/s | 400,000 events/s | yes |",
		"| ... and at least 3× the baseline in the same run | 4.00× | yes |",
		"at least 200,000 events/s | 250,000 events/s end to end in the batch run | yes |",
		"under 2 s at 100,000 events/s (serve-mixed-fixed) | p99 2,500 ms over 10 markers, 99,000 events/s sent | **no** |",
		"unmogrowp-bench loadgen --url $INGEST --batch 100 -c 32",
		"| memory: the hot state holds 10 million touchpoints in under 2 GiB | 0.88 GiB (95 B/touchpoint × 10M, inmem Memory) | yes |",
		"| memory: RSS under 1 GiB while ingesting at full speed | peak 512 MiB over the serve runs | yes |",
		// The median of three runs, the GOMAXPROCS suffix dropped.
		"| wal | Append/Batch100x32 | 264.5 µs | 378,102 events/s | 151 MB/s, 5,282 B/op, 0 allocs/op |",
		"| unmogrowp | EventRecord | 2.8 µs | 360,431 events/s |",
		"| inmem | Candidates | 4.5 µs | 223,344 lookups/s | 0.84 candidates/lookup",
		"go test -run '^$' -bench '^BenchmarkAppend$' -benchtime 2s -count 3 ./wal",
		"1.74s 40.56% runtime.cgocall",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 999.6: "1,000", 12.345: "12.3", 0.5: "0.50", 0: "0", 3: "3", -4321: "-4,321"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
