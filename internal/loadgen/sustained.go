package loadgen

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// SustainedResult is what `unmogrowp-bench sustained` measured: the server's rate from the
// first byte sent to the last acknowledged event visible in the API's stats, and the
// baseline's decode-only rate under the same load in the same run.
type SustainedResult struct {
	// Serve is the flat-out run against the server (events only).
	Serve *Result `json:"serve"`
	// Acknowledged is the events the server acknowledged (Serve.Events).
	Acknowledged int64 `json:"acknowledged"`
	// VisibleSeconds is how long after the first request the API's stats counted every
	// acknowledged event; DrainSeconds the part of it after the load ended. -1 when that
	// did not happen within --visible-timeout.
	VisibleSeconds float64 `json:"visible_seconds"`
	DrainSeconds   float64 `json:"drain_seconds"`
	// SustainedPerSec is Acknowledged / VisibleSeconds: what the server sustained end to
	// end, from first byte to visible.
	SustainedPerSec float64 `json:"sustained_events_per_second"`
	// Baseline is the same load against the baseline, after the server drained.
	Baseline *Result `json:"baseline"`
	// Ratio is SustainedPerSec / Baseline.EventsPerSec.
	Ratio float64 `json:"ratio"`
	// ServerCPUSeconds is the CPU time (user and system) the server's process spent from
	// the first request to all visible, when --server-pid was given; CPUSecondsPerMillion
	// is that per million acknowledged events, steadier than the rates on a shared machine.
	ServerCPUSeconds     float64 `json:"server_cpu_seconds,omitempty"`
	CPUSecondsPerMillion float64 `json:"server_cpu_seconds_per_million_events,omitempty"`
	// BaselineCPUSecondsPerMillion is the baseline process's CPU time per million events
	// it answered (when its process id is known).
	BaselineCPUSecondsPerMillion float64 `json:"baseline_cpu_seconds_per_million_events,omitempty"`
	// Polls is how many times the stats were read while waiting.
	Polls int `json:"stats_polls"`
}

