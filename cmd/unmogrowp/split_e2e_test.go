package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/clickhouse"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// split is the split deployment on loopback: two `ingestion`, two `consumer` and one `api`
// process, on Kafka (kfake, started in this test process), PostgreSQL, Redis and
// ClickHouse (the test servers of package testenv), each test on its own database, topic
// and key prefix.
type split struct {
	env       []string // the deployment's configuration, as environment variables: the stores' URLs
	seedEnv   []string // the same configuration in the seed's variables (KAFKA_BROKERS, ...)
	brokers   []string // Kafka's
	topic     string
	pgURL     string
	ch        clickhouse.Options
	ingests   []*proc
	consumers []*proc
	api       *proc
	next      atomic.Int64 // the ingestion process the next request goes to
}

// newSplit makes the servers' databases and the Kafka cluster of one deployment, dropped
// when the test ends; start starts its processes.
func newSplit(t *testing.T) *split { return newSplitVia(t, nil) }

// newSplitVia is newSplit with the processes reaching each server through a proxy of
// via (fault_e2e_test.go), when via is not nil: the deployment's configuration names the
// proxies, and Kafka's broker advertises its proxy. The test's own clients (d.ch, d.pgURL)
// reach the servers directly.
func newSplitVia(t *testing.T, via *faults) *split {
	t.Helper()
	pgServer := testenv.Server(t, testenv.PostgresEnv, "apt-get install postgresql")
	redisAddr := testenv.Server(t, testenv.RedisEnv, "apt-get install redis-server")
	chURL := testenv.Server(t, testenv.ClickHouseEnv, "apt-get install clickhouse-server")
	name := "unmogrowp_e2e_" + randomHex(t)
	d := &split{}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgServer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), pgServer)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	cfg, err := pgx.ParseConfig(pgServer)
	if err != nil {
		t.Fatal(err)
	}
	d.pgURL = fmt.Sprintf("postgres://%s:%s@%s/%s", cfg.User, cfg.Password, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), name)

	if d.ch, err = clickhouse.ParseURL(chURL); err != nil {
		t.Fatal(err)
	}
	d.ch.Database = name
	t.Cleanup(func() {
		conn, err := chgo.Open(&chgo.Options{Addr: d.ch.Addr, Auth: chgo.Auth{Username: d.ch.Username, Password: d.ch.Password}})
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Error(err)
		}
	})

	kafkaCluster := via.kafka(t)
	d.brokers, d.topic = kafkaCluster.ListenAddrs(), name
	pgURL, chAddr, redisServer := d.pgURL, d.ch.Addr[0], redisAddr
	if via != nil {
		pgURL = strings.Replace(pgURL, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), via.proxy(t, "postgres", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))), 1)
		chAddr = via.proxy(t, "clickhouse", chAddr)
		redisAddr = via.proxy(t, "redis", redisAddr)
	}
	analyticsURL := url.URL{Scheme: "clickhouse", User: url.UserPassword(d.ch.Username, d.ch.Password), Host: chAddr, Path: "/" + name}
	d.env = []string{
		"DATABASE_URL=" + pgURL,
		"LOG_URL=kafka://" + strings.Join(kafkaCluster.ListenAddrs(), ",") + "/" + name + "?partitions=4",
		"KAFKA_SESSION_TIMEOUT=6s",
		"ANALYTICS_URL=" + analyticsURL.String(),
		"HOTSTATE_URL=redis://" + redisAddr + "/0?prefix=" + url.QueryEscape(name+":"),
	}
	chHost, chPort, _ := net.SplitHostPort(chAddr)
	redisHost, redisPort, _ := net.SplitHostPort(redisAddr)
	d.seedEnv = []string{
		"DATABASE_URL=" + pgURL,
		"KAFKA_BROKERS=" + strings.Join(kafkaCluster.ListenAddrs(), ","), "KAFKA_TOPIC=" + name, "KAFKA_PARTITIONS=4",
		"KAFKA_SESSION_TIMEOUT=6s",
		"CLICKHOUSE_HOST=" + chHost, "CLICKHOUSE_PORT=" + chPort, "CLICKHOUSE_DATABASE=" + name,
		"CLICKHOUSE_USERNAME=" + d.ch.Username, "CLICKHOUSE_PASSWORD=" + d.ch.Password,
		"REDIS_HOST=" + redisHost, "REDIS_PORT=" + redisPort, "REDIS_PREFIX=" + name + ":",
	}
	t.Cleanup(func() { deleteRedisKeys(t, redisServer, name+":") })
	return d
}

