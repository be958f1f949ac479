package postgres

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/unmogrowp/unmogrowp/migrate"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the schema's migrations, named NNNN_what.sql and numbered from 1
// without gaps, version for version the same changes as sqlite/migrations. A migration,
// once released, is never edited: a change is a new file (in both packages).
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the key of the advisory lock that serialises migrations: the ASCII of
// "unmogrow". Advisory locks are per database, so stores in other databases of the same
// server never wait for each other.
const migrationLock int64 = 0x756e6d6f67726f77

// migrate applies, in order, each migration that schema_migrations does not list, with its
// schema_migrations row, all in one transaction: PostgreSQL's DDL is transactional, so a
// failed migration leaves the schema as it was. The transaction first takes the
// transaction-scoped advisory lock migrationLock, so that of several processes starting at
// once one migrates and the others wait, then find nothing left to do. When every
// migration is applied it writes nothing. It refuses a database whose schema is newer
// than this build.
func (db *DB) migrate(ctx context.Context, ms []migrate.Migration) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(context.Background()) // a no-op after Commit

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database schema version %d is newer than this build's %d", current, len(ms))
	}
	pending := ms[current:]
	if len(pending) == 0 {
		return nil // the deferred rollback releases the lock
	}
	for _, m := range pending {
		if err := applyMigration(ctx, tx, m); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	for _, m := range pending {
		db.logger.Info("applied metadata migration", "version", m.Version, "name", m.Name)
	}
	return nil
}

// applyMigration runs one migration in tx and records it.
func applyMigration(ctx context.Context, tx pgx.Tx, m migrate.Migration) error {
	// No arguments: pgx sends it with the simple protocol, which runs every statement of
	// the file.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.Exec(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, time.Now().UTC().UnixMicro()); err != nil {
		return fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	return nil
}
