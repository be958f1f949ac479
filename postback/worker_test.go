package postback_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/postback"
)

// server is a receiver on loopback that answers with the statuses it is given, one per
// request (the last repeats), and records the delivery id and time of each request.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	ids      []string
	at       []time.Time
	check    func(r *http.Request, body []byte) // optional, called for each request
}

func newServer(t testing.TB, statuses ...int) *server {
	s := &server{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if s.check != nil {
			s.check(r, body)
		}
		s.mu.Lock()
		s.ids = append(s.ids, r.Header.Get(postback.HeaderDeliveryID))
		s.at = append(s.at, time.Now())
		status := http.StatusOK
		if len(s.statuses) > 0 {
			status = s.statuses[0]
			if len(s.statuses) > 1 {
				s.statuses = s.statuses[1:]
			}
		}
		s.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) received() ([]string, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...), append([]time.Time(nil), s.at...)
}

// delivery returns a pending delivery to the URL, due now.
func delivery(id, rawURL string) unmogrowp.Delivery {
	now := time.Now()
	host := strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://")
	host, _, _ = strings.Cut(host, "/")
	return unmogrowp.Delivery{
		ID: id, PostbackID: "pb-1", AppID: "app-1", ActivityKind: unmogrowp.TriggerInstall,
		Status: unmogrowp.DeliveryPending, URL: rawURL, Host: host, Method: "GET",
		CreatedAt: now, NextAttemptAt: now,
	}
}

// run starts a worker over the outbox until the test ends, and returns its registry.
func run(t testing.TB, o postback.WorkerOptions) *prometheus.Registry {
	reg, _ := start(t, o)
	return reg
}

// start starts a worker over the outbox until the test ends.
func start(t testing.TB, o postback.WorkerOptions) (*prometheus.Registry, *postback.Worker) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	if o.Sender == nil {
		o.Sender = postback.NewSender(postback.SenderOptions{AllowPrivate: true, Timeout: 2 * time.Second})
	}
	if o.Poll == 0 {
		o.Poll = 10 * time.Millisecond
	}
	w, err := postback.NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return reg, w
}

