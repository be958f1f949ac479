package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
)

// faults are fault-injecting TCP proxies (toxiproxy, run in this test process) between
// the processes of a split deployment and each server they use, by the server's name:
// postgres, redis, clickhouse, kafka. The Kafka broker (kfake) is this test's own, so it
// can also be stopped and started again on its data directory.
type faults struct {
	api     *toxiproxy.ApiServer
	proxies map[string]*toxiproxy.Proxy

	kmu      sync.Mutex
	kcluster *kfake.Cluster
	kdir     string // the broker's data directory, which a restart reloads
	kreal    string // where the broker listens
	kproxy   string // where it says it listens: its proxy
}

func newFaults(t *testing.T) *faults {
	f := &faults{
		api:     toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()),
		proxies: map[string]*toxiproxy.Proxy{},
	}
	t.Cleanup(func() {
		for _, p := range f.proxies {
			p.Stop()
		}
	})
	return f
}

// proxy starts the proxy of the server name at upstream and returns its address.
func (f *faults) proxy(t *testing.T, name, upstream string) string {
	t.Helper()
	p := toxiproxy.NewProxy(f.api, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	f.proxies[name] = p
	return p.Listen
}

// kafka starts the Kafka cluster of a deployment: without faults (f nil) a plain kfake
// broker; with them, one broker persisting to a data directory, listening on a port of
// its own and advertising its proxy, so that every client's connection, the ones the
// metadata sends it to included, goes through the proxy.
func (f *faults) kafka(t *testing.T) *kfake.Cluster {
	t.Helper()
	if f == nil {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.kreal, f.kdir = ln.Addr().String(), t.TempDir()
	f.kproxy = f.proxy(t, "kafka", f.kreal)
	f.startKafka(t, ln)
	t.Cleanup(func() {
		f.kmu.Lock()
		defer f.kmu.Unlock()
		if f.kcluster != nil {
			f.kcluster.Close()
		}
	})
	return f.kcluster
}

// startKafka starts the broker on ln (nil: a new listener at the broker's address).
func (f *faults) startKafka(t *testing.T, ln net.Listener) {
	t.Helper()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", f.kreal); err != nil {
			t.Fatal(err)
		}
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(f.kdir), kfake.SyncWrites(),
		kfake.ListenFn(func(string, string) (net.Listener, error) { return advertised{ln, f.kproxy}, nil }))
	if err != nil {
		t.Fatal(err)
	}
	f.kmu.Lock()
	f.kcluster = c
	f.kmu.Unlock()
}

// stopKafka stops the broker: its port refuses connections until startKafka.
func (f *faults) stopKafka() {
	f.kmu.Lock()
	defer f.kmu.Unlock()
	f.kcluster.Close()
	f.kcluster = nil
}

// advertised is a listener whose Addr is another address: kfake advertises its
// listener's address to clients.
type advertised struct {
	net.Listener
	addr string
}

func (a advertised) Addr() net.Addr { return tcpAddr(a.addr) }

type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

// cut closes the proxy of name and every connection through it: the server is
// unreachable (connections refused) until restore.
func (f *faults) cut(name string) { f.proxies[name].Stop() }

