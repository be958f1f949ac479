// Package metadata is the metadata store: apps and their keys, tracking links, and users
// and their sessions, in SQLite (one file, embedded) or PostgreSQL (shared by the processes
// of the split deployment), chosen by the scheme of a URL. One implementation over
// database/sql serves both; what differs between the two engines (placeholders, the errors
// of a broken constraint, row locks, what text a column can hold, how migrations are
// serialised) is a dialect value, and each engine has its own migration files, version
// for version the same changes, under sqlite/migrations and postgres/migrations.
package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// DB is a metadata store. It is safe for concurrent use; a PostgreSQL store also by any
// number of processes at once.
//
// Writes go to the write pool and reads to the read pool: in SQLite, one connection whose
// transactions take the write lock at BEGIN, and a pool of read-only connections that run
// in parallel with it (WAL); in PostgreSQL, one pool for both.
type DB struct {
	d      *dialect
	name   string // the engine, and for SQLite the file: what errors say they opened
	write  *sql.DB
	read   *sql.DB // == write in PostgreSQL
	logger *slog.Logger

	// The lookups of the ingestion hot path (app keys, and links for clicks and
	// impressions), prepared once on the read pool (database/sql prepares them again on
	// each pooled connection the first time they run there).
	bySDKKey, byServerKeyHash, linkByID *sql.Stmt

	// enqueue and completeStmts hold the outbox's INSERTs of deliveries and UPDATEs of
	// attempts by their number of rows, each prepared on the write pool on first use
	// (stmts), under enqueueMu.
	enqueueMu     sync.Mutex
	enqueue       map[int]*sql.Stmt
	completeStmts map[int]*sql.Stmt

	// completes are the outbox attempts waiting to be recorded together, in SQLite
	// (completeGrouped); completing is set while a caller records them.
	completeMu sync.Mutex
	completes  []*completion
	completing bool
}

var (
	_ unmogrowp.AppStore  = (*DB)(nil)
	_ unmogrowp.LinkStore = (*DB)(nil)
	_ unmogrowp.UserStore = (*DB)(nil)
)

// DefaultConnectTimeout bounds each new PostgreSQL connection (dial, TLS and start-up) when
// neither the URL's connect_timeout nor Options.ConnectTimeout sets it, so that an
// unreachable server fails fast.
const DefaultConnectTimeout = 5 * time.Second

// DefaultIOTimeout bounds each wait of a PostgreSQL connection for the server (a read of
// its answer, a write of a request) when Options.IOTimeout does not set it.
const DefaultIOTimeout = 10 * time.Second

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Logger receives the migrations Open applies; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout bounds each new PostgreSQL connection unless the URL sets
	// connect_timeout; 0 means DefaultConnectTimeout. SQLite ignores it.
	ConnectTimeout time.Duration
	// IOTimeout bounds each read and each write on a PostgreSQL connection, whatever the
	// caller's context: a server that stalls (the connection open, bytes accepted, nothing
	// answered) fails the call with EUNAVAILABLE once it has answered nothing for
	// IOTimeout, and the connection is closed instead of being held, and returned to the
	// pool, for ever. It is a bound on the server's silence, so a statement that runs
	// longer without answering fails too. 0 means DefaultIOTimeout; negative, none.
	// SQLite ignores it.
	IOTimeout time.Duration
}

// Open opens the metadata store at rawURL and applies the migrations it has not yet
// applied; ctx bounds the whole of Open. The scheme chooses the engine:
//
//   - sqlite:///var/lib/unmogrowp/metadata.db: the SQLite file at the path after
//     "sqlite://" (sqlite://data/metadata.db is relative to the working directory), created
//     if needed in a directory that must exist. No query or fragment.
//   - postgres:// or postgresql://: a PostgreSQL database, as libpq reads the URL; settings
//     it does not name come from libpq's PG* environment variables, and one pgx does not
//     know, such as statement_timeout, is passed to the server for every connection.
//     pool_max_conns, pool_max_conn_lifetime and pool_max_conn_idle_time size the pool.
//     Several processes may open the same database at once: one applies the migrations
//     while the others wait for it. libpq's key=value form ("host=db dbname=meta") is
//     PostgreSQL too.
//
// Returns EINVALID for a URL it cannot use, EUNAVAILABLE if the PostgreSQL server cannot
// be reached. Its errors never repeat the URL's password.
func Open(ctx context.Context, rawURL string, o Options) (*DB, error) {
	db, err := open(ctx, rawURL, o)
	if err != nil {
		return nil, err
	}
	if err := db.migrateAll(ctx); err != nil {
		db.Close()
		return nil, db.fail("open "+db.name, err)
	}
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, db.fail("open "+db.name, err)
	}
	return db, nil
}

