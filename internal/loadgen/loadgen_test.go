package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestZipfDistribution(t *testing.T) {
	for _, tc := range []struct {
		s, v float64
		n    int
	}{{1.1, 1, 1000}, {1.5, 1, 50}, {1.1, deviceZipfV, 100_000}} {
		t.Run(fmt.Sprintf("s=%g,v=%g,n=%d", tc.s, tc.v, tc.n), func(t *testing.T) {
			z := newZipf(rand.New(rand.NewPCG(1, 2)), tc.s, tc.v, tc.n)
			const draws = 400_000
			counts := make([]int, tc.n)
			for range draws {
				k := z.next()
				if k < 0 || k >= tc.n {
					t.Fatalf("rank %d out of [0, %d)", k, tc.n)
				}
				counts[k]++
			}
			var norm float64
			for k := range tc.n {
				norm += math.Pow(tc.v+float64(k), -tc.s)
			}
			// The head ranks, each with enough draws to compare: within 5% of (v+k)^-s / H
			// (the standard error is under 1.5% at 5,000 draws).
			for _, k := range []int{0, 1, 2, 5, 10, 20} {
				want := draws * math.Pow(tc.v+float64(k), -tc.s) / norm
				if want < 5000 {
					continue
				}
				if got := float64(counts[k]); math.Abs(got-want)/want > 0.05 {
					t.Errorf("rank %d drawn %.0f times, want about %.0f", k, got, want)
				}
			}
			// With v = 1 the head is heavy: the first tenth of the ranks is drawn more
			// often than the other nine tenths.
			head, tail := 0, 0
			for k, c := range counts {
				if k < tc.n/10 {
					head += c
				} else {
					tail += c
				}
			}
			if tc.v == 1 && head <= tail {
				t.Errorf("first tenth of ranks drawn %d times, the rest %d: not Zipf-like", head, tail)
			}
		})
	}
	t.Run("one", func(t *testing.T) {
		z := newZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, 1)
		for range 10 {
			if k := z.next(); k != 0 {
				t.Fatalf("rank %d of a single value", k)
			}
		}
	})
}

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h histogram
	var samples []time.Duration
	for range 100_000 {
		// Log-normal-ish latencies from microseconds to seconds.
		d := time.Duration(math.Exp(r.NormFloat64()*2+math.Log(2e6))) + time.Duration(r.IntN(100))
		samples = append(samples, d)
		h.record(d)
	}
	h.record(0)
	samples = append(samples, 0)
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := samples[int(math.Ceil(q*float64(len(samples))))-1]
		got := h.quantile(q)
		if math.Abs(float64(got-want)) > 0.01*float64(want)+1 {
			t.Errorf("p%g = %v, want %v within 1%%", q*100, got, want)
		}
	}
	if time.Duration(h.max) != samples[len(samples)-1] {
		t.Errorf("max %v, want %v", time.Duration(h.max), samples[len(samples)-1])
	}
	// Merging two halves gives the same quantiles as one histogram.
	var a, b histogram
	for i, d := range samples {
		if i%2 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
	}
	a.merge(&b)
	for _, q := range []float64{0.5, 0.99} {
		if a.quantile(q) != h.quantile(q) {
			t.Errorf("merged p%g = %v, want %v", q*100, a.quantile(q), h.quantile(q))
		}
	}
	// Every bucket's middle maps back to the bucket.
	for i := range 4000 {
		if got := histIndex(histValue(i)); got != i {
			t.Fatalf("histIndex(histValue(%d)) = %d", i, got)
		}
	}
}

