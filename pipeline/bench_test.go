package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/pipeline"
)

// BenchmarkPipeline pre-fills a log with N unique realistic events (N from
// UNMOGROWP_BENCH_EVENTS, default 200,000; batch size from UNMOGROWP_BENCH_BATCH), then times Run from start until all are
// stored: read, decode, dedup (Pebble), attribution (the Attributor on the in-process hot
// state), DuckDB append, log commit. It reports events/s
// and the process CPU time per event (all goroutines, including Pebble's compactions and
// DuckDB's threads), and the wall time per event spent in the store write and in Claim.
func BenchmarkPipeline(b *testing.B) { benchPipeline(b, false, false) }

// BenchmarkPipelineHeld is BenchmarkPipeline as `unmogrowp serve` drains a backlog: four
// DuckDB row groups of events (491,520 unless UNMOGROWP_BENCH_EVENTS says otherwise) in
// batches of a sixth of a row group, six batches held in one transaction
// (Options.HoldRows), so that the store is the pipeline's third stage. store-ns/event is
// the wall time in AppendHeld and CommitHeld.
func BenchmarkPipelineHeld(b *testing.B) { benchPipeline(b, false, true) }

// BenchmarkPipelinePostbacks is BenchmarkPipeline with one postback per install: every app
// has a send_all postback of installs, whose deliveries the pipeline enqueues before each
// store write into the outbox that `unmogrowp serve` uses (the SQLite metadata store),
// reading the installing devices' consent from the same store, as serve does. It also
// reports deliveries/s.
func BenchmarkPipelinePostbacks(b *testing.B) { benchPipeline(b, true, false) }

// benchPostbacks gives every app one postback: a send_all postback of installs.
type benchPostbacks struct{}

func (benchPostbacks) Postbacks(_ context.Context, appID string) ([]*unmogrowp.Postback, error) {
	return []*unmogrowp.Postback{{
		ID: "pb-" + appID, AppID: appID, Name: "bench", Kind: unmogrowp.KindPostback, MediaSource: "facebook_ads",
		SendAll: true, Triggers: []string{unmogrowp.TriggerInstall}, Method: "GET", Enabled: true,
		URLTemplate: "https://postbacks.example/install?gaid={gaid}&idfa={idfa}&c={campaign}&ts={install_unix_ts}&id={delivery_id}",
	}}, nil
}

func benchPipeline(b *testing.B, postbacks, held bool) {
	n := 200_000
	batch := pipeline.DefaultBatchSize
	if held {
		n, batch = 4*duckdb.RowGroupRows, duckdb.RowGroupRows/6
	}
	if v, err := strconv.Atoi(os.Getenv("UNMOGROWP_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("UNMOGROWP_BENCH_BATCH")); err == nil && v > 0 {
		batch = v
	}
	events := storetest.RealisticEvents(n, 42)
	values := make([][]byte, n)
	size := 0
	for i := range events {
		values[i] = unmogrowp.EncodeEventRecord(nil, &events[i])
		size += len(values[i])
	}
	var total, delivered int64
	var cpu, storeTime, claimTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b)
		for j := 0; j < n; j += 1000 {
			e.appendRaw("bench", values[j:min(j+1000, n)]...)
		}
		ts, td := &timedStore{EventStore: e.store}, &timedDedup{Deduplicator: e.dedup}
		var store unmogrowp.EventStore = ts
		popts := pipeline.Options{Logger: quiet(), BatchSize: batch}
		if held {
			store = &timedHolder{timedStore: ts, holder: e.store}
			popts.HoldRows, popts.HoldFor = duckdb.RowGroupRows, time.Second
		}
		hot := inmem.New(inmem.Options{Retention: 31 * 24 * time.Hour})
		opts := pipeline.AttributorOptions{Logger: quiet()}
		var outbox *metadata.DB
		if postbacks {
			var err error
			outbox, err = metadata.Open(context.Background(), metadata.SQLiteURL(filepath.Join(b.TempDir(), "metadata.db")), metadata.Options{})
			if err != nil {
				b.Fatal(err)
			}
			opts.Postbacks = pipeline.NewPostbacks(benchPostbacks{}, outbox, pipeline.PostbacksOptions{Logger: quiet(), Consents: outbox})
		}
		popts.Stage = pipeline.NewAttributor(defaultSettings{}, hot, ts, opts)
		p := pipeline.New(e.wal, td, store, popts)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		cpu0 := testenv.ProcessCPU()
		b.StartTimer()
		go func() { done <- p.Run(ctx) }()
		for p.Stats().Records < int64(n) {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		cpu += testenv.ProcessCPU() - cpu0
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if st := p.Stats(); st.Stored != int64(n) {
			b.Fatalf("stored %d of %d events", st.Stored, n)
		}
		hot.Close()
		if outbox != nil {
			installs := 0
			for _, ev := range events {
				if ev.EventType == unmogrowp.EventInstall {
					installs++
				}
			}
			k := 0
			for _, app := range []string{"com.example.puzzle", "com.example.runner", "io.acme.shop", "io.acme.news", "net.studio.rpg"} {
				ds, _, err := outbox.List(context.Background(), unmogrowp.DeliveryFilter{AppID: app, PostbackID: "pb-" + app})
				if err != nil {
					b.Fatal(err)
				}
				k += len(ds)
			}
			if k != installs {
				b.Fatalf("%d deliveries enqueued for %d installs", k, installs)
			}
			delivered += int64(k)
			outbox.Close()
		}
		total += int64(n)
		storeTime += ts.d
		claimTime += td.d
		e.close()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(total), "cpu-ns/event")
	b.ReportMetric(float64(size)/float64(n), "bytes/event")
	b.ReportMetric(float64(storeTime.Nanoseconds())/float64(total), "store-ns/event")
	b.ReportMetric(float64(claimTime.Nanoseconds())/float64(total), "claim-ns/event")
	if postbacks {
		b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "deliveries/s")
	}
}

// timedStore adds up the time spent in Append.
type timedStore struct {
	unmogrowp.EventStore
	d time.Duration
}

func (s *timedStore) Append(ctx context.Context, b unmogrowp.Batch) error {
	t := time.Now()
	defer func() { s.d += time.Since(t) }()
	return s.EventStore.Append(ctx, b)
}

// timedHolder is timedStore for a HoldingStore: it adds up the time spent in AppendHeld
// and CommitHeld too.
type timedHolder struct {
	*timedStore
	holder pipeline.HoldingStore
}

func (s *timedHolder) AppendHeld(ctx context.Context, b unmogrowp.Batch) error {
	t := time.Now()
	defer func() { s.d += time.Since(t) }()
	return s.holder.AppendHeld(ctx, b)
}

func (s *timedHolder) CommitHeld(ctx context.Context) error {
	t := time.Now()
	defer func() { s.d += time.Since(t) }()
	return s.holder.CommitHeld(ctx)
}

// timedDedup adds up the time spent in Claim.
type timedDedup struct {
	unmogrowp.Deduplicator
	d time.Duration
}

func (d *timedDedup) Claim(ctx context.Context, claims []unmogrowp.Claim) ([]bool, error) {
	t := time.Now()
	defer func() { d.d += time.Since(t) }()
	return d.Deduplicator.Claim(ctx, claims)
}
