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
// write-ahead log (group commit, fdatasync) before each answer.
func BenchmarkIngestBatch(b *testing.B) {
	log, err := wal.Open(context.Background(), filepath.Join(b.TempDir(), "wal"), wal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	srv, sdkKey := benchServer(b, log)
	r := rand.New(rand.NewPCG(3, 4))
	body := ingest.BatchBody(ingest.BenchEvents(r, 100, time.Now().Unix())...)
	b.SetBytes(int64(len(body)))
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/events/batch", bytes.NewReader(body))
			req.Header.Set("X-App-Key", sdkKey)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
