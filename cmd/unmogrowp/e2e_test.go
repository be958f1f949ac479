package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// binPath is the unmogrowp binary built once for the end-to-end tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "unmogrowp-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "unmogrowp")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build unmogrowp: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testenv.Run(m) // reports the tests skipped for want of a server or a browser
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running unmogrowp process: `serve`, or a service of the split deployment.
type proc struct {
	cmd        *exec.Cmd
	ingest     string // base URL of the ingestion listener, if it has one
	api        string // of the API listener
	consumer   string // of the consumer's /health and /metrics
	stderr     *bytes.Buffer
	stderrLock *sync.Mutex
}

// runningLine is the line a process logs once its listeners are open, with their addresses.
var runningLine = regexp.MustCompile(`"msg":"unmogrowp running"`)

// startServe runs `unmogrowp serve` on dataDir with loopback :0 listeners and waits until it
// reports its addresses.
func startServe(t *testing.T, dataDir string, env ...string) *proc {
	t.Helper()
	return startProc(t, []string{"serve", "--data-dir", dataDir, "--ingest-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0"}, env)
}

// startProc runs the binary with args (a command and its flags) and env, logging JSON, and
// waits until it reports its addresses. It is killed when the test ends.
func startProc(t *testing.T, args, env []string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, append(args, "--log-format", "json")...)
	cmd.Env = append(os.Environ(), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &bytes.Buffer{}, stderrLock: &sync.Mutex{}}
	found := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.stderrLock.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.stderrLock.Unlock()
			if runningLine.Match(sc.Bytes()) {
				var line map[string]any
				json.Unmarshal(sc.Bytes(), &line)
				found <- line
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", args[0], p.log())
		}
	})
	select {
	case line := <-found:
		for name, u := range map[string]*string{"ingest": &p.ingest, "api": &p.api, "consumer": &p.consumer} {
			if addr, ok := line[name].(string); ok {
				*u = "http://" + addr
			}
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start:\n%s", args[0], p.log())
	}
	return p
}

func (p *proc) log() string {
	p.stderrLock.Lock()
	defer p.stderrLock.Unlock()
	return p.stderr.String()
}

// kill9 kills the process with SIGKILL: no flush, no shutdown.
func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// stop asks for a graceful shutdown and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful shutdown: %v\n%s", err, p.log())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("graceful shutdown took over 60 s")
	}
}

