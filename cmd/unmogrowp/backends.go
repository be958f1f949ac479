package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/clickhouse"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/kafka"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/pebble"
	"github.com/unmogrowp/unmogrowp/pipeline"
	"github.com/unmogrowp/unmogrowp/redis"
	"github.com/unmogrowp/unmogrowp/wal"
)

// role is a part of the product that a process runs: `unmogrowp serve` runs all three.
type role int

const (
	roleIngestion role = 1 << iota // the ingestion listener, appending to the log
	roleConsumer                   // the pipeline: log to analytics store and hot state
	roleAPI                        // the API listener and the dashboard
)

func (r role) has(o role) bool { return r&o != 0 }

// metadataStore is what every role needs of the metadata store: sqlite or postgres. It
// keeps the postbacks and the outbox of their deliveries too, which the consumer role
// fills and delivers from.
type metadataStore interface {
	unmogrowp.AppStore
	unmogrowp.LinkStore
	unmogrowp.UserStore
	unmogrowp.TeamStore
	unmogrowp.AccountStore
	unmogrowp.PostbackStore
	unmogrowp.Outbox
	unmogrowp.FXRateStore
	unmogrowp.SKANConfigStore
	unmogrowp.CostStore
	api.DeliveryExporter
	unmogrowp.ConsentStore
	unmogrowp.ExportStore
	unmogrowp.IPListStore
	unmogrowp.SubjectRequestStore
	Ping(ctx context.Context) error
	Close() error
}

// analyticsStore is what the pipeline writes and the API reads: duckdb or clickhouse.
type analyticsStore interface {
	unmogrowp.EventStore
	unmogrowp.Reports
	unmogrowp.SKANStore
	unmogrowp.Exporter
	unmogrowp.SubjectStore
}

// backends are the implementations of the four seams (ARCHITECTURE.md) that a process's
// roles need, each chosen by the scheme of its URL (storeurl.go).
type backends struct {
	meta   metadataStore
	log    unmogrowp.Log       // ingestion and the API's track routes append here
	reader unmogrowp.LogReader // the pipeline reads here
	wal    *wal.WAL            // the embedded log, when it is the log: its status is exported
	dedup  unmogrowp.Deduplicator
	store  analyticsStore
	hot    unmogrowp.HotState
	limit  ingest.RateLimiter                     // the apps' rate limits across processes; nil: each process's own
	sigs   ingest.Signatures                      // signed requests seen, across processes; nil: each process's own
	health map[string]func(context.Context) error // what /health asks, by name
	closes []func() error                         // Close calls them, the last first
}

// touchpointRetention is how long the hot state keeps a touchpoint, from its touch time:
// the longest click lookback an app may set (30 days) and a day to spare.
const touchpointRetention = 31 * 24 * time.Hour

// openTimeout bounds the connection to each distributed backend at start.
const openTimeout = 30 * time.Second

