// Package postgres is the metadata store of the distributed deployment: apps and their
// keys, tracking links, and users and their sessions in PostgreSQL, through pgx v5. It
// keeps the same data, with the same semantics, as package sqlite, so that any number of
// api and ingestion processes can share it.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/unmogrowp/unmogrowp/migrate"

	"github.com/jackc/pgx/v5/pgxpool"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// DefaultConnectTimeout bounds each new connection (dial, TLS and start-up) when the
// database URL sets no connect_timeout, so that an unreachable server fails fast.
const DefaultConnectTimeout = 5 * time.Second

// DB is a metadata store in a PostgreSQL database. It is safe for concurrent use, by any
// number of processes at once.
//
// Every query runs on a pool of connections, each of which prepares a statement the first
// time it runs it and reuses it after (pgx's statement cache): the lookups of the
// ingestion hot path (AppByKey, Link) cost one round trip.
type DB struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

var (
	_ unmogrowp.AppStore  = (*DB)(nil)
	_ unmogrowp.LinkStore = (*DB)(nil)
	_ unmogrowp.UserStore = (*DB)(nil)
)

// Option configures Open.
type Option func(*options)

type options struct {
	logger         *slog.Logger
	connectTimeout time.Duration
}

// WithLogger sets the logger that Open reports applied migrations to. Without it, nothing
// is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithConnectTimeout bounds each new connection to d (d > 0) unless the database URL sets
// connect_timeout. The default is DefaultConnectTimeout.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.connectTimeout = d
		}
	}
}

// Open connects to the PostgreSQL database at databaseURL (a postgres:// URL or a
// key=value connection string, as libpq reads them; pgxpool's pool_* settings size the
// pool) and applies the migrations it has not yet applied. Several processes may open the
// same database at once: one applies the migrations while the others wait for it; ctx
// bounds the whole of Open, that wait included. Settings the URL does not name come from
// libpq's PG* environment variables; a setting pgx does not know, such as
// statement_timeout, is passed to the server for every connection.
// Returns an error with code EUNAVAILABLE if the server cannot be reached, EINVALID if
// databaseURL cannot be parsed.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*DB, error) {
	o := options{logger: slog.New(slog.DiscardHandler), connectTimeout: DefaultConnectTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgconn's message masks the password of the URL.
		return nil, fmt.Errorf("open postgres: %w: %w",
			unmogrowp.Errorf(unmogrowp.EINVALID, "The PostgreSQL database URL is invalid."), err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = o.connectTimeout
	}
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, dbError("open postgres", err)
	}
	db := &DB{pool: pool, logger: o.logger.With("host", cfg.ConnConfig.Host, "database", cfg.ConnConfig.Database)}
	if err := db.migrate(ctx, ms); err != nil {
		pool.Close()
		return nil, dbError("open postgres", err)
	}
	return db, nil
}

// Ping reports whether the server answers. Returns an error with code EUNAVAILABLE if it
// cannot be reached.
func (db *DB) Ping(ctx context.Context) error {
	return dbError("ping postgres", db.pool.Ping(ctx))
}

// Close closes the connection pool, waiting for the connections in use to be released.
// Calls after the first return nil.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}