// restore ends what cut and toxic did.
func (f *faults) restore(t *testing.T, name string) {
	t.Helper()
	p := f.proxies[name]
	p.Toxics.ResetToxics(context.Background())
	if !p.Enabled {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
}

// toxic adds a toxic of typ with attrs to both directions of the proxy of name.
func (f *faults) toxic(t *testing.T, name, typ string, attrs map[string]any) {
	t.Helper()
	for _, stream := range []string{"upstream", "downstream"} {
		body, _ := json.Marshal(map[string]any{"name": typ + "_" + stream, "type": typ, "stream": stream, "attributes": attrs})
		if _, err := f.proxies[name].Toxics.AddToxicJson(strings.NewReader(string(body))); err != nil {
			t.Fatal(err)
		}
	}
}

// fault is one way a server fails.
type fault struct {
	name  string
	apply func(t *testing.T, f *faults, server string) // the failure; restore ends it
	down  bool                                         // the server is unreachable meanwhile: /health says so
}

var (
	faultCut     = fault{"cut", func(t *testing.T, f *faults, s string) { f.cut(s) }, true}
	faultStall   = fault{"stall", func(t *testing.T, f *faults, s string) { f.toxic(t, s, "timeout", map[string]any{"timeout": 0}) }, true}
	faultLatency = fault{"latency", func(t *testing.T, f *faults, s string) { f.toxic(t, s, "latency", map[string]any{"latency": 2000}) }, false}
)

// faultLoad is a steady stream of event batches, touchpoints and installs through both
// ingestion processes, recording what was acknowledged and how each request was
// answered.
type faultLoad struct {
	d       *split
	key     string
	limit   time.Duration // the longest an answer may take
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	acked   map[string]bool // event ids answered 200
	devices map[string]bool // devices whose install was answered 200
	codes   map[int]int     // answers by status
	slow    []string        // requests answered after limit, or not at all
	bad     []string        // answers other than 200, 429 and 503 with Retry-After
}

// startLoad starts workers, each sending a batch of batch events (one an install, of its
// own device and with a click of net_fault an hour before it) every interval.
func startLoad(t *testing.T, d *split, key string, workers, batch int, interval, limit time.Duration) *faultLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &faultLoad{d: d, key: key, limit: limit, cancel: cancel, acked: map[string]bool{}, devices: map[string]bool{}, codes: map[int]int{}}
	client := &http.Client{Timeout: limit + 20*time.Second}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				dev := fmt.Sprintf("w%d-%d", w, i)
				gaid := fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", w, i)
				l.send(client, "/v1/touchpoints", map[string]any{"touchpoints": []map[string]any{{"type": "click", "media_source": "net_fault", "campaign": "c", "gaid": gaid,
					"timestamp": time.Now().Add(-time.Hour).Unix()}}}, nil, "") // an hour before: not a click injection
				events := []map[string]any{{"event_type": "install", "event_id": dev + "-0", "device_id": dev, "gaid": gaid, "platform": "android"}}
				ids := []string{dev + "-0"}
				for j := 1; j < batch; j++ {
					id := fmt.Sprintf("%s-%d", dev, j)
					events = append(events, map[string]any{"event_type": "session", "event_id": id, "device_id": dev})
					ids = append(ids, id)
				}
				l.send(client, "/v1/events/batch", map[string]any{"events": events}, ids, dev)
			}
		}()
	}
	return l
}

// send posts body and records its answer; ids and device are what a 200 acknowledges.
func (l *faultLoad) send(client *http.Client, path string, body any, ids []string, device string) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", l.d.ingestURL()+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", l.key)
	start := time.Now()
	resp, err := client.Do(req)
	took := time.Since(start)
	code := 0
	var answer []byte
	if err == nil {
		answer, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		code = resp.StatusCode
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.codes[code]++
	if took > l.limit {
		l.slow = append(l.slow, fmt.Sprintf("%s answered %d after %s (%v)", path, code, took.Round(time.Millisecond), err))
	}
	switch {
	case code == 200 && ids != nil:
		var a batchAnswer
		if json.Unmarshal(answer, &a) != nil || a.Accepted != len(ids) {
			l.bad = append(l.bad, fmt.Sprintf("%s: 200 %s", path, answer))
			return
		}
		for _, id := range ids {
			l.acked[id] = true
		}
		l.devices[device] = true
	case code == 200:
	case (code == 429 || code == 503) && resp.Header.Get("Retry-After") != "":
	case code == 0:
		l.bad = append(l.bad, fmt.Sprintf("%s: no answer after %s: %v", path, took.Round(time.Millisecond), err))
	default:
		l.bad = append(l.bad, fmt.Sprintf("%s: %d (Retry-After %q) %s", path, code, resp.Header.Get("Retry-After"), answer))
	}
}