// open opens the pools of the store at rawURL without migrating it.
func open(ctx context.Context, rawURL string, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	scheme, rest, _ := strings.Cut(rawURL, ":")
	switch strings.ToLower(scheme) {
	case "sqlite":
		return openSQLite(ctx, rest, o)
	case "postgres", "postgresql":
		return openPostgres(ctx, rawURL, o)
	}
	if !strings.Contains(rawURL, "://") && strings.Contains(rawURL, "=") {
		return openPostgres(ctx, rawURL, o) // libpq's key=value form: "host=db dbname=meta"
	}
	return nil, unmogrowp.Errorf(unmogrowp.EINVALID,
		"The metadata database URL must start with sqlite:// or postgres://.")
}

// prepare prepares the statements of the hot path on the read pool.
func (db *DB) prepare(ctx context.Context) error {
	for _, s := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&db.bySDKKey, bySDKKeyQuery},
		{&db.byServerKeyHash, byServerKeyHashQuery},
		{&db.linkByID, linkByIDQuery},
	} {
		stmt, err := db.read.PrepareContext(ctx, db.q(s.query))
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		*s.stmt = stmt
	}
	return nil
}

// Ping reports whether the database answers, on both pools. In SQLite it waits for the
// write connection while a write is in progress. Returns an error with code EUNAVAILABLE
// if a PostgreSQL server cannot be reached.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return db.fail("ping "+db.d.name, err)
	}
	if db.write != db.read {
		if err := db.write.PingContext(ctx); err != nil {
			return db.fail("ping "+db.d.name, err)
		}
	}
	return nil
}

// Close closes the connection pools, waiting for the connections in use to be released.
// Calls after the first return nil.
func (db *DB) Close() error {
	var errs []error
	stmts := []*sql.Stmt{db.bySDKKey, db.byServerKeyHash, db.linkByID}
	db.enqueueMu.Lock()
	for _, s := range db.enqueue {
		stmts = append(stmts, s)
	}
	for _, s := range db.completeStmts {
		stmts = append(stmts, s)
	}
	db.enqueue, db.completeStmts = nil, nil
	db.enqueueMu.Unlock()
	for _, s := range stmts {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s: %w", db.d.name, err)
	}
	return nil
}

// inTx runs f in a transaction on the write pool and commits it if f returns nil. In
// SQLite the transaction holds the write lock from BEGIN, so reads in it see what it
// writes on; in PostgreSQL, reads that decide a write lock their rows (dialect.forUpdate).
func (db *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// q returns query, written with ? placeholders, in the dialect's placeholders.
func (db *DB) q(query string) string {
	if !db.d.numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := range len(query) {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// values returns n copies of tuple, written with ? placeholders, joined by commas: the
// rows after VALUES of a statement that writes n rows ("(?, ?)"), or the list of an
// IN (...) of n values ("?").
func values(tuple string, n int) string {
	return strings.TrimSuffix(strings.Repeat(tuple+",", n), ",")
}

// fail wraps err with op, adding the code the dialect gives it (dialect.code) unless it
// already has one. It returns nil for a nil err.
func (db *DB) fail(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case unmogrowp.ErrorCode(err) != unmogrowp.EINTERNAL:
		return fmt.Errorf("%s: %w", op, err) // already has a code
	}
	if coded := db.d.code(err); coded != nil {
		return fmt.Errorf("%s: %w: %w", op, coded, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// invalidURL is Open's error for a URL of the engine (SQLite, PostgreSQL) that it cannot
// use, with the reason, which must not repeat a password.
func invalidURL(d *dialect, engine string, reason error) error {
	return fmt.Errorf("open %s: %w: %w", d.name,
		unmogrowp.Errorf(unmogrowp.EINVALID, "The %s database URL is invalid.", engine), reason)
}

// SQLiteURL returns the URL that Open takes for the SQLite file at path, absolute or
// relative.
func SQLiteURL(path string) string {
	return "sqlite://" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
}

// sqlitePath returns the file path of a sqlite: URL without its scheme ("///abs/path",
// "//rel/path" or "rel/path").
func sqlitePath(rest string) (string, error) {
	p, err := url.PathUnescape(strings.TrimPrefix(rest, "//"))
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(p, "?#") {
		return "", fmt.Errorf("the path %q must not contain '?' or '#'", p)
	}
	if p == "" || p == ":memory:" || strings.HasPrefix(p, "file:") {
		return "", fmt.Errorf("the path must be a file path, not %q", p)
	}
	return p, nil
}
