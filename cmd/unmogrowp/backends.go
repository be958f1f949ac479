package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/clickhouse"
	"github.com/unmogrowp/unmogrowp/dedup"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/kafka"
	"github.com/unmogrowp/unmogrowp/metadata"
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

// metadataStore is what every role needs of the metadata store: sqlite or postgres.
type metadataStore interface {
	unmogrowp.AppStore
	unmogrowp.LinkStore
	unmogrowp.UserStore
	Ping(ctx context.Context) error
	Close() error
}

// analyticsStore is what the pipeline writes and the API reads: duckdb or clickhouse.
type analyticsStore interface {
	unmogrowp.EventStore
	unmogrowp.Reports
}

// backends are the implementations of the four seams (ARCHITECTURE.md) that a process's
// roles need, each chosen by the configuration: the distributed one when its settings are
// there, else the embedded one under the data directory.
type backends struct {
	meta   metadataStore
	log    unmogrowp.Log       // ingestion and the API's track routes append here
	reader unmogrowp.LogReader // the pipeline reads here
	dedup  unmogrowp.Deduplicator
	store  analyticsStore
	hot    unmogrowp.HotState
	limit  ingest.RateLimiter                     // the apps' rate limits across processes; nil: each process's own
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
	} else if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	b = &backends{health: map[string]func(context.Context) error{}}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	log := func(component string) *slog.Logger { return logger.With("component", component) }

	if b.meta, err = openMetadata(ctx, cfg.DataDir, cfg.DatabaseURL, logger); err != nil {
		return nil, err
	}
	b.closes = append(b.closes, b.meta.Close)
	b.health["metadata"] = b.meta.Ping

	if len(cfg.KafkaBrokers) > 0 {
		opts := kafka.Options{
			Brokers: cfg.KafkaBrokers, Topic: cfg.KafkaTopic, Group: cfg.KafkaGroup, SessionTimeout: cfg.KafkaSession,
			HeartbeatInterval: cfg.KafkaSession / 10, Logger: log("kafka"),
		}
		if err := kafka.EnsureTopic(ctx, cfg.KafkaBrokers, cfg.KafkaTopic, int32(cfg.KafkaPartitions), -1); err != nil {
			return nil, fmt.Errorf("create Kafka topic %s (KAFKA_BROKERS): %w", cfg.KafkaTopic, err)
		}
		if roles.has(roleIngestion | roleAPI) {
			l, err := kafka.OpenLog(opts)
			if err != nil {
				return nil, fmt.Errorf("open Kafka log: %w", err)
			}
			b.log = l
			b.closes = append(b.closes, l.Close)
		}
		if roles.has(roleConsumer) {
			r, err := kafka.OpenReader(opts)
			if err != nil {
				return nil, fmt.Errorf("join Kafka consumer group %s: %w", cfg.KafkaGroup, err)
			}
			b.reader = r
			b.closes = append(b.closes, r.Close)
		}
	} else {
		w, err := wal.Open(filepath.Join(cfg.DataDir, "wal"), wal.Options{
			SegmentSize: cfg.WALSegmentBytes, Retention: cfg.WALRetention, Logger: log("wal"),
		})
		if err != nil {
			return nil, fmt.Errorf("open write-ahead log: %w", err)
		}
		b.log, b.reader = w, w
		b.closes = append(b.closes, w.Close)
	}

	if roles.has(roleConsumer | roleAPI) {
		if cfg.ClickHouseHost != "" {
			s, err := openClickHouse(ctx, cfg, log("clickhouse"))
			if err != nil {
				return nil, err
			}
			b.store = s
		} else {
			s, err := duckdb.Open(filepath.Join(cfg.DataDir, "analytics.duckdb"), duckdb.Options{
				Logger: log("duckdb"), MemoryLimit: cfg.DuckDBMemory,
			})
			if err != nil {
				return nil, fmt.Errorf("open analytics store: %w", err)
			}
			b.store = s
		}
		b.closes = append(b.closes, b.store.Close)
		b.health["store"] = b.store.Ping
	}

	if roles.has(roleIngestion | roleConsumer) {
		if cfg.RedisHost != "" {
			if err := b.openRedis(ctx, cfg, roles, log("redis")); err != nil {
				return nil, err
			}
		} else {
			hot := inmem.New(inmem.Options{Retention: touchpointRetention, Logger: log("hotstate")})
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
				d, err := dedup.Open(filepath.Join(cfg.DataDir, "dedup"), dedup.Options{Logger: log("dedup")})
				if err != nil {
					return nil, fmt.Errorf("open dedup state: %w", err)
				}
				b.dedup = d
				b.closes = append(b.closes, d.Close)
			}
		}
	}
	return b, nil
}

