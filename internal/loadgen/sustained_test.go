package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSustained drives a fake server whose stats count the acknowledged events a moment
// after the load, and a fake baseline: the result counts what was acknowledged, waits
// until the stats have it all, and gives the ratio of the rates.
func TestSustained(t *testing.T) {
	var acked, visibleAt atomic.Int64
	const lag = 300 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events/batch", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n := int64(bytes.Count(b, []byte(`"event_type"`)))
		acked.Add(n)
		visibleAt.Store(time.Now().Add(lag).UnixNano())
		fmt.Fprintf(w, `{"accepted":%d,"rejected":0}`, n)
	})
	stored := func() int64 {
		if time.Now().UnixNano() < visibleAt.Load() {
			return 0
		}
		return acked.Load()
	}
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE %s counter\n%s %d\n", storedMetric, storedMetric, stored())
	})
	mux.HandleFunc("GET /api/dashboard/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "srv" || r.URL.Query().Get("app_id") != "app" {
			http.Error(w, `{"error":"no"}`, http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, `{"installs":0,"events":%d}`, stored())
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"status":"accepted"}`)
	}))
	defer base.Close()

	var out, errs bytes.Buffer
	err := SustainedCommand(context.Background(), []string{"--url", srv.URL, "--api-url", srv.URL, "--key", "sdk",
		"--server-key", "srv", "--app-id", "app", "-c", "2", "--batch", "10", "-d", "300ms",
		"--baseline-url", base.URL, "--json"}, &out, &errs,
		func(context.Context) (string, int, func(), error) {
			t.Fatal("started a baseline though one was given")
			return "", 0, nil, nil
		})
	if err != nil {
		t.Fatalf("sustained: %v\n%s", err, errs.String())
	}
	var r SustainedResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("decode %q: %v", out.String(), err)
	}
	if r.Acknowledged == 0 || r.Acknowledged != acked.Load() {
		t.Errorf("acknowledged %d, the server acknowledged %d", r.Acknowledged, acked.Load())
	}
	if r.DrainSeconds < lag.Seconds()*0.9 || r.VisibleSeconds < r.Serve.Seconds+r.DrainSeconds*0.99 {
		t.Errorf("visible after %.2f s, %.2f s after the load: want the %v the stats lag behind", r.VisibleSeconds, r.DrainSeconds, lag)
	}
	if want := float64(r.Acknowledged) / r.VisibleSeconds; r.SustainedPerSec != want {
		t.Errorf("sustained %.0f/s, want acknowledged over time to visible %.0f/s", r.SustainedPerSec, want)
	}
	if r.Baseline == nil || r.Baseline.Events == 0 || r.Ratio != r.SustainedPerSec/r.Baseline.EventsPerSec {
		t.Errorf("baseline %+v, ratio %.3f", r.Baseline, r.Ratio)
	}
}

func TestCounterSumsSamples(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Join([]string{
			"# HELP x_total things", "x_total{app=\"a\"} 3", "x_total{app=\"b\"} 4.5", "x_total_other 100", "y_total 7", "",
		}, "\n"))
	}))
	defer srv.Close()
	s := &statsReader{client: srv.Client()}
	if v, ok := s.counter(context.Background(), srv.URL, "x_total"); !ok || v != 7.5 {
		t.Errorf("x_total = %v, %v; want 7.5", v, ok)
	}
	if _, ok := s.counter(context.Background(), srv.URL, "z_total"); ok {
		t.Error("a missing metric was found")
	}
}
