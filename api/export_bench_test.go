package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
	"github.com/unmogrowp/unmogrowp/metadata"
)

// BenchmarkExportEvents streams the events export of a DuckDB store of
// UNMOGROWP_EXPORT_EVENTS events of one app (storetest.GenerateExportScale: the export
// is every one of them, 30 days) through the API listener as CSV, read by a client on
// loopback into io.Discard, and reports rows/s and the growth of the process's resident
// memory during the export over what it was just before (rss-growth-MiB, sampled every
// 10 ms), and rows per CPU-second of the whole process (on a shared machine the wall-clock
// rate depends on the neighbours; the CPU rate does not). With -benchtime 2x or more it
// also reports the growth over the runs after the first (rss-growth-warm-MiB): the first
// run also fills DuckDB's block cache (bounded by its memory_limit, shared with the
// reports), the later ones show what the export itself holds. The store is filled when empty, at UNMOGROWP_EXPORT_DB when set (kept and reused
// by the next run: run it twice, so that the measured run is a process that did not fill
// it, as a server that restarted), with DuckDB's default memory limit, as `serve` has it.
//
//	UNMOGROWP_EXPORT_EVENTS=10000000 UNMOGROWP_EXPORT_DB=/tmp/export10m.duckdb \
//	    go test -run XXX -bench BenchmarkExportEvents -benchtime 1x -timeout 60m ./api/
func BenchmarkExportEvents(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("UNMOGROWP_EXPORT_EVENTS"))
	if n <= 0 {
		b.Skip("set UNMOGROWP_EXPORT_EVENTS to the number of events to run it")
	}
	ctx := context.Background()
	path := os.Getenv("UNMOGROWP_EXPORT_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "export.duckdb")
	}
	// The app lives in a metadata store beside the DuckDB file, kept with it.
	meta, err := metadata.Open(ctx, metadata.SQLiteURL(path+".metadata.db"), metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	apps, err := meta.Apps(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	app := &unmogrowp.App{Name: "Export", Platform: "android", Settings: unmogrowp.DefaultAppSettings()}
	if len(apps) > 0 {
		app = apps[0]
	} else if _, err := meta.CreateApp(ctx, app); err != nil {
		b.Fatal(err)
	}
	key, err := meta.RotateServerKey(ctx, app.ID)
	if err != nil {
		b.Fatal(err)
	}
	store, err := duckdb.Open(ctx, path, duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	have, err := store.CountEvents(ctx, unmogrowp.EventFilter{AppID: app.ID})
	if err != nil {
		b.Fatal(err)
	}
	if have == 0 {
		start := time.Now()
		if err := storetest.GenerateExportScale(app.ID, n, 100_000, func(bt unmogrowp.Batch) error { return store.Append(ctx, bt) }); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled %d events in %v", n, time.Since(start).Round(time.Second))
		have = int64(n)
	}
	srv := httptest.NewServer(api.New(api.Config{Apps: meta, Links: meta, Results: store, Registry: prometheus.NewRegistry()}))
	defer srv.Close()
	from, to := storetest.FixtureStart, storetest.FixtureStart.Add(storetest.FixtureSpan)
	url := fmt.Sprintf("%s/api/apps/%s/export/events?from=%s&to=%s", srv.URL, app.ID, from.Format(time.RFC3339), to.Format(time.RFC3339))

	var rows int64
	var growth, warm float64 // warm: over the runs after the first, DuckDB's cache filled
	var cpu time.Duration    // of the whole process: server, store and client
	first := true
	for b.Loop() {
		base := rss(b)
		cpu0 := cpuTime()
		var peak atomic.Int64
		peak.Store(base)
		done := make(chan struct{})
		go func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if v := rss(b); v > peak.Load() {
						peak.Store(v)
					}
				}
			}
		}()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Api-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		lines := &lineCounter{}
		if _, err := io.Copy(lines, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		close(done)
		if resp.StatusCode != 200 || lines.n-1 != have {
			b.Fatalf("export: %d, %d lines for %d events", resp.StatusCode, lines.n, have)
		}
		rows += lines.n - 1
		cpu += cpuTime() - cpu0
		g := float64(peak.Load()-base) / (1 << 20)
		growth = max(growth, g)
		if !first {
			warm = max(warm, g)
		}
		first = false
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(growth, "rss-growth-MiB")
	if b.N > 1 {
		b.ReportMetric(warm, "rss-growth-warm-MiB")
	}
	b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lineCounter counts the line feeds written to it.
type lineCounter struct{ n int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// rss is the process's resident memory in bytes, from /proc/self/statm.
func rss(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm: ", err)
	}
	f := strings.Fields(string(raw))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