// openMetadata opens the metadata store: PostgreSQL at databaseURL if it is set, else
// SQLite in dataDir, creating the directory first, so that a command-line tool can create
// an app before the server ever ran. logger may be nil.
func openMetadata(ctx context.Context, dataDir, databaseURL string, logger *slog.Logger) (metadataStore, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if databaseURL != "" {
		db, err := metadata.Open(ctx, databaseURL, metadata.Options{Logger: logger.With("component", "postgres")})
		if err != nil {
			return nil, fmt.Errorf("open metadata store (DATABASE_URL): %w", err)
		}
		return db, nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := metadata.Open(ctx, metadata.SQLiteURL(filepath.Join(dataDir, "metadata.db")), metadata.Options{Logger: logger.With("component", "sqlite")})
	if err != nil {
		return nil, fmt.Errorf("open metadata store: %w", err)
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
	needs := []need{
		{cfg.DatabaseURL != "", "DATABASE_URL", "the metadata store (PostgreSQL)"},
		{len(cfg.KafkaBrokers) > 0, "KAFKA_BROKERS", "the log (Kafka)"},
	}
	if roles.has(roleConsumer | roleAPI) {
		needs = append(needs, need{cfg.ClickHouseHost != "", "CLICKHOUSE_HOST", "the analytics store (ClickHouse)"})
	}
	if roles.has(roleIngestion | roleConsumer) {
		needs = append(needs, need{cfg.RedisHost != "", "REDIS_HOST", "the hot state (Redis)"})
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

// openClickHouse opens the analytics store on ClickHouse (CLICKHOUSE_*).
func openClickHouse(ctx context.Context, cfg *Config, logger *slog.Logger) (*clickhouse.Store, error) {
	s, err := clickhouse.Open(ctx, clickhouse.Options{
		Addr: []string{hostPort(cfg.ClickHouseHost, cfg.ClickHousePort)}, Database: cfg.ClickHouseDatabase,
		Username: cfg.ClickHouseUsername, Password: cfg.ClickHousePassword, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("open analytics store (CLICKHOUSE_HOST %s): %w", cfg.ClickHouseHost, err)
	}
	return s, nil
}

// openRedis opens on Redis (REDIS_*), sharing one client, the hot state, the rate limiter
// of the roles that take events, and the dedup ids of the consumer role.
func (b *backends) openRedis(ctx context.Context, cfg *Config, roles role, logger *slog.Logger) error {
	client := goredis.NewClient(&goredis.Options{
		Addr: hostPort(cfg.RedisHost, cfg.RedisPort), Password: cfg.RedisPassword, DB: cfg.RedisDB,
		DialTimeout: redis.DefaultTimeout, ReadTimeout: redis.DefaultTimeout, WriteTimeout: redis.DefaultTimeout,
	})
	b.closes = append(b.closes, client.Close)
	opts := redis.Options{Client: client, Prefix: cfg.RedisPrefix, Retention: touchpointRetention, Logger: logger}
	hot, err := redis.Open(ctx, opts)
	if err != nil {
		return fmt.Errorf("open hot state (REDIS_HOST %s): %w", cfg.RedisHost, err)
	}
	b.hot = hot
	b.closes = append(b.closes, hot.Close)
	b.health["hotstate"] = func(ctx context.Context) error { return client.Ping(ctx).Err() }
	if roles.has(roleIngestion | roleAPI) {
		l, err := redis.OpenRateLimiter(ctx, opts)
		if err != nil {
			return fmt.Errorf("open rate limiter (REDIS_HOST %s): %w", cfg.RedisHost, err)
		}
		b.limit = l
		b.closes = append(b.closes, l.Close)
	}
	if roles.has(roleConsumer) {
		d, err := redis.OpenDedup(ctx, opts)
		if err != nil {
			return fmt.Errorf("open dedup state (REDIS_HOST %s): %w", cfg.RedisHost, err)
		}
		b.dedup = d
		b.closes = append(b.closes, d.Close)
	}
	return nil
}