func randomHex(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// start starts two ingestion processes, two consumers and the API, whose links point at
// the first ingestion process. The scenarios start while the consumer group is still
// settling: the first consumer can decide and apply batches that it then cannot commit,
// and the second reads them again, which must change no decision.
func (d *split) start(t *testing.T) {
	t.Helper()
	for range 2 {
		d.ingests = append(d.ingests, d.startIngestion(t))
	}
	for range 2 {
		d.consumers = append(d.consumers, d.startConsumer(t))
	}
	d.api = startProc(t, []string{"api", "--api-addr", "127.0.0.1:0"}, append(d.env, "PUBLIC_URL="+d.ingests[0].ingest))
}

func (d *split) startIngestion(t *testing.T) *proc {
	return startProc(t, []string{"ingestion", "--ingest-addr", "127.0.0.1:0"}, d.env)
}

func (d *split) startConsumer(t *testing.T) *proc {
	return startProc(t, []string{"consumer", "--consumer-addr", "127.0.0.1:0"}, d.env)
}

func (d *split) ingestURL() string { return d.ingests[d.next.Add(1)%int64(len(d.ingests))].ingest }
func (d *split) apiURL() string    { return d.api.api }

func (d *split) createApp(t *testing.T, name string) appKeys {
	t.Helper()
	out, err := runCommand("apps", "create", "--owner", testOwner(t, "", d.pgURL), "--name", name, "--database-url", d.pgURL, "--json")
	if err != nil {
		t.Fatalf("apps create: %v\n%s", err, out)
	}
	var k appKeys
	if err := json.Unmarshal(out, &k); err != nil || k.SDKKey == "" {
		t.Fatalf("apps create printed %q", out)
	}
	return k
}

// waitDrained waits until the consumer group has committed the end of every partition of
// the topic: consumers commit only what ClickHouse and Redis have, so then everything
// acknowledged so far is processed. (A consumer's own lag metric cannot tell: during a
// rebalance it owns no partitions and reports none.)
func (d *split) waitDrained(t *testing.T) {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(d.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	adm := kadm.NewClient(client)
	ctx := context.Background()
	deadline := time.Now().Add(120 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ends, err := adm.ListEndOffsets(ctx, d.topic)
		if err != nil {
			continue
		}
		committed, err := adm.FetchOffsets(ctx, "unmogrowp-consumer")
		if err != nil {
			continue
		}
		behind := int64(0)
		ends.Each(func(o kadm.ListedOffset) {
			c, ok := committed.Lookup(o.Topic, o.Partition)
			switch {
			case !ok:
				behind += o.Offset
			case c.At < o.Offset:
				behind += o.Offset - c.At
			}
		})
		if behind == 0 {
			return
		}
	}
	t.Fatal("the consumers did not drain in 120 s")
}

// restart kills one consumer and one ingestion process with SIGKILL and starts them again:
// the other consumer takes the partitions over meanwhile.
func (d *split) restart(t *testing.T) {
	t.Helper()
	d.consumers[0].kill9(t)
	d.ingests[1].kill9(t)
	d.consumers[0] = d.startConsumer(t)
	d.ingests[1] = d.startIngestion(t)
}

// events reads the events from ClickHouse.
func (d *split) events(t *testing.T, f unmogrowp.EventFilter) []unmogrowp.Event {
	t.Helper()
	store, err := clickhouse.Open(context.Background(), "", d.ch)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	events, err := store.Events(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// TestSplitAttributionScenarios runs the attribution scenarios of the embedded mode on the
// split deployment, requests spread over both ingestion processes, and expects the same
// answers; the restart variant kills a consumer and an ingestion process mid-scenario.
func TestSplitAttributionScenarios(t *testing.T) {
	t.Parallel()
	for _, restart := range []bool{false, true} {
		name := "straight"
		if restart {
			name = "restart"
		}
		t.Run(name, func(t *testing.T) {
			d := newSplit(t)
			if restart { // one run on each spelling of the stores' configuration
				d.env = d.seedEnv
			}
			runScenarios(t, d, d.start, restart)
		})
	}
}

// TestSplitConsumerKilled streams events into both ingestion processes while one consumer
// is killed with SIGKILL mid-batch: the other takes its partitions over, the restarted one
// rejoins, and every acknowledged event is stored exactly once.
func TestSplitConsumerKilled(t *testing.T) {
	d := newSplit(t)
	app := d.createApp(t, "Stream")
	d.start(t)

	var (
		acked atomic.Int64
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				var events []map[string]any
				for j := range 50 {
					events = append(events, map[string]any{"event_type": "session", "event_id": fmt.Sprintf("w%d-%d-%d", w, i, j),
						"device_id": fmt.Sprintf("dev%d", j)})
				}
				body, _ := json.Marshal(map[string]any{"events": events})
				code, _, err := post(d.ingestURL()+"/v1/events/batch", app.SDKKey, body)
				if err == nil && code == 200 {
					acked.Add(int64(len(events)))
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	d.consumers[0].kill9(t) // mid-batch: it is consuming a steady stream
	time.Sleep(1500 * time.Millisecond)
	d.consumers[0] = d.startConsumer(t)
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	d.waitDrained(t)

	store, err := clickhouse.Open(context.Background(), "", d.ch)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n, err := store.CountEvents(context.Background(), unmogrowp.EventFilter{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events acknowledged, %d stored", acked.Load(), n)
	if acked.Load() == 0 || n != acked.Load() {
		t.Fatalf("stored %d events, want the %d acknowledged, each once", n, acked.Load())
	}
}

// runCommand runs the binary with args and returns what it printed to stdout, or its
// error with what it printed to stderr.
func runCommand(args ...string) ([]byte, error) {
	cmd := exec.Command(binPath, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return stderr.Bytes(), err
	}
	return out, nil
}

// deleteRedisKeys deletes the keys under prefix, and nothing else.
func deleteRedisKeys(t *testing.T, addr, prefix string) {
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	defer client.Close()
	ctx := context.Background()
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Error(err)
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		if err := client.Unlink(ctx, keys[:n]...).Err(); err != nil {
			t.Error(err)
		}
		keys = keys[n:]
	}
}
