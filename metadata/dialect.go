package metadata

import (
	"context"
	"database/sql"
	"io/fs"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// dialect is what differs between the engines the store runs on. The store's queries are
// written once, with ? placeholders, in the SQL both engines share; everything else that
// differs is here, or in the engine's migration files.
type dialect struct {
	name string // "sqlite" or "postgres"

	// numbered is whether placeholders are $1, $2... (PostgreSQL) instead of ?.
	numbered bool
	// forUpdate ends a SELECT that reads a row a transaction will update: " FOR UPDATE"
	// where writers run concurrently, "" where the transaction holds the database's one
	// write lock from BEGIN (SQLite).
	forUpdate string
	// skipLocked ends the query of the rows an outbox claim takes: " FOR UPDATE SKIP
	// LOCKED" where claims run concurrently, so that each passes the rows another holds
	// by; "" in SQLite, which runs one write at a time.
	skipLocked string
	// migrations holds the engine's migrations/*.sql (package migrate).
	migrations fs.FS
	// bigint is the type of a 64-bit integer column.
	bigint string
	// relaxSync and restoreSync are the statements that make a write connection's
	// commits skip, then again wait for, the sync to disk (outboxWrite).
	relaxSync, restoreSync string

	// broke reports whether err is the engine's error for a broken constraint of kind c,
	// on the column ("table.column") if column is not "".
	broke func(err error, c constraintKind, column string) bool
	// code returns the error with a code (unmogrowp.Errorf) that err also means, or nil:
	// an engine that cannot be reached is EUNAVAILABLE, text it cannot store EINVALID.
	code func(err error) error
	// storable reports whether a TEXT column can hold s. A lookup by a string that is not
	// storable finds nothing without asking the engine, which would refuse it.
	storable func(s string) bool

	// beginMigrations prepares conn, before the migrations' transaction, to run them, and
	// returns what undoes that once it has ended.
	beginMigrations func(ctx context.Context, conn *sql.Conn) (end func() error, err error)
	// lockMigrations runs first in the migrations' transaction, so that of several
	// processes migrating at once one migrates and the others wait, then find nothing to do.
	lockMigrations func(ctx context.Context, tx *sql.Tx) error
	// checkMigration runs after each migration in the transaction, and refuses what the
	// migration left broken.
	checkMigration func(ctx context.Context, tx *sql.Tx) error
	// putCosts writes rows, one a key (unmogrowp.LastOfEachKey), into the app's costs in
	// tx, each replacing the stored row of its key.
	putCosts func(ctx context.Context, tx *sql.Tx, appID string, rows []unmogrowp.Cost) error
}

// constraintKind is a kind of constraint that a write can break.
type constraintKind int

const (
	unique     constraintKind = iota // UNIQUE, or the primary key
	foreignKey                       // REFERENCES
)

// scanner is a row to read: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// noop is a dialect's hook that has nothing to do.
func noop[T any](context.Context, T) error { return nil }
