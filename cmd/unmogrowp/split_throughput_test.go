package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/clickhouse"
	"github.com/unmogrowp/unmogrowp/internal/loadgen"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// throughputEnv is the environment variable that turns TestSplitThroughput on.
const throughputEnv = "UNMOGROWP_SPLIT_THROUGHPUT"

// TestSplitThroughput measures the split deployment's throughput per core, the figures
// docs/deploy.md sizes a deployment from: one ingestion process and one consumer on
// kfake (a topic of 8 partitions), ClickHouse, Redis and PostgreSQL, driven flat out by
// `unmogrowp-bench loadgen` (batches of 100, 32 connections, 20 s) against one app.
//
// Everything shares this machine's cores (loadgen, kfake in this test process, the
// servers, and whatever else runs), so wall throughput says little; what it reports is
// events per CPU-second of each process, from utime+stime in /proc/<pid>/stat before and
// after: accepted events per ingestion CPU-second over the loadgen run, and stored events
// per consumer CPU-second from the start of the run until the consumer has stored every
// accepted event. The CPU of ClickHouse, Redis, PostgreSQL, kfake and loadgen over the same
// windows, and the machine's, show where the cores went.
//
// It runs only with UNMOGROWP_SPLIT_THROUGHPUT=1 (and the servers of TestSplitConsumerKilled):
//
//	source .ci/services
//	UNMOGROWP_SPLIT_THROUGHPUT=1 go test -run TestSplitThroughput -count=3 -v -timeout 60m ./cmd/unmogrowp
func TestSplitThroughput(t *testing.T) {
	if os.Getenv(throughputEnv) != "1" {
		t.Skip("skipped: throughput measurement; set " + throughputEnv + "=1 to run it")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("skipped: throughput measurement reads CPU time from /proc (Linux)")
	}
	const (
		partitions  = 8
		batch       = 100
		connections = 32
		duration    = 20 * time.Second
	)
	hz := clockTicks(t)
	bench := buildBench(t)

	d := newSplit(t)
	d.env = d.seedEnv
	d.env = append(d.env, "KAFKA_PARTITIONS="+strconv.Itoa(partitions)) // the last value of a key wins
	app := d.createApp(t, "Throughput")
	ing, con := d.startIngestion(t), d.startConsumer(t)
	d.ingests, d.consumers = []*proc{ing}, []*proc{con}

	// Warm up (connections, the topic's partitions, ClickHouse's first parts), drain, and
	// watch the servers idle for a moment: their background work, or another test's.
	warm := driveLoad(t, bench, ing.ingest, app.SDKKey, batch, connections, 3*time.Second)
	waitStored(t, con, float64(warm.Events))
	idle := takeCPU(t, ing, con)
	time.Sleep(5 * time.Second)
	afterIdle := takeCPU(t, ing, con)

	// The run: loadgen flat out, the consumer's stored count sampled every second.
	redisBefore, chBefore := redisCalls(t), clickhouseEvents(t, d)
	start := takeCPU(t, ing, con)
	samples := make(chan []float64, 1)
	stop := make(chan struct{})
	go func() {
		var s []float64
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				samples <- s
				return
			case <-tick.C:
				s = append(s, metricValue(con.consumer, "unmogrowp_pipeline_events_stored_total"))
			}
		}
	}()
	res := driveLoad(t, bench, ing.ingest, app.SDKKey, batch, connections, duration)
	loaded := takeCPU(t, ing, con)
	close(stop)
	perSecond := <-samples
	waitStored(t, con, float64(warm.Events+res.Events))
	drained := takeCPU(t, ing, con)
	redisAfter, chAfter := redisCalls(t), clickhouseEvents(t, d)

	// Every accepted event is in ClickHouse once (read after the measurement).
	store, err := clickhouse.Open(context.Background(), "", d.ch)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n, err := store.CountEvents(context.Background(), unmogrowp.EventFilter{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	if want := warm.Events + res.Events; n != want {
		t.Errorf("ClickHouse holds %d events, want the %d accepted", n, want)
	}
	recSize := recordSize(t, d)
	if res.Errors > 0 {
		t.Errorf("loadgen: %d errors %v", res.Errors, res.StatusCounts)
	}

	r := &throughputRun{
		partitions: partitions, batch: batch, conns: connections, duration: duration,
		res: res, inStore: n, recordSize: recSize, perSecond: append([]float64{start.stored}, perSecond...),
		idle: afterIdle.sub(idle, hz), load: loaded.sub(start, hz), drain: drained.sub(loaded, hz), total: drained.sub(start, hz),
		redisBefore: redisBefore, redisAfter: redisAfter, chBefore: chBefore, chAfter: chAfter,
	}
	r.load.loadgen, r.total.loadgen = res.cpu.Seconds(), res.cpu.Seconds()
	r.log(t)
}

// throughputRun is what TestSplitThroughput measured.
type throughputRun struct {
	partitions, batch, conns int
	duration                 time.Duration
	res                      loadRun   // loadgen's
	inStore                  int64     // events in ClickHouse at the end, with the warm-up's
	recordSize               float64   // average bytes of a log record
	perSecond                []float64 // the consumer's stored count, every second of the load
	idle, load, drain, total cpuDelta  // the windows: idle before, loadgen's run, the drain after it, both
	redisBefore, redisAfter  map[string]commandStat
	chBefore, chAfter        map[string]int64
}

// log logs the run's table and figures, ending with one RESULT line of the per-core
// figures for collecting several runs.
func (r *throughputRun) log(t *testing.T) {
	res, load, drain, total := r.res, r.load, r.drain, r.total
	stored := total.stored
	t.Logf("one ingestion, one consumer, %d partitions, one app; loadgen --batch %d -c %d -d %s: %d events of %.0f bytes of JSON accepted (%.0f/s), latency p50 %.1f ms p99 %.1f ms; %d stored (%d in ClickHouse with the warm-up)",
		r.partitions, r.batch, r.conns, r.duration, res.Events, res.BytesPerItem, res.EventsPerSec, res.LatencyP50Ms, res.LatencyP99Ms, int64(stored), r.inStore)
	t.Logf("consumer's stored events per second during the load: %s", rates(r.perSecond))
	t.Logf("CPU seconds by window (machine: %d cores):", machineCores())
	t.Logf("  %-18s %6s %9s %9s | %9s %8s %10s %6s %8s %11s %7s %7s %8s", "window", "wall s", "accepted", "stored",
		"ingestion", "consumer", "clickhouse", "redis", "postgres", "test(kfake)", "loadgen", "other", "machine")
	for _, w := range []struct {
		name     string
		c        cpuDelta
		accepted int64
	}{{"idle 5 s (before)", r.idle, 0}, {"load (loadgen)", load, res.Events}, {"drain", drain, 0}, {"load + drain", total, res.Events}} {
		t.Logf("  %-18s %6.1f %9d %9.0f | %9.2f %8.2f %10.2f %6.2f %8.2f %11.2f %7.2f %7.2f %8.2f", w.name, w.c.wall, w.accepted, w.c.stored,
			w.c.ingestion, w.c.consumer, w.c.clickhouse, w.c.redis, w.c.postgres, w.c.self, w.c.loadgen, w.c.other(), w.c.machine)
	}
	ev := float64(res.Events)
	t.Logf("per core: ingestion %.0f accepted events per CPU-second (%.1f µs an event); consumer %.0f stored events per CPU-second (%.1f µs an event)",
		ratio(ev, load.ingestion), 1e6*ratio(load.ingestion, ev), ratio(stored, total.consumer), 1e6*ratio(total.consumer, stored))
	t.Logf("system (kernel) share of CPU: ingestion %.0f%% (load), consumer %.0f%%, redis %.0f%% (load + drain)",
		100*ratio(load.ingestionSys, load.ingestion), 100*ratio(total.consumerSys, total.consumer), 100*ratio(total.redisSys, total.redis))
	t.Logf("per event, load + drain: clickhouse %.1f µs, redis %.1f µs, postgres %.1f µs, kfake and this test %.1f µs, loadgen %.1f µs of CPU",
		1e6*ratio(total.clickhouse, stored), 1e6*ratio(total.redis, stored), 1e6*ratio(total.postgres, stored), 1e6*ratio(total.self, stored), 1e6*ratio(total.loadgen, ev))
	// What the servers did for it, to tell their CPU apart from other users' of the same
	// servers: Redis's calls and in-command time by command, ClickHouse's counters.
	var rc []string
	for cmd, a := range r.redisAfter {
		if b := r.redisBefore[cmd]; a.calls > b.calls {
			rc = append(rc, fmt.Sprintf("%s %.2f calls %.1f µs", cmd, float64(a.calls-b.calls)/stored, float64(a.usec-b.usec)/stored))
		}
	}
	slices.Sort(rc)
	t.Logf("redis per stored event (in-command time, not the event loop's I/O): %s", strings.Join(rc, "; "))
	var cc []string
	for _, name := range clickhouseCounters {
		cc = append(cc, fmt.Sprintf("%s %d", name, r.chAfter[name]-r.chBefore[name]))
	}
	t.Logf("clickhouse counters over load + drain: %s", strings.Join(cc, ", "))
	queryCPU := r.chAfter["UserTimeMicroseconds"] - r.chBefore["UserTimeMicroseconds"] + r.chAfter["SystemTimeMicroseconds"] - r.chBefore["SystemTimeMicroseconds"]
	t.Logf("clickhouse per stored event: %.2f rows inserted, %.1f µs of query threads' CPU, the rest of its %.1f µs in merges and background work",
		float64(r.chAfter["InsertedRows"]-r.chBefore["InsertedRows"])/stored, float64(queryCPU)/stored, 1e6*ratio(total.clickhouse, stored))
	t.Logf("log records: %.0f bytes on average (key and value), %.1f MB/s into Kafka at the accepted rate", r.recordSize, r.recordSize*res.EventsPerSec/1e6)
	t.Logf("wall: %.0f events/s accepted; %.0f events/s stored during the load, %.0f during the drain, %.0f over load + drain",
		res.EventsPerSec, load.stored/load.wall, drain.stored/drain.wall, stored/total.wall)
	t.Logf("RESULT ingest_events_per_cpu_s=%.0f consumer_events_per_cpu_s=%.0f accepted_per_s=%.0f stored_per_s_load=%.0f stored_per_s_drain=%.0f stored_per_s_total=%.0f clickhouse_us_per_event=%.1f clickhouse_query_us_per_event=%.1f redis_us_per_event=%.1f kfake_us_per_event=%.1f loadgen_us_per_event=%.1f record_bytes=%.0f",
		ratio(ev, load.ingestion), ratio(stored, total.consumer), res.EventsPerSec, load.stored/load.wall, drain.stored/drain.wall, stored/total.wall,
		1e6*ratio(total.clickhouse, stored), float64(queryCPU)/stored, 1e6*ratio(total.redis, stored), 1e6*ratio(total.self, stored), 1e6*ratio(total.loadgen, ev), r.recordSize)
}

// recordSize returns the average size (key and value) of the topic's first records: what
// the log's bandwidth and disk are made of, per event.
func recordSize(t *testing.T, d *split) float64 {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(d.brokers...), kgo.ConsumeTopics(d.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n, size int
	for n < 10000 && ctx.Err() == nil {
		client.PollRecords(ctx, 10000-n).EachRecord(func(r *kgo.Record) {
			n++
			size += len(r.Key) + len(r.Value)
		})
	}
	if n == 0 {
		t.Fatal("read no record from the topic")
	}
	return float64(size) / float64(n)
}

// commandStat is one Redis command's totals from INFO commandstats.
type commandStat struct{ calls, usec int64 }

// redisCalls returns the Redis test server's totals by command.
func redisCalls(t *testing.T) map[string]commandStat {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: os.Getenv(testenv.RedisEnv)})
	defer client.Close()
	info, err := client.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]commandStat{}
	for _, l := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(l), ":")
		cmd, found := strings.CutPrefix(name, "cmdstat_")
		if !ok || !found {
			continue
		}
		var c commandStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				c.calls = n
			case "usec":
				c.usec = n
			}
		}
		out[cmd] = c
	}
	return out
}

