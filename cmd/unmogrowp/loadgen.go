package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what one loadgen run measured.
type loadResult struct {
	Endpoint      string  `json:"endpoint"`
	Connections   int     `json:"connections"`
	BatchSize     int     `json:"batch_size"`
	Seconds       float64 `json:"seconds"`
	Requests      int64   `json:"requests"`
	Events        int64   `json:"events_accepted"`
	EventsPerSec  float64 `json:"events_per_second"`
	RequestsPerS  float64 `json:"requests_per_second"`
	Errors        int64   `json:"errors"`
	StatusCounts  map[string]int64
	LatencyP50Ms  float64 `json:"latency_p50_ms"`
	LatencyP99Ms  float64 `json:"latency_p99_ms"`
	LatencyP999Ms float64 `json:"latency_p999_ms"`
}

// runLoadgen is `unmogrowp loadgen`: it sends realistic events to a running ingestion
// listener flat out from C connections for a duration, then prints what the server
// accepted and the latency distribution.
func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "http://127.0.0.1:8080", "ingestion listener base URL")
	key := fs.String("key", "", "the app's SDK key (X-App-Key) (required)")
	batch := fs.Int("batch", 100, "events per request: 1 uses /v1/events, more uses /v1/events/batch")
	conns := fs.Int("c", 32, "concurrent connections")
	dur := fs.Duration("d", 10*time.Second, "how long to send")
	devices := fs.Int("devices", 100000, "distinct devices")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" {
		return fmt.Errorf("loadgen: --key is required (create an app with 'unmogrowp apps create --name load')")
	}
	if *batch < 1 || *batch > 1000 || *conns < 1 || *dur <= 0 {
		return fmt.Errorf("loadgen: --batch must be 1..1000, -c at least 1, -d positive")
	}
	res, err := loadgen(ctx, loadgenConfig{URL: *target, Key: *key, Batch: *batch, Conns: *conns, Duration: *dur, Devices: *devices})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s  c=%d batch=%d  %.1fs\n  accepted %d events (%.0f events/s, %.0f req/s), errors %d %v\n  latency p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms\n",
		res.Endpoint, res.Connections, res.BatchSize, res.Seconds, res.Events, res.EventsPerSec, res.RequestsPerS,
		res.Errors, res.StatusCounts, res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyP999Ms)
	return nil
}

type loadgenConfig struct {
	URL, Key string
	Batch    int
	Conns    int
	Duration time.Duration
	Devices  int
}

func loadgen(ctx context.Context, c loadgenConfig) (*loadResult, error) {
	endpoint := c.URL + "/v1/events/batch"
	if c.Batch == 1 {
		endpoint = c.URL + "/v1/events"
	}
	tr := &http.Transport{
		MaxIdleConnsPerHost: c.Conns, MaxConnsPerHost: c.Conns, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	var (
		requests, events, errs atomic.Int64
		mu                     sync.Mutex
		statuses               = map[string]int64{}
		latencies              []time.Duration
		wg                     sync.WaitGroup
		runID                  = strconv.FormatInt(time.Now().UnixNano(), 36)
	)
	start := time.Now()
	for w := range c.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			gen := eventGen{rng: rng, devices: c.Devices, prefix: runID + "-" + strconv.Itoa(w) + "-"}
			var lat []time.Duration
			local := map[string]int64{}
			var body []byte
			for ctx.Err() == nil {
				body = gen.body(body[:0], c.Batch)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-App-Key", c.Key)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						local["conn_error"]++
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				requests.Add(1)
				local[strconv.Itoa(resp.StatusCode)]++
				if resp.StatusCode == http.StatusOK {
					events.Add(int64(c.Batch))
				} else {
					errs.Add(1)
				}
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			for k, v := range local {
				statuses[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	return &loadResult{
		Endpoint: endpoint, Connections: c.Conns, BatchSize: c.Batch, Seconds: secs,
		Requests: requests.Load(), Events: events.Load(), EventsPerSec: float64(events.Load()) / secs,
		RequestsPerS: float64(requests.Load()) / secs, Errors: errs.Load(), StatusCounts: statuses,
		LatencyP50Ms: pct(0.50), LatencyP99Ms: pct(0.99), LatencyP999Ms: pct(0.999),
	}, nil
}

// eventGen writes realistic events of about 400 bytes: a mix of sessions, custom events,
// purchases with revenue and a few installs, over a fixed population of devices.
type eventGen struct {
	rng     *rand.Rand
	devices int
	prefix  string
	seq     int64
}

var eventTypes = []string{"session", "session", "session", "level_complete", "purchase", "install", "add_to_cart"}

func (g *eventGen) body(b []byte, n int) []byte {
	if n > 1 {
		b = append(b, `{"events":[`...)
	}
	now := time.Now().Unix()
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		g.seq++
		typ := eventTypes[g.rng.IntN(len(eventTypes))]
		dev := g.rng.IntN(g.devices)
		b = append(b, `{"event_type":"`...)
		b = append(b, typ...)
		b = append(b, `","event_id":"`...)
		b = append(b, g.prefix...)
		b = strconv.AppendInt(b, g.seq, 10)
		b = append(b, `","device_id":"dev-`...)
		b = strconv.AppendInt(b, int64(dev), 10)
		b = append(b, `","user_id":"user-`...)
		b = strconv.AppendInt(b, int64(dev), 10)
		b = append(b, `","session_id":"s-`...)
		b = strconv.AppendInt(b, int64(dev)*7+now/1800, 10)
		b = append(b, `","timestamp":`...)
		b = strconv.AppendInt(b, now, 10)
		if dev%2 == 0 {
			b = append(b, `,"platform":"ios","os_version":"17.1","device_model":"iPhone15,2","idfv":"6D92078A-8246-4BA4-AE5B-`...)
			b = append(b, fmt.Sprintf("%012d", dev)...)
			b = append(b, '"')
		} else {
			b = append(b, `,"platform":"android","os_version":"14","device_model":"Pixel 8","gaid":"38400000-8cf0-11bd-b23e-`...)
			b = append(b, fmt.Sprintf("%012d", dev)...)
			b = append(b, '"')
		}
		b = append(b, `,"app_version":"3.2.1","country":"DE","language":"de-DE"`...)
		if typ == "purchase" {
			b = append(b, `,"revenue":`...)
			b = strconv.AppendFloat(b, float64(g.rng.IntN(10000))/100, 'f', 2, 64)
			b = append(b, `,"currency":"EUR"`...)
		}
		b = append(b, `,"event_data":{"screen":"level_`...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(50)), 10)
		b = append(b, `","ab_group":"B","score":`...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(100000)), 10)
		b = append(b, `}}`...)
	}
	if n > 1 {
		b = append(b, `]}`...)
	}
	return b
}