type batchAnswer struct {
	Accepted int `json:"accepted"`
}

// stop stops the workers and waits for their requests in flight.
func (l *faultLoad) stop() {
	l.cancel()
	l.wg.Wait()
}

// healthOf reads a /health answer: its status code and its reason.
func healthOf(base string) (int, string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/health")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var h struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	err = json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, h.Status + ": " + h.Reason, err
}

// checkHealth checks that /health of every process of d that uses server answers 503
// degraded naming it, within 5 s of asking.
func checkHealth(t *testing.T, d *split, server, check string) {
	t.Helper()
	bases := map[string]string{"api": d.api.api}
	for i, p := range d.ingests {
		bases["ingestion"+strconv.Itoa(i)] = p.ingest
	}
	for i, p := range d.consumers {
		bases["consumer"+strconv.Itoa(i)] = p.consumer
	}
	for name, base := range bases {
		if server == "redis" && name == "api" || server == "clickhouse" && strings.HasPrefix(name, "ingestion") {
			continue // processes that do not use the server
		}
		var last string
		deadline := time.Now().Add(15 * time.Second)
		for {
			start := time.Now()
			code, reason, err := healthOf(base)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("%s /health took %s while %s was away", name, took.Round(time.Millisecond), server)
			}
			last = fmt.Sprintf("%d %s %v", code, reason, err)
			if code == 503 && strings.Contains(reason, check+": ") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s /health while %s is away: %s, want 503 degraded naming %s", name, server, last, check)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// register registers a user with the API at base and returns the headers of its session.
func register(t *testing.T, base, email string) map[string]string {
	t.Helper()
	code, resp, _ := call(t, "POST", base+"/api/auth/register", nil, map[string]any{"email": email, "password": "correct horse battery"})
	var reg struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(resp, &reg); code != 201 || reg.Token == "" {
		t.Fatalf("register: %d %s", code, resp)
	}
	return map[string]string{"Authorization": "Bearer " + reg.Token}
}

// apiListApps asks the API for the apps of the user of bearer, which needs PostgreSQL, and
// returns the answer's status and error, and how long it took.
func apiListApps(client *http.Client, d *split, bearer map[string]string) (code int, msg string, took time.Duration, err error) {
	req, _ := http.NewRequest("GET", d.apiURL()+"/api/apps", nil)
	for k, v := range bearer {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error, time.Since(start), nil
}

// checkAPIDown checks that while PostgreSQL is away the API answers a signed-in user's
// requests with 503 and an error within limit, several at once (more than the API's pool
// of connections), rather than holding them until the server answers again.
func checkAPIDown(t *testing.T, d *split, bearer map[string]string, limit time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: limit + 20*time.Second}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			code, msg, took, err := apiListApps(client, d, bearer)
			if code != 503 || msg == "" || took > limit {
				t.Errorf("API request %d while PostgreSQL is away: %d %q (%v) after %s, want 503 with an error within %s", i, code, msg, err, took.Round(time.Millisecond), limit)
			}
		})
	}
	wg.Wait()
}