func TestPacerCorrectsCoordinatedOmission(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	now := func() time.Time { return clock }
	slept := time.Duration(0)
	sleep := func(d time.Duration) { slept += d; clock = clock.Add(d + 50*time.Microsecond) } // oversleeps by 50 µs
	p := pacer{next: t0, perItem: time.Millisecond}

	// On time: it sleeps until due, and latency counts from the end of the sleep.
	clock = t0.Add(-2 * time.Millisecond)
	from := p.wait(now, sleep)
	if slept != 2*time.Millisecond || !from.Equal(t0.Add(50*time.Microsecond)) {
		t.Fatalf("on time: slept %v, from %v; want 2ms, t0+50µs", slept, from.Sub(t0))
	}
	p.advance(10) // a batch of 10 items: the next is due 10 ms later
	if !p.next.Equal(t0.Add(10 * time.Millisecond)) {
		t.Fatalf("next due at t0+%v, want t0+10ms", p.next.Sub(t0))
	}

	// The answer took 40 ms: the next request, due at 10 ms, is sent at 40 ms, and its
	// latency counts from 10 ms, when it was due: a 5 ms answer is 35 ms of latency.
	clock = t0.Add(40 * time.Millisecond)
	slept = 0
	from = p.wait(now, sleep)
	if slept != 0 || !from.Equal(t0.Add(10*time.Millisecond)) {
		t.Fatalf("late: slept %v, from t0+%v; want no sleep, from t0+10ms", slept, from.Sub(t0))
	}
	done := clock.Add(5 * time.Millisecond)
	if lat := done.Sub(from); lat != 35*time.Millisecond {
		t.Fatalf("corrected latency %v, want 35ms", lat)
	}
	// The schedule does not slip: the one after is due at 11 ms, not 41 ms.
	p.advance(1)
	if !p.next.Equal(t0.Add(11 * time.Millisecond)) {
		t.Fatalf("next due at t0+%v, want t0+11ms", p.next.Sub(t0))
	}
}

