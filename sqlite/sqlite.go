// Package sqlite is the embedded metadata store: apps and their keys, tracking links, and
// users and their sessions in one SQLite file, through the pure-Go driver
// modernc.org/sqlite.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/unmogrowp/unmogrowp/migrate"

	unmogrowp "github.com/unmogrowp/unmogrowp"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// pragmas are run by the driver on every new connection, before it is handed out: WAL so
// that readers never block the writer, synchronous=FULL so that a committed transaction
// survives a power loss, foreign keys enforced, and a busy timeout so that a second
// process (or the CLI) waits for the write lock instead of failing at once.
var pragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"foreign_keys(ON)",
}

// DB is a metadata store in one SQLite file. It is safe for concurrent use.
//
// It holds two connection pools on the same file: one connection for writes, whose
// transactions start with BEGIN IMMEDIATE so that they take the write lock up front (no
// SQLITE_BUSY upgrade failures half way through), and a pool of read-only connections that
// run in parallel with it under WAL.
type DB struct {
	write  *sql.DB
	read   *sql.DB
	path   string
	logger *slog.Logger

	// The lookups of the ingestion hot path (app keys, and links for clicks and
	// impressions), prepared once on the read pool (database/sql prepares them again on
	// each pooled connection the first time they run there).
	bySDKKey, byServerKeyHash, linkByID *sql.Stmt
}

var _ unmogrowp.AppStore = (*DB)(nil)

// Open opens, creating it if needed, the SQLite metadata store at path and applies the
// migrations it has not yet applied. logger may be nil. A new file is made readable by
// its owner alone (0600), and so are its -wal and -shm files, which SQLite creates with
// the mode of the database file: it holds password and key hashes.
func Open(path string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite: path must be a file path, not %q", path)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite: path %q must not contain '?' or '#'", path)
	}

	// An empty file is an empty database to SQLite: create it with the mode SQLite copies.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	f.Close()
	db := &DB{path: path, logger: logger}
	if db.write, err = openPool(path, false); err != nil {
		return nil, err
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	// Migrate before opening the readers: the first connection turns the file into WAL mode
	// and creates the schema, so a read-only connection never has to.
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := db.migrate(context.Background(), ms); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	if db.read, err = openPool(path, true); err != nil {
		db.write.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	db.read.SetConnMaxLifetime(0)
	db.read.SetConnMaxIdleTime(0)
	if db.bySDKKey, err = db.read.Prepare(bySDKKeyQuery); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: prepare: %w", path, err)
	}
	if db.byServerKeyHash, err = db.read.Prepare(byServerKeyHashQuery); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: prepare: %w", path, err)
	}
	if db.linkByID, err = db.read.Prepare(linkByIDQuery); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: prepare: %w", path, err)
	}
	return db, nil
}

// dsn returns the driver's data source name for path: a plain file name followed by the
// driver's query parameters, which it applies to every connection it opens.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

func openPool(path string, readOnly bool) (*sql.DB, error) {
	p, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := p.Ping(); err != nil {
		p.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return p, nil
}

// Ping reports whether both pools answer. It waits for the write connection while a write
// is in progress.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close closes both connection pools. Calls after the first return nil.
func (db *DB) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{db.bySDKKey, db.byServerKeyHash, db.linkByID} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}