// checkAPIBack checks that the API answers a signed-in user's request again within 15 s
// of PostgreSQL's return, without a restart.
func checkAPIBack(t *testing.T, d *split, bearer map[string]string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, msg, _, err := apiListApps(client, d, bearer)
		if code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("15 s after PostgreSQL came back the API answers %d %q (%v)", code, msg, err)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// healthCheck is the name of the check of /health that reports each server.
var healthCheck = map[string]string{"postgres": "metadata", "redis": "hotstate", "clickhouse": "store", "kafka": "log"}

// recovery measures, from now, how long until every consumer's lag is under 2 s (a
// minute at most).
func recovery(t *testing.T, d *split) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < time.Minute {
		worst := 0.0
		for _, c := range d.consumers {
			worst = max(worst, c.metric(t, "unmogrowp_pipeline_lag_seconds"))
		}
		if worst < 2 {
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("the consumers' lag stayed over 2 s for a minute after the server came back")
	return time.Since(start)
}

// checkStored checks, once the consumers drained, that ClickHouse holds every
// acknowledged event once, and one install for each acknowledged install.
func checkStored(t *testing.T, d *split, appID string, l *faultLoad) {
	t.Helper()
	conn := drainedClickHouse(t, d)
	stored := countBy(t, conn, "SELECT event_id, count() FROM events FINAL WHERE app_id = $1 GROUP BY event_id", appID)
	l.mu.Lock()
	defer l.mu.Unlock()
	var lost, twice []string
	for id := range l.acked {
		if stored[id] == 0 {
			lost = append(lost, id)
		}
	}
	for id, n := range stored {
		if n > 1 {
			twice = append(twice, id)
		}
	}
	t.Logf("%d events acknowledged, %d distinct stored; answers %v", len(l.acked), len(stored), l.codes)
	if len(l.acked) == 0 || len(lost) > 0 || len(twice) > 0 {
		slices.Sort(lost)
		slices.Sort(twice)
		t.Errorf("%d acknowledged events lost (%q), %d stored more than once (%q)", len(lost), first(lost), len(twice), first(twice))
	}

	installs := countBy(t, conn, "SELECT device_id, count() FROM installs FINAL WHERE app_id = $1 GROUP BY device_id", appID)
	for dev := range l.devices {
		if installs[dev] != 1 {
			t.Errorf("device %s: %d installs, want 1", dev, installs[dev])
		}
	}
	for dev, n := range installs {
		if n != 1 {
			t.Errorf("device %s: %d installs, want 1", dev, n)
		}
	}
	if len(l.slow) > 0 {
		t.Errorf("%d requests answered after %s: %q", len(l.slow), l.limit, first(l.slow))
	}
	if len(l.bad) > 0 {
		t.Errorf("%d wrong answers: %q", len(l.bad), first(l.bad))
	}
}

// drainedClickHouse waits until the consumers of d drained the log, then opens its
// ClickHouse database until the test ends.
func drainedClickHouse(t *testing.T, d *split) chgo.Conn {
	t.Helper()
	d.waitDrained(t)
	conn, err := chgo.Open(&chgo.Options{Addr: d.ch.Addr, Auth: chgo.Auth{Database: d.ch.Database, Username: d.ch.Username, Password: d.ch.Password}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// first is the first five of s.
func first(s []string) []string { return s[:min(len(s), 5)] }

// countBy runs query, which selects a string and a count, and returns the counts by the
// strings.
func countBy(t *testing.T, conn chgo.Conn, query string, args ...any) map[string]uint64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var k string
		var n uint64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// faultCase is one fault of one server.
type faultCase struct {
	server string
	fault  fault
	hold   time.Duration
}

// faultCases are the cases TestSplitFaults runs: a short set, or with
// UNMOGROWP_FAULTS_LONG=1 every fault of every server for the 10 s the issue asks.
func faultCases() []faultCase {
	if os.Getenv("UNMOGROWP_FAULTS_LONG") != "" {
		var cs []faultCase
		for _, s := range []string{"kafka", "redis", "clickhouse", "postgres"} {
			for _, f := range []fault{faultCut, faultStall, faultLatency} {
				cs = append(cs, faultCase{s, f, 10 * time.Second})
			}
			if s == "kafka" {
				cs = append(cs, faultCase{s, fault{name: "restart", down: true}, 10 * time.Second})
			}
		}
		return cs
	}
	return []faultCase{
		{"kafka", faultCut, 5 * time.Second},
		{"redis", faultStall, 5 * time.Second},
		{"clickhouse", faultCut, 5 * time.Second},
		{"postgres", faultStall, 5 * time.Second},
	}
}

// TestSplitFaults runs a steady load of events, clicks and installs through both
// ingestion processes of a split deployment while, one after the other, each server is
// cut off, stalled (bytes accepted, nothing answered), slowed by 2 s, or (Kafka, which
// the test owns) stopped and started again. Meanwhile ingestion answers each request
// within its timeout, with 200, or 429/503 and Retry-After, and every process that uses
// the server says in /health that it is degraded, naming it; afterwards the consumers
// catch up by themselves, ClickHouse holds every acknowledged event once and one
// install for each acknowledged install, and every install attributed to the load's
// network had its postback (from the outbox in PostgreSQL) delivered, each attempt once.
func TestSplitFaults(t *testing.T) {
	f := newFaults(t)
	d := newSplitVia(t, f)
	// The log's append timeout, short so the test is: ingestion answers within it and
	// its 3 s for every other server (ingest.DefaultStoreTimeout), a second to spare.
	d.env = append(d.env, "KAFKA_TIMEOUT=4s")
	// PostgreSQL's bound on a silent server and the API's on a request, short so the
	// test is.
	d.env = append(d.env, "DATABASE_TIMEOUT=2s", "API_TIMEOUT=5s")
	d.env = append(d.env, postbackEnv...)
	app := d.createApp(t, "Faults")
	recv := newDeliveries(t)
	addFaultPostback(t, d, app.ID, recv)
	d.start(t)
	bearer := register(t, d.apiURL(), "faults@example.com")
	const limit = 8 * time.Second
	load := startLoad(t, d, app.ServerKey, 4, 20, 100*time.Millisecond, limit)
	defer load.stop()
	time.Sleep(2 * time.Second)
	for _, c := range faultCases() {
		start := time.Now()
		if c.fault.apply != nil {
			c.fault.apply(t, f, c.server)
		} else {
			f.stopKafka()
		}
		if c.fault.down {
			checkHealth(t, d, c.server, healthCheck[c.server])
		}
		if c.server == "postgres" && c.fault.down {
			checkAPIDown(t, d, bearer, limit)
		}
		time.Sleep(c.hold - time.Since(start))
		if c.fault.apply != nil {
			f.restore(t, c.server)
		} else {
			f.startKafka(t, nil)
		}
		if c.server == "postgres" {
			checkAPIBack(t, d, bearer)
		}
		took := recovery(t, d)
		t.Logf("%s %s for %s: lag under 2 s %s after its return", c.server, c.fault.name, c.hold, took.Round(100*time.Millisecond))
	}
	time.Sleep(time.Second)
	load.stop()
	checkStored(t, d, app.ID, load)
	checkDelivered(t, d, app.ID, recv)

	// The metrics count what the faults did: every 503 of ingestion, and the consumers'
	// retries.
	unavailable, retries := 0.0, 0.0
	for _, p := range d.ingests {
		unavailable += p.metricSum(t, `unmogrowp_http_errors_total{code="unavailable"`)
	}
	for _, p := range d.consumers {
		retries += p.metricSum(t, "unmogrowp_pipeline_retries_total{")
	}
	t.Logf("ingestion counted %v answers 503, the consumers %v retries", unavailable, retries)
	if int(unavailable) != load.codes[503] || retries == 0 {
		t.Errorf("ingestion counted %v answers 503 (the load got %d), the consumers %v retries (want some)", unavailable, load.codes[503], retries)
	}
}

// metricSum sums the series of /metrics whose line starts with prefix (a name and the
// start of its labels).
func (p *proc) metricSum(t *testing.T, prefix string) float64 {
	t.Helper()
	sum := 0.0
	for _, line := range strings.Split(p.scrape(t), "\n") {
		if strings.HasPrefix(line, prefix) {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			sum += f
		}
	}
	return sum
}
