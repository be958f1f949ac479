package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/sqlite"
	"github.com/unmogrowp/unmogrowp/wal"
)

// discardLog is a log that keeps nothing: the benchmark measures the handler alone.
type discardLog struct{}

func (discardLog) Append(context.Context, string, [][]byte) error { return nil }
func (discardLog) Close() error                                   { return nil }

// benchEvents returns n realistic events of about 440 bytes as JSON objects.
func benchEvents(r *rand.Rand, n int, now int64) [][]byte {
	types := []string{"session", "session", "session", "level_complete", "ad_view", "purchase", "install"}
	out := make([][]byte, n)
	for i := range out {
		dev := r.IntN(100_000)
		typ := types[r.IntN(len(types))]
		ids := fmt.Sprintf(`"platform":"android","os_version":"14","device_model":"Pixel 8","gaid":"38400000-8cf0-11bd-b23e-%012d","user_agent":"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)"`, dev)
		if dev%2 == 0 {
			ids = fmt.Sprintf(`"platform":"ios","os_version":"17.1.2","device_model":"iPhone15,2","idfa":"6D92078A-8246-4BA4-AE5B-%012d","user_agent":"Game/3 CFNetwork/1485 Darwin/23.1.0"`, dev)
		}
		extra := fmt.Sprintf(`"event_data":{"screen":"level_%d","ab_group":"B","score":%d}`, r.IntN(60), r.IntN(100000))
		if typ == "purchase" {
			extra = `"revenue":4.99,"currency":"USD","event_data":{"product_id":"gems_550","quantity":1}`
		}
		out[i] = fmt.Appendf(nil, `{"event_type":"%s","event_id":"bench-%016x","device_id":"d%010d","session_id":"s%010d-%04d","timestamp":%d,%s,"app_version":"3.2.1","country":"US","ip":"203.0.113.%d",%s}`,
			typ, r.Uint64(), dev, dev, r.IntN(10000), now, ids, 1+r.IntN(250), extra)
	}
	return out
}

// BenchmarkEventsHandler measures the ingestion handler on realistic events with a log that
// keeps nothing: key lookup (cached), body read, JSON decoding and validation of every
// event, encoding into log records, and the answer. batch=100 posts /v1/events/batch with
// 100 events; single posts /v1/events. It reports events/s; the whole server's figures,
// with the durable log and HTTP, are `unmogrowp loadgen`'s (docs/performance.md).
func BenchmarkEventsHandler(b *testing.B) {
	meta, err := sqlite.Open(filepath.Join(b.TempDir(), "metadata.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	app := &unmogrowp.App{Name: "Bench", Platform: "android", Settings: unmogrowp.DefaultAppSettings()}
	keys, err := meta.CreateApp(context.Background(), app)
	if err != nil {
		b.Fatal(err)
	}
	srv := ingest.New(ingest.Config{Log: discardLog{}, Apps: meta, Registry: prometheus.NewRegistry()})
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
				events := benchEvents(r, bc.batch, time.Now().Unix())
				if bc.batch == 1 {
					bodies[i] = events[0]
				} else {
					bodies[i] = append(append([]byte(`{"events":[`), bytes.Join(events, []byte(","))...), `]}`...)
				}
				size += len(bodies[i])
			}
			b.SetBytes(int64(size / len(bodies)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bc.path, bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-App-Key", keys.SDKKey)
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
	meta, err := sqlite.Open(filepath.Join(b.TempDir(), "metadata.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	log, err := wal.Open(filepath.Join(b.TempDir(), "wal"), wal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	app := &unmogrowp.App{Name: "Bench", Platform: "android", Settings: unmogrowp.DefaultAppSettings()}
	keys, err := meta.CreateApp(context.Background(), app)
	if err != nil {
		b.Fatal(err)
	}
	srv := ingest.New(ingest.Config{Log: log, Apps: meta, Registry: prometheus.NewRegistry()})
	r := rand.New(rand.NewPCG(3, 4))
	body := append(append([]byte(`{"events":[`), bytes.Join(benchEvents(r, 100, time.Now().Unix()), []byte(","))...), `]}`...)
	b.SetBytes(int64(len(body)))
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/events/batch", bytes.NewReader(body))
			req.Header.Set("X-App-Key", keys.SDKKey)
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