// waitStatus waits until the delivery has the status, and returns it.
func waitStatus(t *testing.T, o unmogrowp.Outbox, id, status string, within time.Duration) unmogrowp.Delivery {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ds, _, err := o.List(context.Background(), unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: "pb-1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.ID == id && d.Status == status {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is not %s after %v: %+v", id, status, within, ds)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func counter(reg *prometheus.Registry, result string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "unmogrowp_postbacks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func latencyCount(reg *prometheus.Registry) uint64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "unmogrowp_postback_latency_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func enqueue(t testing.TB, o unmogrowp.Outbox, ds ...unmogrowp.Delivery) {
	t.Helper()
	if err := o.Enqueue(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
}

// 500, 500, 200: three attempts of one delivery id, then delivered.
func TestWorkerRetries(t *testing.T) {
	srv := newServer(t, 500, 500, 200)
	out := inmem.NewOutbox()
	reg := run(t, postback.WorkerOptions{Outbox: out, RetryDelays: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, time.Hour}})
	enqueue(t, out, delivery("d1", srv.URL+"/pb?c=1"))
	d := waitStatus(t, out, "d1", unmogrowp.DeliveryDelivered, 5*time.Second)
	ids, _ := srv.received()
	if strings.Join(ids, ",") != "d1,d1,d1" {
		t.Fatalf("receiver saw delivery ids %v, want d1 three times", ids)
	}
	if d.Attempts != 3 || d.LastStatus != 200 || d.LastError != "" || d.DeliveredAt.IsZero() {
		t.Fatalf("delivery = %+v", d)
	}
	if counter(reg, "retried") != 2 || counter(reg, "delivered") != 1 {
		t.Fatalf("metrics: retried %v delivered %v", counter(reg, "retried"), counter(reg, "delivered"))
	}
	if n := latencyCount(reg); n != 1 {
		t.Fatalf("latency histogram counted %d deliveries, want 1", n)
	}
}

// 404: failed after one attempt; 503 with two delays: failed after three.
func TestWorkerFails(t *testing.T) {
	notFound, unavailable := newServer(t, 404), newServer(t, 503)
	out := inmem.NewOutbox()
	reg := run(t, postback.WorkerOptions{Outbox: out, RetryDelays: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}})
	enqueue(t, out, delivery("d404", notFound.URL+"/pb"), delivery("d503", unavailable.URL+"/pb"))

	d := waitStatus(t, out, "d404", unmogrowp.DeliveryFailed, 5*time.Second)
	if d.Attempts != 1 || d.LastStatus != 404 || d.LastError != "The destination answered 404 Not Found." {
		t.Fatalf("404 delivery = %+v", d)
	}
	d = waitStatus(t, out, "d503", unmogrowp.DeliveryFailed, 5*time.Second)
	if d.Attempts != 3 || d.LastStatus != 503 || d.LastError != "The destination answered 503 Service Unavailable. Gave up after 3 attempts." {
		t.Fatalf("503 delivery = %+v", d)
	}
	time.Sleep(50 * time.Millisecond) // no further attempt
	if ids, _ := notFound.received(); len(ids) != 1 {
		t.Fatalf("404 receiver got %d requests", len(ids))
	}
	if ids, _ := unavailable.received(); len(ids) != 3 {
		t.Fatalf("503 receiver got %d requests", len(ids))
	}
	if counter(reg, "failed") != 2 || counter(reg, "retried") != 2 {
		t.Fatalf("metrics: failed %v retried %v", counter(reg, "failed"), counter(reg, "retried"))
	}
}

// A loopback receiver is refused without AllowPrivate: failed at once, and why.
func TestWorkerRefuses(t *testing.T) {
	srv := newServer(t)
	out := inmem.NewOutbox()
	reg := run(t, postback.WorkerOptions{Outbox: out, Sender: postback.NewSender(postback.SenderOptions{})})
	enqueue(t, out, delivery("d1", srv.URL+"/pb"))
	d := waitStatus(t, out, "d1", unmogrowp.DeliveryFailed, 5*time.Second)
	if d.Attempts != 1 || d.LastStatus != 0 || !strings.Contains(d.LastError, "a loopback address") {
		t.Fatalf("delivery = %+v", d)
	}
	if ids, _ := srv.received(); len(ids) != 0 || counter(reg, "refused") != 1 {
		t.Fatalf("receiver got %v; refused metric %v", ids, counter(reg, "refused"))
	}
}

// Requests carry a signature the receiver verifies with the postback's secret; a postback
// deleted before its delivery fails it.
func TestWorkerSignsWithTheSecret(t *testing.T) {
	srv := newServer(t)
	var mu sync.Mutex
	var bad []string
	srv.check = func(r *http.Request, body []byte) {
		ts, _ := strconv.ParseInt(r.Header.Get(postback.HeaderTimestamp), 10, 64)
		if !postback.Verify("k-"+r.URL.Query().Get("pb"), ts, body, r.Header.Get(postback.HeaderSignature)) {
			mu.Lock()
			bad = append(bad, r.URL.String())
			mu.Unlock()
		}
	}
	out := inmem.NewOutbox()
	run(t, postback.WorkerOptions{Outbox: out, Secret: func(_ context.Context, appID, postbackID string) (string, error) {
		if postbackID == "gone" {
			return "", unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such postback.")
		}
		return "k-" + postbackID, nil
	}})
	post := delivery("d1", srv.URL+"/pb?pb=pb-1")
	post.Method, post.Body = "POST", []byte(`{"a":"b"}`)
	gone := delivery("d2", srv.URL+"/pb?pb=gone")
	gone.PostbackID = "gone"
	enqueue(t, out, post, gone)
	waitStatus(t, out, "d1", unmogrowp.DeliveryDelivered, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	ds, _, _ := out.List(context.Background(), unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: "gone"})
	for ; len(ds) == 0 || ds[0].Status != unmogrowp.DeliveryFailed; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the deleted postback's delivery did not fail: %+v", ds)
		}
		ds, _, _ = out.List(context.Background(), unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: "gone"})
	}
	if ds[0].LastError != "The postback was deleted." || ds[0].Attempts != 1 {
		t.Fatalf("delivery of a deleted postback = %+v", ds[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if ids, _ := srv.received(); len(bad) != 0 || len(ids) != 1 {
		t.Fatalf("signatures that did not verify: %v; requests %v", bad, ids)
	}
}

// A receiver that never answers does not slow another host's deliveries: they are all
// delivered before the stuck host's first timeout.
func TestWorkerSlowHostDelaysNoOther(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	fast := newServer(t)
	out := inmem.NewOutbox()
	const timeout = 3 * time.Second
	run(t, postback.WorkerOptions{
		Outbox: out, PerHost: 4, Concurrency: 32,
		Sender: postback.NewSender(postback.SenderOptions{AllowPrivate: true, Timeout: timeout}),
	})
	var ds []unmogrowp.Delivery
	for i := range 100 { // the stuck host's first: due earlier
		ds = append(ds, delivery(fmt.Sprintf("stuck-%03d", i), stuck.URL+"/pb"))
	}
	enqueue(t, out, ds...)
	start := time.Now()
	ds = ds[:0]
	for i := range 100 {
		ds = append(ds, delivery(fmt.Sprintf("fast-%03d", i), fast.URL+"/pb"))
	}
	enqueue(t, out, ds...)
	for {
		ids, at := fast.received()
		if len(ids) == 100 {
			if took := at[99].Sub(start); took > timeout/2 {
				t.Fatalf("the fast host's 100 deliveries took %v beside a stuck host (timeout %v)", took, timeout)
			} else {
				t.Logf("the fast host's 100 deliveries took %v beside a stuck host", took)
			}
			break
		}
		if time.Since(start) > timeout {
			t.Fatalf("the fast host got %d of 100 deliveries before the stuck host's first timeout", len(ids))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countingOutbox is an outbox that counts the claims that gave deliveries, and their size.
type countingOutbox struct {
	unmogrowp.Outbox
	mu      sync.Mutex
	claims  int
	largest int
}

func (o *countingOutbox) Claim(ctx context.Context, r unmogrowp.ClaimRequest) ([]unmogrowp.Delivery, error) {
	ds, err := o.Outbox.Claim(ctx, r)
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(ds) > 0 {
		o.claims++
		o.largest = max(o.largest, len(ds))
	}
	return ds, err
}

// A destination that answers fast is claimed in batches far larger than its PerHost, and
// still never has more than PerHost attempts in flight.
func TestWorkerClaimsInBatches(t *testing.T) {
	var mu sync.Mutex
	inFlight, most, n := 0, 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight--
		n++
		mu.Unlock()
	}))
	defer srv.Close()
	out := &countingOutbox{Outbox: inmem.NewOutbox()}
	const perHost, total = 8, 2000
	reg := run(t, postback.WorkerOptions{Outbox: out, PerHost: perHost})
	var ds []unmogrowp.Delivery
	for i := range total {
		ds = append(ds, delivery(fmt.Sprintf("d%04d", i), srv.URL+"/pb"))
	}
	enqueue(t, out, ds...)
	for deadline := time.Now().Add(30 * time.Second); counter(reg, "delivered") < total; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v of %d delivered after 30 s", counter(reg, "delivered"), total)
		}
	}
	out.mu.Lock()
	claims, largest := out.claims, out.largest
	out.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if most > perHost || n != total {
		t.Fatalf("the receiver got %d requests, at most %d at once; want %d, at most %d", n, most, total, perHost)
	}
	if claims > total/50 || largest < 32*perHost {
		t.Fatalf("%d claims, the largest of %d, for %d deliveries: want at most %d, and one of %d or more",
			claims, largest, total, total/50, 32*perHost)
	}
	t.Logf("%d claims, the largest of %d deliveries; at most %d requests at once", claims, largest, most)
}

