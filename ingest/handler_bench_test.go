package ingest_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/wal"
)

// discardLog is a log that keeps nothing: the benchmark measures the handler alone.
type discardLog struct{}

func (discardLog) Append(context.Context, string, [][]byte) error { return nil }
func (discardLog) Close() error                                   { return nil }

// benchServer returns an ingestion handler appending to log, with one app in a SQLite
// metadata store that lives as long as b, and the app's SDK key.
func benchServer(b *testing.B, log unmogrowp.Log) (*ingest.Server, string) {
	b.Helper()
	meta, err := metadata.Open(context.Background(), metadata.SQLiteURL(filepath.Join(b.TempDir(), "metadata.db")), metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { meta.Close() })
	app := &unmogrowp.App{Name: "Bench", Platform: "android", Settings: unmogrowp.DefaultAppSettings()}
	keys, err := meta.CreateApp(context.Background(), app)
	if err != nil {
		b.Fatal(err)
	}
	return ingest.New(ingest.Config{Log: log, Apps: meta, Registry: prometheus.NewRegistry()}), keys.SDKKey
}

// BenchmarkEventsHandler measures the ingestion handler on realistic events with a log that
// keeps nothing: key lookup (cached), body read, JSON decoding and validation of every
// event, encoding into log records, and the answer. batch=100 posts /v1/events/batch with
// 100 events; single posts /v1/events. It reports events/s; the whole server's figures,
// with the durable log and HTTP, are `unmogrowp loadgen`'s (docs/performance.md).
func BenchmarkEventsHandler(b *testing.B) {
	srv, sdkKey := benchServer(b, discardLog{})
	r := rand.New(rand.NewPCG(1, 2))
	for _, bc := range []struct {
		name  string
		path  string
		batch int
	}{
		{"batch=100", "/v1/events/batch", 100},
		{"single", "/v1/events", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bodies := make([][]byte, 16)
			size := 0
			for i := range bodies {
				events := ingest.BenchEvents(r, bc.batch, time.Now().Unix())
				if bc.batch == 1 {
					bodies[i] = events[0]
				} else {
					bodies[i] = ingest.BatchBody(events...)
				}
				size += len(bodies[i])
			}
			b.SetBytes(int64(size / len(bodies)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bc.path, bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-App-Key", sdkKey)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				i++
			}
			b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(size)/float64(len(bodies)*bc.batch), "bytes/event")
		})
	}
}

