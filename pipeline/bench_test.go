package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/pipeline"
)

// realisticEvents returns n events shaped like production traffic, with unique ids:
// several apps and platforms, device ids, a few custom properties, revenue on purchases;
// about 400 bytes each in the log's encoding.
func realisticEvents(n int, seed uint64) []unmogrowp.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	apps := []string{"com.example.puzzle", "com.example.runner", "io.acme.shop", "io.acme.news", "net.studio.rpg"}
	types := []string{"session", "session", "session", "level_complete", "ad_view", "purchase", "install"}
	countries := []string{"US", "DE", "BR", "IN", "JP", "FR", "GB"}
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
	}
	events := make([]unmogrowp.Event, n)
	for i := range events {
		ts := start.Add(time.Duration(i) * 3 * time.Millisecond).Add(time.Duration(r.IntN(1e6)) * time.Microsecond)
		e := unmogrowp.Event{
			EventID:    uuid(),
			AppID:      apps[r.IntN(len(apps))],
			EventType:  types[r.IntN(len(types))],
			DeviceID:   uuid(),
			UserID:     fmt.Sprintf("u%07d", r.IntN(5_000_000)),
			SessionID:  uuid(),
			Timestamp:  ts,
			ReceivedAt: ts.Add(time.Duration(200+r.IntN(2000)) * time.Millisecond),
			AppVersion: fmt.Sprintf("4.%d.%d", r.IntN(10), r.IntN(20)),
			Country:    countries[r.IntN(len(countries))],
			Language:   "en-US",
			IP:         fmt.Sprintf("203.0.%d.%d", r.IntN(256), r.IntN(256)),
			EventData:  fmt.Appendf(nil, `{"level":%d,"score":%d,"mode":"classic","ab":"variant_%c"}`, r.IntN(200), r.IntN(100000), 'a'+r.IntN(3)),
		}
		if r.IntN(2) == 0 {
			e.Platform, e.OSVersion, e.DeviceModel = unmogrowp.PlatformIOS, "17.5", "iPhone15,3"
			e.IDFV, e.ATTStatus = uuid(), "authorized"
			e.UserAgent = "PuzzleApp/4.2 CFNetwork/1494.0.7 Darwin/23.4.0"
		} else {
			e.Platform, e.OSVersion, e.DeviceModel = unmogrowp.PlatformAndroid, "14", "SM-S918B"
			e.GAID = uuid()
			e.UserAgent = "Dalvik/2.1.0 (Linux; U; Android 14; SM-S918B Build/UP1A)"
		}
		if e.EventType == "purchase" {
			e.Revenue, e.HasRevenue, e.Currency = float64(r.IntN(10000))/100, true, "USD"
		}
		if e.EventType == "install" {
			e.Attribution = []byte(`{"click_id":"c-8842","af_status":"Non-organic"}`)
			e.InstallBeginAt = ts.Add(-time.Minute)
		}
		events[i] = e
	}
	return events
}

// BenchmarkPipeline pre-fills a log with N unique realistic events (N from
// UNMOGROWP_BENCH_EVENTS, default 200,000; batch size from UNMOGROWP_BENCH_BATCH), then times Run from start until all are
// stored: read, decode, dedup (Pebble), DuckDB append, log commit. It reports events/s
// and the process CPU time per event (all goroutines, including Pebble's compactions and
// DuckDB's threads), and the wall time per event spent in the store write and in Claim.
func BenchmarkPipeline(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("UNMOGROWP_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	batch := pipeline.DefaultBatchSize
	if v, err := strconv.Atoi(os.Getenv("UNMOGROWP_BENCH_BATCH")); err == nil && v > 0 {
		batch = v
	}
	events := realisticEvents(n, 42)
	values := make([][]byte, n)
	size := 0
	for i := range events {
		values[i] = unmogrowp.EncodeEventRecord(nil, &events[i])
		size += len(values[i])
	}
	var total int64
	var cpu, storeTime, claimTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b)
		for j := 0; j < n; j += 1000 {
			e.appendRaw("bench", values[j:min(j+1000, n)]...)
		}
		ts, td := &timedStore{EventStore: e.store}, &timedDedup{Deduplicator: e.dedup}
		p := pipeline.New(e.wal, td, ts, pipeline.Options{Logger: quiet(), BatchSize: batch})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		cpu0 := cpuTime()
		b.StartTimer()
		go func() { done <- p.Run(ctx) }()
		for p.Stats().Records < int64(n) {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		cpu += cpuTime() - cpu0
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if st := p.Stats(); st.Stored != int64(n) {
			b.Fatalf("stored %d of %d events", st.Stored, n)
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
}

// timedStore adds up the time spent in AppendEvents.
type timedStore struct {
	unmogrowp.EventStore
	d time.Duration
}

func (s *timedStore) AppendEvents(ctx context.Context, events []unmogrowp.Event) error {
	t := time.Now()
	defer func() { s.d += time.Since(t) }()
	return s.EventStore.AppendEvents(ctx, events)
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