// clickhouseCounters are the ClickHouse server's counters (system.events) the run reports:
// how many queries and rows it took, and how much merging they caused.
// UserTimeMicroseconds and SystemTimeMicroseconds are the CPU time of query threads (not
// of background merges), counted on Linux with taskstats.
var clickhouseCounters = []string{"Query", "InsertQuery", "SelectQuery", "InsertedRows", "MergedRows", "MergesTimeMilliseconds",
	"UserTimeMicroseconds", "SystemTimeMicroseconds"}

// clickhouseEvents returns the ClickHouse server's counters since it started.
func clickhouseEvents(t *testing.T, d *split) map[string]int64 {
	t.Helper()
	conn, err := chgo.Open(&chgo.Options{Addr: d.ch.Addr, Auth: chgo.Auth{Username: d.ch.Username, Password: d.ch.Password}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), "SELECT event, value FROM system.events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var v uint64
		if err := rows.Scan(&name, &v); err != nil {
			t.Fatal(err)
		}
		out[name] = int64(v)
	}
	return out
}

// loadRun is a finished loadgen run: what it measured and the CPU time it used.
type loadRun struct {
	*loadgen.Result
	cpu time.Duration
}

// buildBench builds cmd/unmogrowp-bench, the load generator's binary, and returns its path.
func buildBench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "unmogrowp-bench")
	if out, err := exec.Command("go", "build", "-o", bin, "../unmogrowp-bench").CombinedOutput(); err != nil {
		t.Fatalf("build unmogrowp-bench: %v\n%s", err, out)
	}
	return bin
}