// SustainedCommand is `unmogrowp-bench sustained ARGS...`: it sends 100-event batches flat
// out to a server for a duration (only events, of one app), then reads the API's stats
// until they count every event the server acknowledged, then sends the same load to the
// baseline (at --baseline-url, or the one startBaseline starts), and prints the sustained
// rate, acknowledged events over the time from the first request to all visible, beside
// the baseline's rate and their ratio (issue 26's first figure; --json: a SustainedResult).
// The server should be otherwise idle; events it holds already are counted before the run
// and subtracted.
func SustainedCommand(ctx context.Context, args []string, stdout, stderr io.Writer,
	startBaseline func(context.Context) (url string, pid int, stop func(), err error)) error {
	fs := flag.NewFlagSet("sustained", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var key, baseURL string
	var pid, basePID int
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "ingestion listener base URL (http)")
	fs.StringVar(&key, "key", "", "SDK key (X-App-Key) of the app (required)")
	fs.StringVar(&c.ServerKey, "server-key", "", "the app's server key (X-Api-Key), to read its stats (required)")
	fs.StringVar(&c.APIURL, "api-url", "http://127.0.0.1:3001", "API listener base URL")
	fs.StringVar(&c.AppID, "app-id", "", "the app's id (required)")
	fs.IntVar(&c.Batch, "batch", 100, "events per request")
	fs.IntVar(&c.Conns, "c", 32, "concurrent connections")
	fs.DurationVar(&c.Duration, "d", 30*time.Second, "how long to send, to the server and then to the baseline")
	fs.IntVar(&c.Devices, "devices", 100000, "distinct devices, Zipf-distributed")
	fs.DurationVar(&c.VisibleTimeout, "visible-timeout", 15*time.Minute, "how long to wait after the load for every event to be visible")
	fs.StringVar(&baseURL, "baseline-url", "", "a running baseline (unmogrowp-bench baseline); default: start one")
	fs.IntVar(&pid, "server-pid", 0, "the server's process id, to report its CPU time per million events (Linux /proc)")
	fs.IntVar(&basePID, "baseline-pid", 0, "the --baseline-url process's id, to report its CPU time per million events")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if key == "" || c.ServerKey == "" || c.AppID == "" {
		return fmt.Errorf("sustained: --key, --server-key and --app-id are required")
	}
	if c.Batch < 1 || c.Batch > 1000 || c.Conns < 1 || c.Duration <= 0 {
		return fmt.Errorf("sustained: --batch must be 1..1000, -c at least 1, -d positive")
	}
	c.Keys = []string{key}
	c.Mix = [numKinds]float64{kindEvents: 1}
	c.ZipfS = 1.1
	st := &statsReader{client: &http.Client{Timeout: time.Minute}, api: strings.TrimRight(c.APIURL, "/"), appID: c.AppID, key: c.ServerKey}

	before, err := st.events(ctx)
	if err != nil {
		return fmt.Errorf("sustained: %w", err)
	}
	metricsURL := strings.TrimRight(c.URL, "/") + "/metrics"
	storedBefore, ok := st.counter(ctx, metricsURL, storedMetric)
	if !ok {
		metricsURL = ""
	}
	cpu0, _ := processCPU(pid)
	start := time.Now()
	fmt.Fprintf(stderr, "sustained: %s of %d-event batches on %d connections to %s\n", c.Duration, c.Batch, c.Conns, c.URL)
	res := &SustainedResult{VisibleSeconds: -1, DrainSeconds: -1}
	if res.Serve, err = drive(ctx, c); err != nil {
		return err
	}
	end := start.Add(time.Duration(res.Serve.Seconds * float64(time.Second)))
	res.Acknowledged = res.Serve.Events
	fmt.Fprintf(stderr, "sustained: %d events acknowledged; waiting until the stats count them\n", res.Acknowledged)
	seen, err := st.waitFor(ctx, before+res.Acknowledged, metricsURL, storedBefore+float64(res.Acknowledged), start, c.VisibleTimeout, &res.Polls)
	if err != nil {
		return fmt.Errorf("sustained: %w", err)
	}
	if !seen.IsZero() {
		res.VisibleSeconds = seen.Sub(start).Seconds()
		res.DrainSeconds = max(0, seen.Sub(end).Seconds())
		res.SustainedPerSec = float64(res.Acknowledged) / res.VisibleSeconds
		if cpu1, ok := processCPU(pid); ok && pid > 0 {
			res.ServerCPUSeconds = cpu1 - cpu0
			if res.Acknowledged > 0 {
				res.CPUSecondsPerMillion = res.ServerCPUSeconds / float64(res.Acknowledged) * 1e6
			}
		}
	}

	if baseURL == "" {
		u, p, stop, err := startBaseline(ctx)
		if err != nil {
			return fmt.Errorf("sustained: start the baseline: %w", err)
		}
		defer stop()
		baseURL, basePID = u, p
	}
	bcpu0, _ := processCPU(basePID)
	bc := c
	bc.URL, bc.Keys, bc.ServerKey, bc.APIURL, bc.AppID = baseURL, []string{"ignored"}, "", "", ""
	fmt.Fprintf(stderr, "sustained: the same load to the baseline at %s\n", baseURL)
	if res.Baseline, err = drive(ctx, bc); err != nil {
		return err
	}
	if res.Baseline.EventsPerSec > 0 {
		res.Ratio = res.SustainedPerSec / res.Baseline.EventsPerSec
	}
	if bcpu1, ok := processCPU(basePID); ok && res.Baseline.Events > 0 {
		res.BaselineCPUSecondsPerMillion = (bcpu1 - bcpu0) / float64(res.Baseline.Events) * 1e6
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printSustained(stdout, res)
	return nil
}

// printSustained prints a sustained run's result for people.
func printSustained(w io.Writer, r *SustainedResult) {
	fmt.Fprintf(w, "serve: %d events acknowledged in %.1f s (%.0f events/s, %d errors, p99 %.1f ms)\n",
		r.Acknowledged, r.Serve.Seconds, r.Serve.EventsPerSec, r.Serve.Errors, r.Serve.LatencyP99Ms)
	if r.VisibleSeconds < 0 {
		fmt.Fprintln(w, "  not all visible within --visible-timeout")
	} else {
		fmt.Fprintf(w, "  all visible in the API's stats %.1f s after the first request (%.1f s after the last)\n", r.VisibleSeconds, r.DrainSeconds)
		fmt.Fprintf(w, "  sustained end to end: %.0f events/s\n", r.SustainedPerSec)
	}
	if r.CPUSecondsPerMillion > 0 {
		fmt.Fprintf(w, "  server CPU: %.1f s, %.1f s per million events\n", r.ServerCPUSeconds, r.CPUSecondsPerMillion)
	}
	fmt.Fprintf(w, "baseline: %d events in %.1f s: %.0f events/s\n", r.Baseline.Events, r.Baseline.Seconds, r.Baseline.EventsPerSec)
	if r.BaselineCPUSecondsPerMillion > 0 {
		fmt.Fprintf(w, "  baseline CPU: %.1f s per million events\n", r.BaselineCPUSecondsPerMillion)
	}
	fmt.Fprintf(w, "ratio: %.2f× the baseline\n", r.Ratio)
}

// statsReader reads an app's event count from the API's stats.
type statsReader struct {
	client          *http.Client
	api, appID, key string
}

// events returns the stats' events of the app from a day ago to a day ahead (the load's
// timestamps are now).
func (s *statsReader) events(ctx context.Context) (int64, error) {
	now := time.Now()
	q := url.Values{"app_id": {s.appID}, "from": {strconv.FormatInt(now.Add(-24*time.Hour).Unix(), 10)},
		"to": {strconv.FormatInt(now.Add(24*time.Hour).Unix(), 10)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.api+"/api/dashboard/stats?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Api-Key", s.key)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read stats: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("read stats: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var st struct {
		Events *int64 `json:"events"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Events == nil {
		return 0, fmt.Errorf("read stats: no events count in %q", b)
	}
	return *st.Events, nil
}

// waitFor returns when a read of the stats that began then counted want events (zero if
// timeout passed first). A stats query scans the app's events, a second or so of the
// server's CPU with millions of them, which would slow the pipeline being measured: while
// the server's /metrics (at metricsURL; "" for none) say its pipeline has stored fewer
// than storedWant events, it reads those instead, every 100 ms. Without them it reads the
// stats every twentieth of the time since start (from 50 ms to 1 s, so the moment is
// measured within 5%).
func (s *statsReader) waitFor(ctx context.Context, want int64, metricsURL string, storedWant float64,
	start time.Time, timeout time.Duration, polls *int) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		wait := max(50*time.Millisecond, min(time.Since(start)/20, time.Second))
		if metricsURL != "" {
			if n, ok := s.counter(ctx, metricsURL, storedMetric); ok && n < storedWant {
				if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
					return time.Time{}, err
				}
				continue
			}
			wait = 100 * time.Millisecond
		}
		at := time.Now()
		n, err := s.events(ctx)
		*polls++
		if err != nil {
			return time.Time{}, err
		}
		if n >= want {
			return at, nil
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, nil
}

// storedMetric counts the events the pipeline stored (package pipeline's metrics).
const storedMetric = "unmogrowp_pipeline_events_stored_total"

// counter returns the sum of a metric's samples in the Prometheus text at u; false when
// it cannot be read or has none.
func (s *statsReader) counter(ctx context.Context, u, name string) (float64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, false
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	var sum float64
	found := false
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// processCPU returns the user and system CPU seconds of process pid from /proc (Linux);
// false when pid is 0 or it cannot be read.
func processCPU(pid int) (float64, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command's closing parenthesis; utime and stime are the 14th
	// and 15th of the line, the 12th and 13th after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const hz = 100 // USER_HZ, 100 on every Linux ABI Go supports
	return (u + s) / hz, true
}
