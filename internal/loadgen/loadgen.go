// Package loadgen is the load generator of `unmogrowp-bench loadgen`: it drives a running
// ingestion listener with realistic traffic (events, S2S touchpoints and clicks, devices
// and apps Zipf-distributed) flat out or at a fixed rate, and measures what the server
// acknowledged, the latency distribution and, with --visible, the delay from 200 to
// visible. Result is its JSON output, which scripts/bench.sh's report and the split
// deployment's throughput test read.
package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Result is what one loadgen run measured; --json prints it.
type Result struct {
	URL         string  `json:"url"`
	Endpoint    string  `json:"endpoint"` // the events endpoint
	Mode        string  `json:"mode"`     // "flat-out" or "fixed-rate"
	TargetRate  float64 `json:"target_events_per_second,omitempty"`
	Connections int     `json:"connections"`
	BatchSize   int     `json:"batch_size"`
	Seconds     float64 `json:"seconds"`

	Requests     int64   `json:"requests"`
	Events       int64   `json:"events_accepted"` // items acknowledged: events, touchpoints and clicks
	Rejected     int64   `json:"events_rejected"` // items a 200 listed as invalid
	EventsPerSec float64 `json:"events_per_second"`
	RequestsPerS float64 `json:"requests_per_second"`
	Unsent       int64   `json:"unsent,omitempty"` // fixed rate: items due before the end but never sent
	BytesPerItem float64 `json:"bytes_per_item"`   // mean request body bytes per item (whole request for clicks)

	Kinds        map[string]*KindResult `json:"kinds"`
	Errors       int64                  `json:"errors"`        // requests that were not acknowledged
	StatusCounts map[string]int64       `json:"status_counts"` // every answer by status, and "conn_error"

	// Latency from the moment each request was due (fixed rate: corrected for coordinated
	// omission) or sent (flat out) to its answer.
	LatencyCorrected bool    `json:"latency_corrected"`
	LatencyP50Ms     float64 `json:"latency_p50_ms"`
	LatencyP99Ms     float64 `json:"latency_p99_ms"`
	LatencyP999Ms    float64 `json:"latency_p999_ms"`
	LatencyMaxMs     float64 `json:"latency_max_ms"`

	Visible *VisibleResult `json:"visible,omitempty"`
}