// metric reads one unlabelled metric's value from /metrics.
func (p *proc) metric(t *testing.T, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(p.scrape(t), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	t.Fatalf("metric %s not exported", name)
	return 0
}

// scrape reads /metrics of the process's ingestion listener, or of its consumer.
func (p *proc) scrape(t *testing.T) string {
	t.Helper()
	base := p.ingest
	if base == "" {
		base = p.consumer
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// waitDrained waits until the pipeline has processed everything in the log: all of it is
// visible (unmogrowp_pipeline_unseen_records), though what it staged is durable in the
// DuckDB file only at its next commit, and a restart before that processes it again.
func (p *proc) waitDrained(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if p.metric(t, "unmogrowp_pipeline_unseen_records") == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("pipeline did not drain in 90 s")
}

type appKeys struct {
	ID        string `json:"id"`
	SDKKey    string `json:"sdk_key"`
	ServerKey string `json:"server_key"`
}

func createApp(t *testing.T, dataDir, name string) appKeys {
	t.Helper()
	out, err := exec.Command(binPath, "apps", "create", "--owner", testOwner(t, dataDir, ""), "--name", name, "--data-dir", dataDir, "--json").Output()
	if err != nil {
		t.Fatalf("apps create: %v", err)
	}
	var k appKeys
	if err := json.Unmarshal(out, &k); err != nil || k.SDKKey == "" {
		t.Fatalf("apps create printed %q", out)
	}
	return k
}

func post(url, key string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-App-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestServeHealthAndEvent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := createApp(t, dir, "Smoke")
	p := startServe(t, dir)
	for _, u := range []string{p.ingest + "/health", p.api + "/health"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) {
			t.Fatalf("%s: %d %s", u, resp.StatusCode, body)
		}
	}
	code, body, err := post(p.ingest+"/v1/events", k.SDKKey, []byte(`{"event_type":"install","device_id":"d1","event_id":"first"}`))
	if err != nil || code != 200 || !strings.Contains(string(body), `"event_id":"first"`) {
		t.Fatalf("event: %d %s %v", code, body, err)
	}
	// The counter counts an event once it is durable in the store, within 5 s of visible.
	waitFor(t, "the event counted as stored", func() bool { return p.metric(t, "unmogrowp_pipeline_events_stored_total") == 1 })
	p.stop(t)
	if n := countStored(t, dir, ""); n != 1 {
		t.Fatalf("DuckDB holds %d events after shutdown, want 1", n)
	}
}

func TestInvalidConfigurationNamesTheSetting(t *testing.T) {
	out, err := exec.Command(binPath, "serve", "--data-dir", t.TempDir(), "--ingest-addr", "nonsense").CombinedOutput()
	if err == nil {
		t.Fatal("serve started with an invalid address")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "INGEST_ADDR") || !strings.Contains(lines[0], "--ingest-addr") {
		t.Fatalf("want one line naming INGEST_ADDR, got:\n%s", out)
	}
}

// TestCrashLosesNothingAcknowledged is the kill -9 test: several senders send numbered
// batches; the server is killed with SIGKILL mid-stream, twice; after each restart the
// senders resend everything they ever sent. In the end every acknowledged event is stored
// exactly once, and every event sent at all is stored exactly once (resends are deduped).
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test: runs without -short")
	}
	dir := t.TempDir()
	k := createApp(t, dir, "Crash")
	const senders, perBatch = 4, 50

	var mu sync.Mutex
	acked := map[string]bool{} // event ids acknowledged with a 200
	var sent [][]byte          // every batch body ever sent
	body := func(s, b int) []byte {
		var sb strings.Builder
		sb.WriteString(`{"events":[`)
		for i := range perBatch {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"event_type":"session","device_id":"dev-%d","event_id":"s%d-b%d-e%d","event_data":{"n":%d}}`, s, s, b, i, i)
		}
		sb.WriteString(`]}`)
		return []byte(sb.String())
	}
	ack := func(b []byte) {
		var req struct {
			Events []struct {
				EventID string `json:"event_id"`
			} `json:"events"`
		}
		json.Unmarshal(b, &req)
		mu.Lock()
		for _, e := range req.Events {
			acked[e.EventID] = true
		}
		mu.Unlock()
	}
	// stream sends new batches until ctx ends, then reports how many it got acknowledged.
	stream := func(ctx context.Context, p *proc, round int) int {
		var wg sync.WaitGroup
		var n int
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := 0; ctx.Err() == nil; b++ {
					bb := body(s, round*100000+b)
					mu.Lock()
					sent = append(sent, bb)
					mu.Unlock()
					code, _, err := post(p.ingest+"/v1/events/batch", k.SDKKey, bb)
					if err == nil && code == 200 {
						ack(bb)
						mu.Lock()
						n++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		return n
	}
	resendAll := func(p *proc) {
		mu.Lock()
		all := append([][]byte(nil), sent...)
		mu.Unlock()
		for _, b := range all {
			code, resp, err := post(p.ingest+"/v1/events/batch", k.SDKKey, b)
			if err != nil || code != 200 {
				t.Fatalf("resend: %d %s %v", code, resp, err)
			}
			ack(b)
		}
	}

	for round := range 2 {
		p := startServe(t, dir)
		if round > 0 {
			resendAll(p)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() { done <- stream(ctx, p, round) }()
		time.Sleep(1500 * time.Millisecond)
		p.kill9(t) // mid-stream: requests are in flight
		cancel()
		n := <-done
		t.Logf("round %d: %d batches acknowledged before kill -9", round, n)
		if n == 0 {
			t.Fatalf("round %d: nothing was acknowledged before the kill", round)
		}
	}

	p := startServe(t, dir)
	resendAll(p)
	p.waitDrained(t)
	p.stop(t)

	mu.Lock()
	defer mu.Unlock()
	total := len(sent) * perBatch
	stored := storedIDs(t, dir)
	dups := 0
	for _, c := range stored {
		if c > 1 {
			dups++
		}
	}
	missing := 0
	for id := range acked {
		if stored[id] != 1 {
			missing++
		}
	}
	t.Logf("sent %d distinct events in %d batches, %d acknowledged; stored %d distinct, %d duplicated, %d acknowledged missing",
		total, len(sent), len(acked), len(stored), dups, missing)
	if missing > 0 || dups > 0 || len(stored) != total {
		t.Fatalf("exactly-once violated: %d acknowledged events missing, %d stored more than once, %d stored of %d sent", missing, dups, len(stored), total)
	}
}
