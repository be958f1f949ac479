package duckdb

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// BenchmarkReports times every report the dashboard asks for, on a file database filled
// with storetest.GenerateFixture (1,000,000 events by default, UNMOGROWP_BENCH_REPORT_EVENTS
// to change it; TestReportsAtScale is the 10M and 100M version), for the biggest app over
// the last 7 days of the data, as TestReportsAtScale does. Besides the time per query it
// reports events/s: the events in the whole store over the time of one query, the rate
// that says how the figure would scale with the store. The fixture is appended 100,000
// events at a time, which fills whole row groups; UNMOGROWP_BENCH_REPORT_BATCH changes
// that: 126976 (a row group and 4,096) leaves a partial row group after each whole one,
// as the pipeline's moves do now that the store does not vacuum (store.go).
func BenchmarkReports(b *testing.B) {
	n, batch := 1_000_000, 100_000
	if v, err := strconv.Atoi(os.Getenv("UNMOGROWP_BENCH_REPORT_EVENTS")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("UNMOGROWP_BENCH_REPORT_BATCH")); err == nil && v > 0 {
		batch = v
	}
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "reports.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := storetest.GenerateFixture(n, 1, batch, func(batch unmogrowp.Batch) error { return s.Append(ctx, batch) }); err != nil {
		b.Fatal(err)
	}
	if err := s.checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	for _, r := range storetest.ScaleQueries(ctx, s) {
		b.Run(r.Name, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.Run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