// KindResult is one kind of request's share of a run.
type KindResult struct {
	Requests int64 `json:"requests"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
}

// config is one loadgen run.
type config struct {
	URL       string   // ingestion listener base URL
	Keys      []string // SDK keys (X-App-Key), apps drawn Zipf-distributed
	ServerKey string   // the first app's server key: touchpoints, and visibility through the API
	APIURL    string   // API listener base URL: link creation, visibility through the API
	AppID     string   // the first key's app
	LinkID    string   // tracking link of clicks
	Batch     int
	Conns     int
	Duration  time.Duration
	Rate      float64 // items per second over all connections; 0: flat out
	Mix       [numKinds]float64
	Devices   int
	ZipfS     float64
	Timeout   time.Duration // per request

	Visible        bool          // measure the delay from 200 to visible
	VisibleEvery   time.Duration // one marker install this often
	VisibleTimeout time.Duration // give up on a marker after this long
}

// keyList is a flag that may be repeated and takes comma-separated values.
type keyList []string

func (k *keyList) String() string { return strings.Join(*k, ",") }

func (k *keyList) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*k = append(*k, v)
		}
	}
	return nil
}

// Command is `unmogrowp-bench loadgen ARGS...`: it drives a running ingestion listener with
// realistic traffic from C connections for a duration, flat out or at a fixed rate, then
// prints what the server acknowledged, the errors, the latency distribution and, with
// --visible, how long acknowledged events took to be visible (--json: a Result).
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var keys keyList
	var mix string
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "ingestion listener base URL (http)")
	fs.Var(&keys, "key", "SDK key (X-App-Key); repeat it or separate keys with commas to spread the load over apps, Zipf-distributed (required)")
	fs.StringVar(&c.ServerKey, "server-key", "", "server key (X-Api-Key) of the first --key's app: S2S touchpoints, link creation, visibility through the API")
	fs.StringVar(&c.APIURL, "api-url", "", "API listener base URL, e.g. http://127.0.0.1:3001: creates the click link and measures visibility in the API")
	fs.StringVar(&c.AppID, "app-id", "", "the first --key's app id (with --api-url)")
	fs.StringVar(&c.LinkID, "link", "", "tracking link id for /c/ clicks (default: one created through --api-url)")
	fs.IntVar(&c.Batch, "batch", 100, "events per request: 1 uses /v1/events, more uses /v1/events/batch (touchpoints are batched alike)")
	fs.IntVar(&c.Conns, "c", 32, "concurrent connections")
	fs.DurationVar(&c.Duration, "d", 10*time.Second, "how long to send")
	fs.Float64Var(&c.Rate, "rate", 0, "items (events, touchpoints, clicks) per second over all connections; 0: flat out")
	fs.StringVar(&mix, "mix", "", "shares of the items sent, e.g. events=90,touchpoints=6,clicks=4 (default: that, less what the keys given cannot send)")
	fs.IntVar(&c.Devices, "devices", 100000, "distinct devices per app, Zipf-distributed")
	fs.Float64Var(&c.ZipfS, "zipf", 1.1, "Zipf exponent of devices and apps (> 1)")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.BoolVar(&c.Visible, "visible", false, "every --visible-every send a marker install and time it from its 200 until GET /api/apps/{app_id}/attribution/{device_id} (with --api-url, --app-id, --server-key) or else GET /v1/attribution shows it; at the end, time until the pipeline drained")
	fs.DurationVar(&c.VisibleEvery, "visible-every", time.Second, "how often --visible sends a marker")
	fs.DurationVar(&c.VisibleTimeout, "visible-timeout", 2*time.Minute, "how long --visible waits for one marker")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.Keys = keys
	switch {
	case len(c.Keys) == 0:
		return fmt.Errorf("loadgen: --key is required (create an app with 'unmogrowp apps create --owner EMAIL --name load')")
	case c.Batch < 1 || c.Batch > 1000 || c.Conns < 1 || c.Duration <= 0 || c.Rate < 0:
		return fmt.Errorf("loadgen: --batch must be 1..1000, -c at least 1, -d positive, --rate not negative")
	case c.Devices < 1 || c.Devices > 1_000_000_000 || c.ZipfS <= 1:
		return fmt.Errorf("loadgen: --devices must be 1..1e9 and --zipf over 1")
	case c.Visible && c.VisibleEvery <= 0:
		return fmt.Errorf("loadgen: --visible-every must be positive")
	}
	explicit := mix != ""
	if !explicit {
		mix = "events=90,touchpoints=6,clicks=4"
	}
	var err error
	if c.Mix, err = parseMix(mix); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	// Drop what cannot be sent with the flags given (or refuse, when --mix asked for it).
	if c.Mix[kindTouchpoints] > 0 && c.ServerKey == "" {
		if explicit {
			return fmt.Errorf("loadgen: touchpoints need --server-key")
		}
		c.Mix[kindTouchpoints] = 0
	}
	if c.Mix[kindClicks] > 0 && c.LinkID == "" {
		switch {
		case c.APIURL != "" && c.AppID != "" && c.ServerKey != "":
			if c.LinkID, err = createLoadLink(ctx, c.APIURL, c.AppID, c.ServerKey); err != nil {
				return fmt.Errorf("loadgen: %w", err)
			}
			fmt.Fprintf(stderr, "loadgen: clicks go to the new link %s\n", c.LinkID)
		case explicit:
			return fmt.Errorf("loadgen: clicks need --link, or --api-url, --app-id and --server-key to create one")
		default:
			c.Mix[kindClicks] = 0
		}
	}
	res, err := drive(ctx, c)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printResult(stdout, res)
	return nil
}

// printResult prints a run's result for people.
func printResult(w io.Writer, r *Result) {
	rate := "flat out"
	if r.Mode == "fixed-rate" {
		rate = fmt.Sprintf("at %.0f/s", r.TargetRate)
	}
	fmt.Fprintf(w, "%s  c=%d batch=%d  %s  %.1f s\n", r.Endpoint, r.Connections, r.BatchSize, rate, r.Seconds)
	fmt.Fprintf(w, "  accepted %d events (%.0f events/s, %.0f req/s, %.0f B/event), rejected %d",
		r.Events, r.EventsPerSec, r.RequestsPerS, r.BytesPerItem, r.Rejected)
	if r.Unsent > 0 {
		fmt.Fprintf(w, ", %d due but not sent (the server was too slow)", r.Unsent)
	}
	fmt.Fprintln(w)
	var kinds []string
	for _, k := range kindNames {
		if kr := r.Kinds[k]; kr != nil {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, kr.Accepted))
		}
	}
	fmt.Fprintf(w, "  by kind: %s\n", strings.Join(kinds, ", "))
	codes := slices.Sorted(func(yield func(string) bool) {
		for k := range r.StatusCounts {
			if !yield(k) {
				return
			}
		}
	})
	var answers []string
	for _, k := range codes {
		answers = append(answers, fmt.Sprintf("%s: %d", k, r.StatusCounts[k]))
	}
	fmt.Fprintf(w, "  errors %d; answers %s\n", r.Errors, strings.Join(answers, ", "))
	from := "from send (closed loop)"
	if r.LatencyCorrected {
		from = "from due time (corrected for coordinated omission)"
	}
	fmt.Fprintf(w, "  latency p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms, %s\n",
		r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyP999Ms, r.LatencyMaxMs, from)
	if v := r.Visible; v != nil {
		fmt.Fprintf(w, "  visible through %s: %d of %d markers, 200 to visible p50 %.0f ms  p99 %.0f ms  max %.0f ms\n",
			v.Via, v.Seen, v.Markers, v.P50Ms, v.P99Ms, v.MaxMs)
		if v.DrainSeconds >= 0 {
			fmt.Fprintf(w, "  drained %.2f s after the end: %.0f events/s from start to all visible\n", v.DrainSeconds, v.PipelineEventsPerSec)
		} else {
			fmt.Fprintf(w, "  not drained within %s\n", v.timeout)
		}
	}
}

// createLoadLink creates a tracking link for the load's clicks through the API.
func createLoadLink(ctx context.Context, apiURL, appID, serverKey string) (string, error) {
	body := `{"media_source":"loadgen_int","campaign":"load","ios_url":"https://apps.apple.com/app/id1000000001",` +
		`"android_url":"https://play.google.com/store/apps/details?id=com.example.load","web_url":"https://example.com/load"}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(apiURL, "/")+"/api/apps/"+url.PathEscape(appID)+"/links", strings.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("create link: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", serverKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("create link: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var link struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &link) != nil || link.ID == "" {
		return "", fmt.Errorf("create link: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return link.ID, nil
}

// newRunID returns 8 random hex characters that keep this run's ids apart from every
// other run's (the server deduplicates event ids over days).
func newRunID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// worker is one connection's sender and what it measured.
type worker struct {
	conn     *rawConn
	gen      *traffic
	lat      histogram
	kinds    [numKinds]KindResult
	statuses map[int]int64
	connErrs int64
	bytes    int64 // request body bytes acknowledged (whole requests for clicks)
	unsent   int64
}

// drive runs the load of c and returns what it measured.
func drive(ctx context.Context, c config) (*Result, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("loadgen: --url must be a URL such as http://127.0.0.1:8080, not %q", c.URL)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("loadgen: --url must be http (the load generator speaks plain HTTP/1.1), not %q", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr += ":80"
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.ZipfS <= 1 {
		c.ZipfS = 1.1
	}
	tc := trafficConfig{
		Host: u.Host, PathPrefix: strings.TrimRight(u.Path, "/"), Keys: c.Keys, ServerKey: c.ServerKey,
		LinkID: c.LinkID, Batch: c.Batch, Mix: c.Mix, Devices: c.Devices, ZipfS: c.ZipfS, RunID: newRunID(),
	}
	seed := uint64(time.Now().UnixNano())
	workers := make([]*worker, c.Conns)
	for i := range workers {
		workers[i] = &worker{conn: newRawConn(addr, c.Timeout), gen: newTraffic(tc, i, seed), statuses: map[int]int64{}}
	}
	stop := context.AfterFunc(ctx, func() {
		for _, w := range workers {
			w.conn.close()
		}
	})
	defer stop()

	var vis *visibility
	if c.Visible {
		vis = newVisibility(c, strings.TrimRight(c.URL, "/"), tc.RunID)
	}
	// perItem is each connection's time between items at the fixed rate.
	var perItem time.Duration
	if c.Rate > 0 {
		perItem = time.Duration(float64(c.Conns) * float64(time.Second) / c.Rate)
	}
	start := time.Now()
	deadline := start.Add(c.Duration)
	var wg sync.WaitGroup
	if vis != nil {
		wg.Go(func() { vis.markers(ctx, deadline) })
	}
	var load sync.WaitGroup
	for i, w := range workers {
		offset := time.Duration(0)
		if perItem > 0 { // spread the connections' schedules over one interval
			offset = perItem * time.Duration(i) / time.Duration(c.Conns)
		}
		load.Go(func() { w.run(ctx, pacer{next: start.Add(offset), perItem: perItem}, deadline) })
	}
	load.Wait()
	end := time.Now()
	for _, w := range workers {
		w.conn.close()
	}
	var drainAt time.Time
	if vis != nil && ctx.Err() == nil {
		drainAt = vis.drain(ctx)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res := &Result{
		URL: c.URL, Endpoint: strings.TrimRight(c.URL, "/") + "/v1/events/batch", Mode: "flat-out",
		Connections: c.Conns, BatchSize: c.Batch, Seconds: end.Sub(start).Seconds(),
		Kinds: map[string]*KindResult{}, StatusCounts: map[string]int64{}, LatencyCorrected: perItem > 0,
	}
	if c.Batch == 1 {
		res.Endpoint = strings.TrimRight(c.URL, "/") + "/v1/events"
	}
	if perItem > 0 {
		res.Mode, res.TargetRate = "fixed-rate", c.Rate
	}
	var lat histogram
	var items, sent int64
	for _, w := range workers {
		lat.merge(&w.lat)
		for k := range numKinds {
			kr := &w.kinds[k]
			if kr.Requests == 0 {
				continue
			}
			sum := res.Kinds[kindNames[k]]
			if sum == nil {
				sum = &KindResult{}
				res.Kinds[kindNames[k]] = sum
			}
			sum.Requests += kr.Requests
			sum.Accepted += kr.Accepted
			sum.Rejected += kr.Rejected
			res.Requests += kr.Requests
			res.Events += kr.Accepted
			res.Rejected += kr.Rejected
			items += kr.Accepted + kr.Rejected
		}
		for code, n := range w.statuses {
			res.StatusCounts[strconv.Itoa(code)] += n
			if !acknowledged(code) {
				res.Errors += n
			}
		}
		if w.connErrs > 0 {
			res.StatusCounts["conn_error"] += w.connErrs
			res.Errors += w.connErrs
		}
		res.Unsent += w.unsent
		sent += w.bytes
	}
	if items > 0 {
		res.BytesPerItem = float64(sent) / float64(items)
	}
	res.EventsPerSec = float64(res.Events) / res.Seconds
	res.RequestsPerS = float64(res.Requests) / res.Seconds
	res.LatencyP50Ms = lat.quantile(0.50).Seconds() * 1000
	res.LatencyP99Ms = lat.quantile(0.99).Seconds() * 1000
	res.LatencyP999Ms = lat.quantile(0.999).Seconds() * 1000
	res.LatencyMaxMs = time.Duration(lat.max).Seconds() * 1000
	if vis != nil {
		res.Visible = vis.result(start, end, drainAt, res.Events)
	}
	return res, nil
}

// acknowledged reports whether an answer's status acknowledges what was sent: 2xx, and a
// click's redirect.
func acknowledged(code int) bool { return code >= 200 && code < 400 }

// run sends requests until the deadline: as fast as the connection answers, or at the
// pacer's rate.
func (w *worker) run(ctx context.Context, p pacer, deadline time.Time) {
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(deadline) || (p.perItem > 0 && !p.next.Before(deadline)) {
			break
		}
		req, kind, n, size := w.gen.next(now)
		var from time.Time
		if p.perItem > 0 {
			from = p.wait(time.Now, time.Sleep)
			p.advance(n)
		} else {
			from = time.Now()
		}
		status, body, err := w.conn.do(req)
		done := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				w.connErrs++
				time.Sleep(10 * time.Millisecond) // a server that refuses connections is not hammered
			}
			continue
		}
		w.lat.record(done.Sub(from))
		w.statuses[status]++
		kr := &w.kinds[kind]
		kr.Requests++
		if acknowledged(status) {
			w.bytes += int64(size)
			acc, rej := answerCounts(body, n)
			kr.Accepted += acc
			kr.Rejected += rej
		}
	}
	if p.perItem > 0 && p.next.Before(deadline) {
		w.unsent += int64(deadline.Sub(p.next)/p.perItem) + 1
	}
}

// answerCounts returns how many items an acknowledged answer accepted and rejected: the
// "accepted" and "rejected" counts of a batch answer, else all n accepted (a single
// event's answer, a click's redirect, or a baseline that counts nothing).
func answerCounts(body []byte, n int) (accepted, rejected int64) {
	acc, ok := jsonCount(body, `"accepted":`)
	if !ok {
		return int64(n), 0
	}
	rej, _ := jsonCount(body, `"rejected":`)
	return acc, rej
}

// jsonCount finds `"name":<digits>` in a JSON body without decoding it.
func jsonCount(body []byte, key string) (int64, bool) {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(body[i+len(key):], " ")
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return v, err == nil
}

// pacer schedules a connection's requests at a fixed rate: each is due perItem times the
// items of the one before after that one was due, whenever it was actually sent.
type pacer struct {
	next    time.Time // when the next request is due
	perItem time.Duration
}

// wait sleeps until the next request is due and returns the instant its latency counts
// from. When the request is late (the answer to the previous one came after this one was
// due), that is the due time: the wait on the server is part of the latency, which a
// closed loop would hide (coordinated omission). When it is on time, it is the moment the
// sleep ended, so that the load generator's oversleeping is not blamed on the server.
func (p *pacer) wait(now func() time.Time, sleep func(time.Duration)) time.Time {
	t := now()
	if d := p.next.Sub(t); d > 0 {
		sleep(d)
		return now()
	}
	return p.next
}

// advance moves the due time on by the items of the request just sent.
func (p *pacer) advance(items int) { p.next = p.next.Add(time.Duration(items) * p.perItem) }

// histogram counts durations in log-linear buckets, as HdrHistogram does: 128 buckets
// for each power of two, so that every quantile is within 1% of the true value, in a fixed
// few tens of kilobytes however many requests are recorded.
type histogram struct {
	counts []uint64
	n      uint64
	max    int64
}

const histSubBits = 7 // 128 sub-buckets

// histIndex returns the bucket of v >= 0.
func histIndex(v uint64) int {
	if v < 1<<histSubBits {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return (shift+1)<<histSubBits + int(v>>shift) - 1<<histSubBits
}

// histValue returns the middle of bucket i.
func histValue(i int) uint64 {
	if i < 1<<histSubBits {
		return uint64(i)
	}
	shift := i>>histSubBits - 1
	m := uint64(i&(1<<histSubBits-1) + 1<<histSubBits)
	return m<<shift + (uint64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	v := max(int64(d), 0)
	i := histIndex(uint64(v))
	if i >= len(h.counts) {
		h.counts = slices.Grow(h.counts, i+1-len(h.counts))[:i+1]
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	if len(o.counts) > len(h.counts) {
		h.counts = slices.Grow(h.counts, len(o.counts)-len(h.counts))[:len(o.counts)]
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the duration that a share q of the recorded ones do not exceed.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(int64(histValue(i)), h.max))
		}
	}
	return time.Duration(h.max)
}