// TestLoadgenFixedRateSlowServer runs one connection at 1000 requests/s against a server
// that answers in 5 ms: closed-loop latency stays near 5 ms, the corrected one grows with
// the backlog.
func TestLoadgenFixedRateSlowServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(5 * time.Millisecond)
		w.Write([]byte(`{"status":"accepted"}`))
	}))
	defer srv.Close()
	run := func(rate float64) *Result {
		t.Helper()
		res, err := drive(context.Background(), config{
			URL: srv.URL, Keys: []string{"k"}, Batch: 1, Conns: 1, Duration: 400 * time.Millisecond,
			Rate: rate, Mix: [numKinds]float64{kindEvents: 1}, Devices: 1000, ZipfS: 1.1,
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	closed, open := run(0), run(1000)
	if closed.LatencyCorrected || !open.LatencyCorrected {
		t.Fatalf("latency_corrected: flat out %v, fixed rate %v", closed.LatencyCorrected, open.LatencyCorrected)
	}
	if closed.LatencyP50Ms > 50 {
		t.Errorf("flat out p50 %.1f ms, want about 5 ms", closed.LatencyP50Ms)
	}
	// About 70 of the 400 due requests are sent; the last ones wait some 300 ms.
	if open.LatencyP99Ms < 150 || open.LatencyP50Ms < 50 {
		t.Errorf("fixed rate p50 %.1f ms p99 %.1f ms, want the backlog in them (p50 > 50, p99 > 150)", open.LatencyP50Ms, open.LatencyP99Ms)
	}
	if open.Unsent < 200 {
		t.Errorf("unsent %d, want most of the 400 due", open.Unsent)
	}
}

// fakeIngest is an ingestion listener that checks what the load generator sends.
type fakeIngest struct {
	t        *testing.T
	mu       sync.Mutex
	ids      map[string]bool
	sizes    []int
	markers  map[string]time.Time
	failures []string
}

func (f *fakeIngest) fail(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failures) < 10 {
		f.failures = append(f.failures, fmt.Sprintf(format, args...))
	}
}

func (f *fakeIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path == "/v1/events/batch" || r.URL.Path == "/v1/events":
		if r.Header.Get("X-App-Key") == "" {
			f.fail("%s without X-App-Key", r.URL.Path)
		}
		var events []map[string]any
		if r.URL.Path == "/v1/events" {
			var e map[string]any
			if err := json.Unmarshal(body, &e); err != nil {
				f.fail("event is not JSON: %v", err)
			}
			events = []map[string]any{e}
		} else {
			var b struct{ Events []map[string]any }
			if err := json.Unmarshal(body, &b); err != nil {
				f.fail("batch is not JSON: %v", err)
			}
			events = b.Events
		}
		f.mu.Lock()
		for _, e := range events {
			id, _ := e["event_id"].(string)
			if strings.HasPrefix(id, "vis-") {
				f.markers[id] = time.Now()
				continue
			}
			for _, field := range []string{"event_type", "device_id", "timestamp", "platform", "os_version", "app_version", "country", "ip", "user_agent", "event_data"} {
				if e[field] == nil {
					f.failures = append(f.failures, fmt.Sprintf("event without %s: %v", field, e))
				}
			}
			if e["gaid"] == nil && e["idfa"] == nil {
				f.failures = append(f.failures, fmt.Sprintf("event without an advertising id: %v", e))
			}
			if e["event_type"] == "purchase" && (e["revenue"] == nil || e["currency"] == nil) {
				f.failures = append(f.failures, fmt.Sprintf("purchase without revenue: %v", e))
			}
			if f.ids[id] {
				f.failures = append(f.failures, "event id sent twice: "+id)
			}
			f.ids[id] = true
		}
		if len(events) > 0 {
			f.sizes = append(f.sizes, len(body)/len(events))
		}
		f.mu.Unlock()
		if r.URL.Path == "/v1/events" {
			w.Write([]byte(`{"status":"accepted","event_id":"x"}`))
			return
		}
		// Reject the first event of each batch, answered in chunks.
		fmt.Fprintf(w, `{"status":"accepted","accepted":%d,"rejected":1,"errors":[{"index":0,"error":"no"}]}`, len(events)-1)
		w.(http.Flusher).Flush()
	case r.URL.Path == "/v1/touchpoints":
		var b struct{ Touchpoints []map[string]any }
		if err := json.Unmarshal(body, &b); err != nil || len(b.Touchpoints) == 0 || r.Header.Get("X-Api-Key") != "sk" {
			f.fail("bad touchpoints %q: %v", body, err)
		}
		fmt.Fprintf(w, `{"status":"accepted","accepted":%d,"rejected":0,"errors":[],"ids":[]}`, len(b.Touchpoints))
	case strings.HasPrefix(r.URL.Path, "/c/"):
		if r.URL.Path != "/c/lk_test" || r.URL.Query().Get("clickid") == "" || r.UserAgent() == "" {
			f.fail("bad click %s", r.URL)
		}
		w.Header().Set("Location", "https://example.com/")
		w.WriteHeader(http.StatusFound)
	case r.URL.Path == "/v1/attribution":
		// Visible 30 ms after the marker arrived.
		f.mu.Lock()
		at, ok := f.markers[r.URL.Query().Get("device_id")]
		f.mu.Unlock()
		if !ok || time.Since(at) < 30*time.Millisecond {
			http.Error(w, `{"error":"not yet"}`, http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"media_source":"organic"}`))
	default:
		http.NotFound(w, r)
	}
}

func TestLoadgenJSON(t *testing.T) {
	f := &fakeIngest{t: t, ids: map[string]bool{}, markers: map[string]time.Time{}}
	srv := httptest.NewServer(f)
	defer srv.Close()

	var out, errOut bytes.Buffer
	err := Command(context.Background(), []string{"--url", srv.URL, "--key", "pk_a,pk_b", "--key", "pk_c", "--server-key", "sk",
		"--link", "lk_test", "--batch", "20", "-c", "4", "-d", "600ms", "--mix", "events=80,touchpoints=10,clicks=10",
		"--visible", "--visible-every", "100ms", "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("loadgen: %v\n%s", err, errOut.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	for _, k := range []string{"url", "endpoint", "mode", "connections", "batch_size", "seconds", "requests", "events_accepted",
		"events_rejected", "events_per_second", "requests_per_second", "bytes_per_item", "kinds", "errors", "status_counts",
		"latency_corrected", "latency_p50_ms", "latency_p99_ms", "latency_p999_ms", "latency_max_ms", "visible"} {
		if _, ok := got[k]; !ok {
			t.Errorf("output lacks %q: %s", k, out.String())
		}
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	for _, msg := range f.failures {
		t.Error(msg)
	}
	sizes := slices.Sorted(slices.Values(f.sizes))
	f.mu.Unlock()
	if res.Mode != "flat-out" || res.Connections != 4 || res.BatchSize != 20 || res.Endpoint != srv.URL+"/v1/events/batch" {
		t.Errorf("mode %q c %d batch %d endpoint %q", res.Mode, res.Connections, res.BatchSize, res.Endpoint)
	}
	ev, tp, cl := res.Kinds["events"], res.Kinds["touchpoints"], res.Kinds["clicks"]
	if ev == nil || tp == nil || cl == nil || ev.Requests == 0 || tp.Requests == 0 || cl.Requests == 0 {
		t.Fatalf("kinds %s, want all three", out.String())
	}
	if ev.Rejected != ev.Requests || ev.Accepted != 19*ev.Requests || tp.Accepted != 20*tp.Requests || cl.Accepted != cl.Requests {
		t.Errorf("counts %+v %+v %+v: want the answers' accepted and rejected", *ev, *tp, *cl)
	}
	if res.Events != ev.Accepted+tp.Accepted+cl.Accepted || res.Errors != 0 || res.StatusCounts["200"] == 0 || res.StatusCounts["302"] != cl.Requests {
		t.Errorf("events %d errors %d status %v", res.Events, res.Errors, res.StatusCounts)
	}
	// The mix is of items: clicks are a tenth of them.
	items := float64(ev.Accepted + ev.Rejected + tp.Accepted + cl.Accepted)
	if share := float64(cl.Accepted) / items; share < 0.05 || share > 0.15 {
		t.Errorf("clicks are %.2f of the items, want about 0.10", share)
	}
	if res.LatencyP50Ms <= 0 || res.LatencyP99Ms < res.LatencyP50Ms || res.LatencyMaxMs < res.LatencyP999Ms {
		t.Errorf("latency p50 %v p99 %v p99.9 %v max %v", res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyP999Ms, res.LatencyMaxMs)
	}
	if med := sizes[len(sizes)/2]; med < 330 || med > 520 {
		t.Errorf("median event size %d bytes, want about 400", med)
	}
	if res.BytesPerItem < 200 || res.BytesPerItem > 600 {
		t.Errorf("bytes per item %.0f", res.BytesPerItem)
	}
	v := res.Visible
	// The server shows a marker 30 ms after it took it; the tool times from the 200 it
	// read, which a busy machine delivers some ms later: positive, not 30 ms or more.
	if v == nil || v.Markers < 1 || v.Seen != v.Markers || v.Failed != 0 || v.P50Ms <= 0 || v.P50Ms > 5000 || v.DrainSeconds < 0 || v.PipelineEventsPerSec <= 0 {
		t.Errorf("visible %+v: want every marker seen, some ms after its 200", v)
	}
	if !strings.Contains(v.Via, "/v1/attribution") {
		t.Errorf("visible via %q, want /v1/attribution without --api-url", v.Via)
	}

	// The text output says the same.
	out.Reset()
	if err := Command(context.Background(), []string{"--url", srv.URL, "--key", "pk_a", "--batch", "1", "-c", "2", "-d", "100ms"},
		&out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/v1/events  c=2 batch=1  flat out", "events/s", "by kind: events", "latency p50"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLoadgenFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--key is required"},
		{[]string{"--key", "k", "--batch", "0"}, "--batch must be"},
		{[]string{"--key", "k", "--mix", "events=1,clicks=1"}, "clicks need --link"},
		{[]string{"--key", "k", "--mix", "touchpoints=1"}, "touchpoints need --server-key"},
		{[]string{"--key", "k", "--mix", "bogus=1"}, "--mix takes"},
		{[]string{"--key", "k", "--zipf", "1"}, "--zipf over 1"},
		{[]string{"--key", "k", "--url", "https://x"}, "must be http"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			err := Command(context.Background(), append(tc.args, "-d", "10ms"), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPollWait(t *testing.T) {
	for _, tc := range []struct{ elapsed, want time.Duration }{
		{0, 10 * time.Millisecond},
		{100 * time.Millisecond, 10 * time.Millisecond},
		{time.Second, 50 * time.Millisecond},
		{4 * time.Second, 200 * time.Millisecond},
		{time.Minute, 500 * time.Millisecond},
	} {
		if got := pollWait(tc.elapsed, 10*time.Millisecond); got != tc.want {
			t.Errorf("pollWait(%v) = %v, want %v", tc.elapsed, got, tc.want)
		}
	}
}

func TestJSONCount(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int
		acc  int64
		rej  int64
	}{
		{`{"status":"accepted","accepted":98,"rejected":2,"errors":[]}`, 100, 98, 2},
		{`{"status":"accepted"}`, 100, 100, 0},
		{`{"status":"accepted","event_id":"x"}`, 1, 1, 0},
		{`{"accepted": 7}`, 10, 7, 0},
	} {
		acc, rej := answerCounts([]byte(tc.body), tc.n)
		if acc != tc.acc || rej != tc.rej {
			t.Errorf("%s: %d %d, want %d %d", tc.body, acc, rej, tc.acc, tc.rej)
		}
	}
	if _, ok := jsonCount([]byte(`{"x":1}`), `"accepted":`); ok {
		t.Error("found a count that is not there")
	}
}