// Two workers on one outbox attempt each delivery once.
func TestWorkersShareAnOutbox(t *testing.T) {
	srv := newServer(t)
	out := inmem.NewOutbox()
	run(t, postback.WorkerOptions{Outbox: out, PerHost: 4, Concurrency: 16})
	run(t, postback.WorkerOptions{Outbox: out, PerHost: 4, Concurrency: 16})
	const n = 300
	var ds []unmogrowp.Delivery
	for i := range n {
		ds = append(ds, delivery(fmt.Sprintf("d%03d", i), srv.URL+"/pb"))
	}
	enqueue(t, out, ds...)
	waitStatus(t, out, "d299", unmogrowp.DeliveryDelivered, 10*time.Second)
	for {
		all, _, _ := out.List(context.Background(), unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: "pb-1", Status: unmogrowp.DeliveryDelivered})
		if len(all) == n {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	ids, _ := srv.received()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	if len(ids) != n || len(seen) != n {
		t.Fatalf("receiver got %d requests for %d deliveries, want %d once each", len(ids), len(seen), n)
	}
}

// TestWorkerPrunes checks that a worker with a retention deletes the deliveries done with
// once they are older than it, and keeps the pending ones and the recent ones.
func TestWorkerPrunes(t *testing.T) {
	srv := newServer(t)
	out := inmem.NewOutbox()
	old := time.Now().Add(-2 * time.Hour)
	oldDone, oldPending, recent := delivery("old-done", srv.URL+"/pb"), delivery("old-pending", srv.URL+"/pb"), delivery("recent", srv.URL+"/pb")
	oldDone.CreatedAt, oldPending.CreatedAt = old, old
	oldPending.NextAttemptAt = time.Now().Add(time.Hour) // not due while the test runs
	enqueue(t, out, oldDone, oldPending, recent)
	start(t, postback.WorkerOptions{Outbox: out, Retention: time.Hour, PruneEvery: 20 * time.Millisecond})
	waitStatus(t, out, "recent", unmogrowp.DeliveryDelivered, 5*time.Second)
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ds, _, err := out.List(context.Background(), unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: "pb-1"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		slices.Sort(ids)
		if slices.Equal(ids, []string{"old-pending", "recent"}) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the outbox holds %v, want old-done pruned and old-pending and recent kept", ids)
		}
	}
}

