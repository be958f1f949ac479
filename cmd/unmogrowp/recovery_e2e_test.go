package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// recoveryEnv is the environment variable that turns TestSplitRecovery on; recoveryRateEnv
// sets the rate it drives, in events a second.
const (
	recoveryEnv     = "UNMOGROWP_SPLIT_RECOVERY"
	recoveryRateEnv = "UNMOGROWP_RECOVERY_RATE"
)

// TestSplitRecovery measures how long the split deployment takes to catch up after each
// server it uses comes back: with a steady load through two ingestion processes (batches
// of 100 events, one an install with a click before it, at UNMOGROWP_RECOVERY_RATE events
// a second, 5,000 by default: half of one consumer's sustained rate in docs/deploy.md), it
// cuts Kafka, ClickHouse, Redis and PostgreSQL in turn for 10 s (a proxy that refuses
// connections and closes those open, as in TestSplitFaults) and logs, for each, the
// seconds from the server's return until the consumers' lag is back under 2 s, with the
// machine's load average then.
//
// The lag is the age of the oldest acknowledged event the consumer group has not
// committed, read from Kafka by the test every 200 ms: the end offset of the app's
// partition is sampled with the time it was seen, and the lag is how long ago the group's
// committed offset was first passed by the end. (The consumers' own
// unmogrowp_pipeline_lag_seconds is logged beside it; it reads 0 while a rebalance leaves
// a consumer no partition, so it is not the measure.) Afterwards every acknowledged event
// is stored once, as in TestSplitFaults.
//
// It runs only with UNMOGROWP_SPLIT_RECOVERY=1 (and the servers of TestSplitFaults):
//
//	source .ci/services
//	UNMOGROWP_SPLIT_RECOVERY=1 UNMOGROWP_RECOVERY_RATE=5000 go test -run TestSplitRecovery -count=1 -v -timeout 30m ./cmd/unmogrowp
func TestSplitRecovery(t *testing.T) {
	if os.Getenv(recoveryEnv) != "1" {
		t.Skip("skipped: recovery measurement; set " + recoveryEnv + "=1 to run it")
	}
	rate := 5000
	if v := os.Getenv(recoveryRateEnv); v != "" {
		var err error
		if rate, err = strconv.Atoi(v); err != nil || rate < 100 {
			t.Fatalf("%s=%q: want events a second, at least 100", recoveryRateEnv, v)
		}
	}
	const (
		batch   = 100
		workers = 10
		hold    = 10 * time.Second
		limit   = 20 * time.Second // KAFKA_TIMEOUT (10 s) and ingestion's 3 s, on a busy machine
	)
	interval := time.Duration(workers*batch) * time.Second / time.Duration(rate)

	f := newFaults(t)
	d := newSplitVia(t, f)
	app := d.createApp(t, "Recovery")
	d.start(t)
	lag := watchLag(t, d)
	start := time.Now()
	load := startLoad(t, d, app.ServerKey, workers, batch, interval, limit)
	defer load.stop()

	// Warm up, and check that the consumers keep up with the rate before any fault.
	time.Sleep(15 * time.Second)
	if age, ok := lag.now(); !ok || age > 2*time.Second {
		t.Fatalf("before any fault the consumers' lag is %s (known: %v) at %d events/s: this machine does not sustain the rate; set %s lower",
			age.Round(100*time.Millisecond), ok, rate, recoveryRateEnv)
	}

	type figure struct {
		server   string
		took     time.Duration
		worst    time.Duration // the lag's peak after the return
		loadavg  string
		consumer float64 // the consumers' own lag metric at the return
	}
	var figures []figure
	for _, server := range []string{"kafka", "clickhouse", "redis", "postgres"} {
		f.cut(server)
		time.Sleep(hold)
		f.restore(t, server)
		back := time.Now()
		fig := figure{server: server, loadavg: loadAverage(), consumer: consumersLag(d)}
		fig.took, fig.worst = lag.until(t, back, 2*time.Second, 3*time.Minute)
		figures = append(figures, fig)
		t.Logf("%s cut for %s: lag under 2 s %.1f s after its return (peak %.1f s; consumers' metric at the return %.1f s); load average %s",
			server, hold, fig.took.Seconds(), fig.worst.Seconds(), fig.consumer, fig.loadavg)
		time.Sleep(5 * time.Second)
	}
	load.stop()
	elapsed := time.Since(start)
	load.mu.Lock()
	acked := len(load.acked)
	load.mu.Unlock()
	t.Logf("offered %d events/s (%d workers, a batch of %d every %s each) through 2 ingestion processes; %d events acknowledged in %s (%.0f/s over the run, faults included)",
		rate, workers, batch, interval, acked, elapsed.Round(time.Second), float64(acked)/elapsed.Seconds())
	var res []string
	for _, fig := range figures {
		res = append(res, fig.server+"_s="+strconv.FormatFloat(fig.took.Seconds(), 'f', 1, 64))
	}
	t.Logf("RESULT rate=%d %s", rate, strings.Join(res, " "))
	checkStored(t, d, app.ID, load)
}