// driveLoad runs `unmogrowp-bench loadgen` (the binary bench) against url as its own
// process and returns its result.
func driveLoad(t *testing.T, bench, url, key string, batch, conns int, d time.Duration) loadRun {
	t.Helper()
	cmd := exec.Command(bench, "loadgen", "--url", url, "--key", key, "--batch", strconv.Itoa(batch),
		"-c", strconv.Itoa(conns), "-d", d.String(), "--json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("loadgen: %v\n%s", err, out)
	}
	var res loadgen.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("loadgen printed %q: %v", out, err)
	}
	return loadRun{&res, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// waitStored waits until the consumer has stored want events in all, for as long as it
// keeps storing: the backlog of a run can take minutes on a busy machine, longer than
// split.waitDrained waits.
func waitStored(t *testing.T, con *proc, want float64) {
	t.Helper()
	last, progress := 0.0, time.Now()
	for {
		n := metricValue(con.consumer, "unmogrowp_pipeline_events_stored_total")
		if n >= want {
			return
		}
		if n > last {
			last, progress = n, time.Now()
		} else if time.Since(progress) > 60*time.Second {
			t.Fatalf("the consumer stored %.0f of %.0f events and none in the last 60 s", n, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cpuSnapshot is the CPU time, in clock ticks, that the processes of a measurement had
// used at one moment, with the consumer's stored count then.
type cpuSnapshot struct {
	at                        time.Time
	ingestion, consumer, self int64
	clickhouse, redis, pg     map[int]int64 // by pid: PostgreSQL runs a process a connection
	busy                      int64         // the machine's, all cores
	stored                    float64
	// The system (kernel) part of the ingestion's, the consumer's and Redis's CPU time:
	// mostly the network calls.
	ingestionSys, consumerSys, redisSys int64
}

// takeCPU reads the CPU time of the ingestion process, the consumer, this process (kfake),
// the servers and the machine.
func takeCPU(t *testing.T, ing, con *proc) cpuSnapshot {
	t.Helper()
	c := cpuSnapshot{
		at:         time.Now(),
		ingestion:  pidTicks(ing.cmd.Process.Pid),
		consumer:   pidTicks(con.cmd.Process.Pid),
		self:       pidTicks(os.Getpid()),
		clickhouse: commTicks("clickhouse-serv"),
		redis:      redisTicks(),
		pg:         commTicks("postgres"),
		busy:       machineBusy(),
		stored:     metricValue(con.consumer, "unmogrowp_pipeline_events_stored_total"),
	}
	_, c.ingestionSys = testenv.PIDTicks(ing.cmd.Process.Pid)
	_, c.consumerSys = testenv.PIDTicks(con.cmd.Process.Pid)
	for pid := range c.redis {
		_, sys := testenv.PIDTicks(pid)
		c.redisSys += sys
	}
	return c
}

// cpuDelta is what happened between two snapshots, in seconds of wall and CPU time.
type cpuDelta struct {
	wall, stored                                  float64
	ingestion, consumer, self                     float64
	clickhouse, redis, postgres, loadgen, machine float64
	ingestionSys, consumerSys, redisSys           float64 // the system part
}

// sub returns the CPU seconds used from o to s, with hz clock ticks a second.
func (s cpuSnapshot) sub(o cpuSnapshot, hz float64) cpuDelta {
	sec := func(ticks int64) float64 { return float64(ticks) / hz }
	return cpuDelta{
		wall: s.at.Sub(o.at).Seconds(), stored: s.stored - o.stored,
		ingestion: sec(s.ingestion - o.ingestion), consumer: sec(s.consumer - o.consumer), self: sec(s.self - o.self),
		clickhouse: sec(subTicks(s.clickhouse, o.clickhouse)), redis: sec(subTicks(s.redis, o.redis)),
		postgres: sec(subTicks(s.pg, o.pg)), machine: sec(s.busy - o.busy),
		ingestionSys: sec(s.ingestionSys - o.ingestionSys), consumerSys: sec(s.consumerSys - o.consumerSys),
		redisSys: sec(s.redisSys - o.redisSys),
	}
}

// other is the machine's CPU time that none of the measured processes used: other
// sessions' work on a shared machine, the kernel's.
func (c cpuDelta) other() float64 {
	return c.machine - c.ingestion - c.consumer - c.self - c.clickhouse - c.redis - c.postgres - c.loadgen
}

// subTicks is the CPU time the processes of after used since before; a process that
// started between them counts whole, one that ended is lost.
func subTicks(after, before map[int]int64) int64 {
	var n int64
	for pid, t := range after {
		n += t - before[pid]
	}
	return n
}

// pidTicks returns the CPU time (utime+stime) process pid has used, in clock ticks, from
// /proc/pid/stat, or 0.
func pidTicks(pid int) int64 {
	user, sys := testenv.PIDTicks(pid)
	return user + sys
}

// commTicks returns the CPU time of every process whose command name starts with prefix,
// by pid.
func commTicks(prefix string) map[int]int64 {
	out := map[int]int64{}
	for _, pid := range testenv.PIDsNamed(prefix) {
		out[pid] = pidTicks(pid)
	}
	return out
}

// redisTicks returns the CPU time of the Redis server the deployment uses, by pid: the
// redis-server processes whose command line (Redis sets it to its address) ends with the
// port of UNMOGROWP_TEST_REDIS_ADDR, so that other Redis servers on the machine, other
// sessions' tests, do not count. All of them when none matches.
func redisTicks() map[int]int64 {
	all := commTicks("redis-server")
	_, port, err := net.SplitHostPort(os.Getenv(testenv.RedisEnv))
	if err != nil {
		return all
	}
	out := map[int]int64{}
	for pid, t := range all {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasSuffix(strings.TrimRight(string(cmdline), "\x00 "), ":"+port) {
			out[pid] = t
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

// machineBusy returns the machine's busy CPU time, all cores, in clock ticks: the first
// line of /proc/stat less idle and iowait.
func machineBusy() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var busy int64
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		switch i {
		case 3, 4: // idle, iowait
		case 8, 9: // guest and guest_nice are in user and nice already
		default:
			busy += n
		}
	}
	return busy
}

// machineCores returns the number of cores /proc/stat lists.
func machineCores() int {
	b, _ := os.ReadFile("/proc/stat")
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "cpu") && !strings.HasPrefix(l, "cpu ") {
			n++
		}
	}
	return n
}

// clockTicks returns the kernel's clock ticks a second (getconf CLK_TCK), 100 when it
// cannot tell.
func clockTicks(t *testing.T) float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		t.Logf("getconf CLK_TCK: %v; taking 100", err)
		return 100
	}
	hz, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || hz <= 0 {
		return 100
	}
	return hz
}

// metricValue reads one unlabelled metric from base's /metrics, or 0 when it cannot (it
// runs off the test's goroutine, where it must not fail the test).
func metricValue(base, name string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// ratio is a/b, or 0 when b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// rates formats the per-second increments of cumulative counts, in thousands.
func rates(cum []float64) string {
	var b strings.Builder
	for i := 1; i < len(cum); i++ {
		fmt.Fprintf(&b, "%.1fk ", (cum[i]-cum[i-1])/1000)
	}
	return strings.TrimSpace(b.String())
}