// BenchmarkIngestBatch is the whole ingestion of 100-event batches through the handler, 16
// requests at a time: BenchmarkEventsHandler's work plus the durable append to a real
// write-ahead log (group commit, fdatasync) before each answer; by /v1/events/batch and by
// Segment's /v1/batch with the same events, in the same run.
func BenchmarkIngestBatch(b *testing.B) {
	log, err := wal.Open(context.Background(), filepath.Join(b.TempDir(), "wal"), wal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	srv, sdkKey := benchServer(b, log)
	r := rand.New(rand.NewPCG(3, 4))
	events := ingest.BenchEvents(r, 100, time.Now().Unix())
	var calls [][]byte
	for _, e := range events {
		calls = append(calls, ingest.BenchSegmentCall(e))
	}
	for _, bc := range []struct {
		name, path string
		body       []byte
		auth       func(*http.Request)
	}{
		{"events", "/v1/events/batch", ingest.BatchBody(events...), func(r *http.Request) { r.Header.Set("X-App-Key", sdkKey) }},
		{"segment", "/v1/batch", ingest.SegmentBatchBody(calls), func(r *http.Request) { r.SetBasicAuth(sdkKey, "") }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, bc.path, bytes.NewReader(bc.body))
					bc.auth(req)
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("%d %s", rec.Code, rec.Body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkSegmentHandler compares Segment's /v1/batch with /v1/events/batch on the same
// 100 events (benchEvents, and the Segment track calls that say the same), in the same
// run, through the handler with a log that keeps nothing (as BenchmarkEventsHandler). It
// reports events/s of each, and, in interleaved (and in wal, with the durable log), of
// each with the two alternating, and their ratio (segment/events: Segment's rate over the
// events' rate; segment/events-cpu: the same by CPU time).
func BenchmarkSegmentHandler(b *testing.B) {
	srv, sdkKey := benchServer(b, discardLog{})
	r := rand.New(rand.NewPCG(5, 6))
	var events, segment [][]byte
	for range 16 {
		batch := ingest.BenchEvents(r, 100, time.Now().Unix())
		events = append(events, ingest.BatchBody(batch...))
		var calls [][]byte
		for _, e := range batch {
			calls = append(calls, ingest.BenchSegmentCall(e))
		}
		segment = append(segment, ingest.SegmentBatchBody(calls))
	}
	for _, bc := range []struct {
		name, path string
		bodies     [][]byte
		auth       func(*http.Request)
	}{
		{"events/batch=100", "/v1/events/batch", events, func(r *http.Request) { r.Header.Set("X-App-Key", sdkKey) }},
		{"segment/batch=100", "/v1/batch", segment, func(r *http.Request) { r.SetBasicAuth(sdkKey, "") }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bc.path, bytes.NewReader(bc.bodies[i%len(bc.bodies)]))
				bc.auth(req)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"rejected":1`)) {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				i++
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
		})
	}
	// interleaved posts one body of each route per iteration and times each, so that both
	// see the same load of the machine: the ratio holds on a machine shared with other work,
	// where the rates of the two sub-benchmarks above, seconds apart, do not. It also
	// reports the rates per second of the process's CPU time (testenv.ProcessCPU), which
	// other processes' load does not lengthen.
	b.Run("interleaved", func(b *testing.B) { interleave(b, srv, sdkKey, events, segment) })
	// wal is interleaved with the durable log that serve uses (wal/, defaults, in a
	// directory of the test's): each answer waits for its records' write and fdatasync, as a
	// client of the ingestion listener sees it.
	b.Run("wal", func(b *testing.B) {
		log, err := wal.Open(context.Background(), filepath.Join(b.TempDir(), "wal"), wal.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer log.Close()
		srv, sdkKey := benchServer(b, log)
		interleave(b, srv, sdkKey, events, segment)
	})
}

// interleave posts, each iteration, one of the /v1/events/batch bodies and then the Segment
// /v1/batch body of the same events, to srv, and reports the events/s of each by wall time
// and by the process's CPU time, and their ratios (segment/events, segment/events-cpu:
// Segment's rate over the events').
func interleave(b *testing.B, srv *ingest.Server, sdkKey string, events, segment [][]byte) {
	var spent, cpu [2]time.Duration
	i := 0
	for b.Loop() {
		for j, path := range [2]string{"/v1/events/batch", "/v1/batch"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader([2][][]byte{events, segment}[j][i%len(events)]))
			if j == 0 {
				req.Header.Set("X-App-Key", sdkKey)
			} else {
				req.SetBasicAuth(sdkKey, "")
			}
			rec := httptest.NewRecorder()
			start, startCPU := time.Now(), testenv.ProcessCPU()
			srv.ServeHTTP(rec, req)
			spent[j] += time.Since(start)
			cpu[j] += testenv.ProcessCPU() - startCPU
			if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"rejected":1`)) {
				b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
		}
		i++
	}
	b.ReportMetric(float64(b.N*100)/spent[0].Seconds(), "events-events/s")
	b.ReportMetric(float64(b.N*100)/spent[1].Seconds(), "segment-events/s")
	b.ReportMetric(spent[0].Seconds()/spent[1].Seconds(), "segment/events")
	b.ReportMetric(float64(b.N*100)/cpu[0].Seconds(), "events-events/cpu-s")
	b.ReportMetric(float64(b.N*100)/cpu[1].Seconds(), "segment-events/cpu-s")
	b.ReportMetric(cpu[0].Seconds()/cpu[1].Seconds(), "segment/events-cpu")
}