// lagWatch samples the consumer group's lag from Kafka every 200 ms until the test ends.
type lagWatch struct {
	mu      sync.Mutex
	samples []lagSample
}

// lagSample is one reading: when, the end offset of each partition, and the age of the
// oldest record not committed then (known false when Kafka did not answer).
type lagSample struct {
	at    time.Time
	age   time.Duration
	known bool
}

// watchLag starts sampling the lag of d's consumer group on d's topic.
func watchLag(t *testing.T, d *split) *lagWatch {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(d.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(client)
	w := &lagWatch{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
		client.Close()
	})
	go func() {
		defer close(done)
		type seen struct {
			at  time.Time
			end int64
		}
		firstSeen := map[int32][]seen{} // each partition's end offsets, each with when it was first seen
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now()
			s := lagSample{at: now}
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			ends, err := adm.ListEndOffsets(rctx, d.topic)
			var committed kadm.OffsetResponses
			if err == nil {
				committed, err = adm.FetchOffsets(rctx, "unmogrowp-consumer")
			}
			rcancel()
			if err == nil {
				s.known = true
				ends.Each(func(o kadm.ListedOffset) {
					h := firstSeen[o.Partition]
					if len(h) == 0 || h[len(h)-1].end < o.Offset {
						h = append(h, seen{now, o.Offset})
					}
					c := int64(0)
					if r, ok := committed.Lookup(o.Topic, o.Partition); ok {
						c = r.At
					}
					// The first sample whose end passed the committed offset: its record
					// was appended by then (within the 200 ms between samples).
					keep := len(h) - 1
					for i, e := range h {
						if e.end > c {
							s.age = max(s.age, now.Sub(e.at))
							keep = max(i-1, 0)
							break
						}
					}
					firstSeen[o.Partition] = h[keep:] // the older ones are committed
				})
			}
			w.mu.Lock()
			w.samples = append(w.samples, s)
			w.mu.Unlock()
		}
	}()
	return w
}

// now returns the newest sample's lag, and whether Kafka answered for it.
func (w *lagWatch) now() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return 0, false
	}
	s := w.samples[len(w.samples)-1]
	return s.age, s.known
}

// until waits for the first sample taken after from whose lag is under under, at most
// within, and returns how long after from it was taken, and the highest lag sampled
// after from until then.
func (w *lagWatch) until(t *testing.T, from time.Time, under, within time.Duration) (took, worst time.Duration) {
	t.Helper()
	seen := 0
	for time.Since(from) < within {
		w.mu.Lock()
		samples := w.samples[seen:]
		seen = len(w.samples)
		w.mu.Unlock()
		for _, s := range samples {
			if !s.known || s.at.Before(from) {
				continue
			}
			worst = max(worst, s.age)
			if s.age < under {
				return s.at.Sub(from), worst
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("the consumers' lag stayed over %s for %s after the server came back", under, within)
	return within, worst
}

// consumersLag returns the highest unmogrowp_pipeline_lag_seconds of d's consumers.
func consumersLag(d *split) float64 {
	worst := 0.0
	for _, c := range d.consumers {
		worst = max(worst, metricValue(c.consumer, "unmogrowp_pipeline_lag_seconds"))
	}
	return worst
}

// loadAverage returns the machine's load averages over 1, 5 and 15 minutes, from
// /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