// BenchmarkWorker measures deliveries per second through an in-memory outbox and one
// worker to a fast local receiver: each iteration enqueues 2,000 deliveries and waits for
// all of them. It reports the process's CPU (worker, sender, receiver) per delivery too.
func BenchmarkWorker(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	out := inmem.NewOutbox()
	reg := run(b, postback.WorkerOptions{
		Outbox: out, PerHost: 64,
		Sender: postback.NewSender(postback.SenderOptions{AllowPrivate: true, MaxConnsPerHost: 64}),
	})
	const batch = 2000
	n := 0
	cpu := testenv.ProcessCPU()
	for b.Loop() {
		ds := make([]unmogrowp.Delivery, batch)
		for i := range ds {
			ds[i] = delivery(fmt.Sprintf("d%09d", n), srv.URL+"/pb?clickid=abc")
			n++
		}
		enqueue(b, out, ds...)
		for counter(reg, "delivered") < float64(n) {
			time.Sleep(time.Millisecond)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64((testenv.ProcessCPU()-cpu).Microseconds())/float64(n), "cpu-µs/delivery")
}

// BenchmarkWorkerLatency measures the p99 from a delivery's creation to its receipt at
// 1,000 deliveries a second (10 every 10 ms, the worker woken after each enqueue as the
// pipeline will), over 3 seconds per iteration.
func BenchmarkWorkerLatency(b *testing.B) {
	srv := newServer(b)
	out := inmem.NewOutbox()
	_, w := start(b, postback.WorkerOptions{Outbox: out})
	created := map[string]time.Time{}
	n := 0
	for b.Loop() {
		tick := time.NewTicker(10 * time.Millisecond)
		for range 300 {
			<-tick.C
			ds := make([]unmogrowp.Delivery, 10)
			for i := range ds {
				ds[i] = delivery(fmt.Sprintf("d%09d", n), srv.URL+"/pb")
				created[ds[i].ID] = ds[i].CreatedAt
				n++
			}
			enqueue(b, out, ds...)
			w.Wake()
		}
		tick.Stop()
		for ids, _ := srv.received(); len(ids) < n; ids, _ = srv.received() {
			time.Sleep(10 * time.Millisecond)
		}
	}
	ids, at := srv.received()
	lat := make([]time.Duration, len(ids))
	for i, id := range ids {
		lat[i] = at[i].Sub(created[id])
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
