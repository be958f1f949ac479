package metadata

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/postback"
)

// benchReceiver is a fast receiver on loopback: it answers 204 at once and records when
// each delivery id arrived.
type benchReceiver struct {
	*httptest.Server
	n  atomic.Int64
	mu sync.Mutex
	at map[string]time.Time
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	r := &benchReceiver{at: map[string]time.Time{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		r.mu.Lock()
		r.at[req.Header.Get("X-UnMoGrowP-Delivery-Id")] = now
		r.mu.Unlock()
		r.n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(r.Close)
	return r
}

// runWorker runs a delivery worker on the store's outbox, as `unmogrowp serve` and the
// consumers do (the production sender, loopback allowed), until the benchmark ends.
func runWorker(b *testing.B, db *DB, o postback.WorkerOptions) *postback.Worker {
	o.Outbox = db
	o.Sender = postback.NewSender(postback.SenderOptions{AllowPrivate: true, MaxConnsPerHost: o.PerHost})
	w, err := postback.NewWorker(o)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return w
}

// benchDeliveries returns n deliveries to the receiver, numbered from k, created now.
func benchDeliveries(url string, k, n int) []unmogrowp.Delivery {
	now := time.Now()
	ds := make([]unmogrowp.Delivery, n)
	for i := range ds {
		id := unmogrowp.DeliveryID("pb_benchbenchbenchbe", 0, int64(k+i), now, unmogrowp.TriggerInstall, "")
		ds[i] = unmogrowp.Delivery{ID: id, PostbackID: "pb_benchbenchbenchbe", AppID: "app_benchbenchbenchb",
			ActivityKind: unmogrowp.TriggerInstall, Method: "GET", Host: url[len("http://"):],
			URL:       url + "/install?gaid=38400000-8cf0-11bd-b23e-10b96e40000d&c=spring_sale_07&id=" + id,
			CreatedAt: now, NextAttemptAt: now}
	}
	return ds
}

// waitPending waits until the outbox holds no pending delivery of the bench postback.
func waitPending(b *testing.B, db *DB) {
	for {
		var n int
		if err := db.read.QueryRow(`SELECT COUNT(*) FROM postback_deliveries WHERE status = 'pending'`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkOutboxDelivery measures how many deliveries per second one process makes
// through the store's outbox to a fast receiver on loopback: each iteration enqueues
// 5,000 deliveries in one Enqueue (as the pipeline does for a batch) and waits until the
// worker has claimed, sent and completed every one of them (none pending). The worker is
// the one `serve` runs, with one destination: PerHost 64 in flight. It reports the
// process's CPU per delivery too.
func BenchmarkOutboxDelivery(b *testing.B) {
	benchEachEngine(b, func(b *testing.B, db *DB) {
		recv := newBenchReceiver(b)
		w := runWorker(b, db, postback.WorkerOptions{PerHost: 64})
		const batch = 5000
		k := 0
		cpu := testenv.ProcessCPU()
		for b.Loop() {
			if err := db.Enqueue(b.Context(), benchDeliveries(recv.URL, k, batch)); err != nil {
				b.Fatal(err)
			}
			k += batch
			w.Wake()
			for recv.n.Load() < int64(k) { // then the outbox, which records the last attempts
				time.Sleep(time.Millisecond)
			}
			waitPending(b, db)
		}
		if got := recv.n.Load(); got < int64(k) {
			b.Fatalf("the receiver got %d requests for %d deliveries", got, k)
		}
		b.ReportMetric(float64(k)/b.Elapsed().Seconds(), "deliveries/s")
		// The process's CPU (worker, sender and receiver; not a PostgreSQL server's): what
		// the rate would be per core, unlike the rate, does not fall with other work.
		b.ReportMetric(float64((testenv.ProcessCPU()-cpu).Microseconds())/float64(k), "cpu-µs/delivery")
	})
}

// BenchmarkOutboxLatency measures the time from a delivery's creation (the pipeline's
// decision) to its arrival at a fast receiver, through the store's outbox, at 1,000
// deliveries a second: 10 enqueued every 10 ms, the worker woken after each Enqueue as
// the pipeline does, for 3 seconds per iteration. It reports the p50 and p99 in ms.
func BenchmarkOutboxLatency(b *testing.B) {
	benchEachEngine(b, func(b *testing.B, db *DB) {
		recv := newBenchReceiver(b)
		w := runWorker(b, db, postback.WorkerOptions{})
		created := map[string]time.Time{}
		k := 0
		for b.Loop() {
			tick := time.NewTicker(10 * time.Millisecond)
			for range 300 {
				<-tick.C
				ds := benchDeliveries(recv.URL, k, 10)
				k += len(ds)
				for _, d := range ds {
					created[d.ID] = d.CreatedAt
				}
				if err := db.Enqueue(b.Context(), ds); err != nil {
					b.Fatal(err)
				}
				w.Wake()
			}
			tick.Stop()
			for recv.n.Load() < int64(k) {
				time.Sleep(5 * time.Millisecond)
			}
		}
		recv.mu.Lock()
		lat := make([]time.Duration, 0, len(recv.at))
		for id, at := range recv.at {
			lat = append(lat, at.Sub(created[id]))
		}
		recv.mu.Unlock()
		if len(lat) != k {
			b.Fatalf("the receiver got %d delivery ids for %d deliveries", len(lat), k)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	})
}

// BenchmarkClaim measures one Claim of 256 deliveries from 5,000 due of one host, with a
// per-host cap (the worker's usual request) and without one; it reports deliveries/s
// claimed. Claimed deliveries are completed between iterations, outside the timer.
func BenchmarkClaim(b *testing.B) {
	for _, c := range []struct {
		name string
		r    unmogrowp.ClaimRequest
	}{
		{"uncapped", unmogrowp.ClaimRequest{Limit: 256}},
		{"capped", unmogrowp.ClaimRequest{Limit: 256, PerHost: 8, HostLimits: map[string]int{"127.0.0.1:1": 256}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			benchEachEngine(b, func(b *testing.B, db *DB) {
				k, n := 0, 0
				for b.Loop() {
					b.StopTimer()
					if err := db.Enqueue(b.Context(), benchDeliveries("http://127.0.0.1:1", k, 256)); err != nil {
						b.Fatal(err)
					}
					k += 256
					if k == 256 {
						if err := db.Enqueue(b.Context(), benchDeliveries("http://127.0.0.1:1", 1<<20, 5000)); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					r := c.r
					r.Now, r.Lease = time.Now(), time.Minute
					ds, err := db.Claim(b.Context(), r)
					if err != nil || len(ds) != 256 {
						b.Fatalf("claim: %d, %v", len(ds), err)
					}
					n += len(ds)
					b.StopTimer()
					for _, d := range ds {
						if err := db.Complete(b.Context(), unmogrowp.Attempt{ID: d.ID, LeaseToken: d.LeaseToken, At: time.Now(), Status: unmogrowp.DeliveryDelivered, HTTPStatus: 204}); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
			})
		})
	}
}