// openBackends opens what roles need. A process of one role alone (the split deployment)
// must share every seam it uses with other processes, so it requires their distributed
// implementations; `serve` runs on any mix.
func openBackends(cfg *Config, roles role, logger *slog.Logger) (b *backends, err error) {
	split := roles != roleIngestion|roleConsumer|roleAPI
	if split {
		if err := requireDistributed(cfg, roles); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	b = &backends{health: map[string]func(context.Context) error{}}
	opened := b // b is nil once an error is returned
	defer func() {
		if err != nil {
			opened.Close()
		}
	}()
	log := func(component string) *slog.Logger { return logger.With("component", component) }

	logger.Info("stores", storeAttrs(cfg, roles)...)

	if b.meta, err = openMetadata(ctx, cfg.DatabaseURL, cfg.DatabaseTimeout, logger); err != nil {
		return nil, err
	}
	b.closes = append(b.closes, b.meta.Close)
	b.health["metadata"] = b.meta.Ping

	switch schemeOf(cfg.LogURL) {
	case "kafka":
		topic, err := kafka.Open(ctx, cfg.LogURL, kafka.Options{
			SessionTimeout: cfg.KafkaSession, HeartbeatInterval: cfg.KafkaSession / 10, Timeout: cfg.KafkaTimeout, Logger: log("kafka"),
		})
		if err != nil {
			return nil, fmt.Errorf("open the log (LOG_URL %s): %w", redactURL(cfg.LogURL), err)
		}
		if roles.has(roleIngestion | roleAPI) {
			l, err := topic.Log()
			if err != nil {
				return nil, fmt.Errorf("open Kafka log: %w", err)
			}
			b.log = l
			b.closes = append(b.closes, l.Close)
			b.health["log"] = l.Ping
		}
		if roles.has(roleConsumer) {
			r, err := topic.Reader()
			if err != nil {
				return nil, fmt.Errorf("join Kafka consumer group: %w", err)
			}
			b.reader = r
			b.closes = append(b.closes, r.Close)
			b.health["log"] = r.Ping
		}
	case "wal":
		w, err := wal.Open(ctx, cfg.LogURL, wal.Options{
			SegmentSize: cfg.WALSegmentBytes, Retention: cfg.WALRetention, Logger: log("wal"),
		})
		if err != nil {
			return nil, fmt.Errorf("open write-ahead log: %w", err)
		}
		b.log, b.reader, b.wal = w, w, w
		b.closes = append(b.closes, w.Close)
		b.health["log"] = w.Health
	default:
		return nil, fmt.Errorf("LOG_URL %s: want wal: or kafka://", redactURL(cfg.LogURL))
	}

	if roles.has(roleConsumer | roleAPI) {
		switch schemeOf(cfg.AnalyticsURL) {
		case "clickhouse":
			s, err := clickhouse.Open(ctx, cfg.AnalyticsURL, clickhouse.Options{Logger: log("clickhouse")})
			if err != nil {
				return nil, fmt.Errorf("open analytics store (ANALYTICS_URL %s): %w", redactURL(cfg.AnalyticsURL), err)
			}
			b.store = s
		case "duckdb":
			s, err := duckdb.Open(ctx, cfg.AnalyticsURL, duckdb.Options{Logger: log("duckdb"), MemoryLimit: cfg.DuckDBMemory})
			if err != nil {
				return nil, fmt.Errorf("open analytics store: %w", err)
			}
			b.store = s
		default:
			return nil, fmt.Errorf("ANALYTICS_URL %s: want duckdb: or clickhouse://", redactURL(cfg.AnalyticsURL))
		}
		b.closes = append(b.closes, b.store.Close)
		b.health["store"] = b.store.Ping
	}

	if roles.has(roleIngestion | roleConsumer) {
		switch schemeOf(cfg.HotStateURL) {
		case "redis", "rediss":
			if err := b.openRedis(ctx, cfg.HotStateURL, roles, log("redis")); err != nil {
				return nil, err
			}
		case "memory":
			hot, err := inmem.Open(ctx, cfg.HotStateURL, inmem.Options{Retention: touchpointRetention, Logger: log("hotstate")})
			if err != nil {
				return nil, err
			}
			b.hot = hot
			b.closes = append(b.closes, hot.Close)
			if b.store != nil {
				start := time.Now()
				tps, devices, err := pipeline.RestoreHotState(context.Background(), b.store, hot, start.Add(-touchpointRetention))
				if err != nil {
					return nil, fmt.Errorf("restore hot state from the analytics store: %w", err)
				}
				logger.Info("hot state restored", "touchpoints", tps, "devices", devices, "took", time.Since(start).Round(time.Millisecond))
			}
			if roles.has(roleConsumer) {
				d, err := pebble.Open(filepath.Join(cfg.DataDir, "dedup"), pebble.Options{Logger: log("dedup")})
				if err != nil {
					return nil, fmt.Errorf("open dedup state: %w", err)
				}
				b.dedup = d
				b.closes = append(b.closes, d.Close)
			}
		default:
			return nil, fmt.Errorf("HOTSTATE_URL %s: want memory: or redis://", redactURL(cfg.HotStateURL))
		}
	}
	return b, nil
}

// storeAttrs are the URLs of the stores the roles use, without their secrets, for the
// start-up log.
func storeAttrs(cfg *Config, roles role) []any {
	attrs := []any{"metadata", redactURL(cfg.DatabaseURL), "log", redactURL(cfg.LogURL)}
	if roles.has(roleConsumer | roleAPI) {
		attrs = append(attrs, "analytics", redactURL(cfg.AnalyticsURL))
	}
	if roles.has(roleIngestion | roleConsumer) {
		attrs = append(attrs, "hotstate", redactURL(cfg.HotStateURL))
	}
	return attrs
}

// openMetadata opens the metadata store that databaseURL names: PostgreSQL
// (postgres://) or SQLite (sqlite:), creating the SQLite file's directory first, so that
// a command-line tool can create an app before the server ever ran. ioTimeout bounds each
// read and write of a PostgreSQL connection (0: metadata.DefaultIOTimeout); logger may be
// nil.
func openMetadata(ctx context.Context, databaseURL string, ioTimeout time.Duration, logger *slog.Logger) (metadataStore, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	switch schemeOf(databaseURL) {
	case "postgres", "postgresql":
		logger = logger.With("component", "postgres")
	case "sqlite":
		// The SQLite URL of the settings (sqlite:relative or sqlite:///absolute) as the
		// metadata package takes it, with its directory created.
		path, err := unmogrowp.FilePath("sqlite", databaseURL)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		databaseURL, logger = metadata.SQLiteURL(path), logger.With("component", "sqlite")
	default:
		return nil, fmt.Errorf("DATABASE_URL %s: want sqlite: or postgres://", redactURL(databaseURL))
	}
	db, err := metadata.Open(ctx, databaseURL, metadata.Options{Logger: logger, IOTimeout: ioTimeout})
	if err != nil {
		return nil, fmt.Errorf("open metadata store (DATABASE_URL %s): %w", redactURL(databaseURL), err)
	}
	return db, nil
}

// requireDistributed checks that a process of the split deployment has the distributed
// backend of every seam its roles share with other processes.
func requireDistributed(cfg *Config, roles role) error {
	type need struct {
		ok           bool
		env, purpose string
	}
	is := func(u string, schemes ...string) bool { return slices.Contains(schemes, schemeOf(u)) }
	needs := []need{
		{is(cfg.DatabaseURL, "postgres", "postgresql"), "DATABASE_URL=postgres://…", "the metadata store"},
		{is(cfg.LogURL, "kafka"), "LOG_URL=kafka://… (or KAFKA_BROKERS)", "the log"},
	}
	if roles.has(roleConsumer | roleAPI) {
		needs = append(needs, need{is(cfg.AnalyticsURL, "clickhouse"), "ANALYTICS_URL=clickhouse://… (or CLICKHOUSE_HOST)", "the analytics store"})
	}
	if roles.has(roleIngestion | roleConsumer) {
		needs = append(needs, need{is(cfg.HotStateURL, "redis", "rediss"), "HOTSTATE_URL=redis://… (or REDIS_HOST)", "the hot state"})
	}
	var missing []string
	for _, n := range needs {
		if !n.ok {
			missing = append(missing, n.env+" for "+n.purpose)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the split services share their state through servers: set %s (or run everything in one process with `unmogrowp serve`)", strings.Join(missing, ", "))
	}
	return nil
}

// hostPort joins a host and a port.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// Close closes every backend that was opened, the last opened first, and joins their
// errors.
func (b *backends) Close() error {
	var errs []error
	for i := len(b.closes) - 1; i >= 0; i-- {
		errs = append(errs, b.closes[i]())
	}
	b.closes = nil
	return errors.Join(errs...)
}

// openRedis opens on the Redis server of rawURL the hot state, the rate limiter of the
// roles that take events, the signature cache of the ingestion role, and the dedup ids of
// the consumer role, each with its own client.
func (b *backends) openRedis(ctx context.Context, rawURL string, roles role, logger *slog.Logger) error {
	opts := redis.Options{Retention: touchpointRetention, Logger: logger}
	where := redactURL(rawURL)
	hot, err := redis.Open(ctx, rawURL, opts)
	if err != nil {
		return fmt.Errorf("open hot state (HOTSTATE_URL %s): %w", where, err)
	}
	b.hot = hot
	b.closes = append(b.closes, hot.Close)
	b.health["hotstate"] = hot.Ping
	if roles.has(roleIngestion | roleAPI) {
		l, err := redis.OpenRateLimiter(ctx, rawURL, opts)
		if err != nil {
			return fmt.Errorf("open rate limiter (HOTSTATE_URL %s): %w", where, err)
		}
		b.limit = l
		b.closes = append(b.closes, l.Close)
	}
	if roles.has(roleIngestion) {
		sigs, err := redis.OpenSignatures(ctx, rawURL, opts)
		if err != nil {
			return fmt.Errorf("open signature cache (HOTSTATE_URL %s): %w", where, err)
		}
		b.sigs = sigs
		b.closes = append(b.closes, sigs.Close)
	}
	if roles.has(roleConsumer) {
		d, err := redis.OpenDedup(ctx, rawURL, opts)
		if err != nil {
			return fmt.Errorf("open dedup state (HOTSTATE_URL %s): %w", where, err)
		}
		b.dedup = d
		b.closes = append(b.closes, d.Close)
	}
	return nil
}
