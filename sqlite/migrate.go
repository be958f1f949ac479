package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/unmogrowp/unmogrowp/migrate"
)

// migrationFiles are the schema's migrations, named NNNN_what.sql and numbered from 1
// without gaps. A migration, once released, is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies, in order, each migration that schema_migrations does not list, each in
// its own transaction together with its schema_migrations row. When every migration is
// applied it writes nothing. It refuses a database whose schema is newer than this build.
func (db *DB) migrate(ctx context.Context, ms []migrate.Migration) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database schema version %d is newer than this build's %d", current, len(ms))
	}
	for _, m := range ms[current:] {
		applied, err := applyMigration(ctx, conn, m)
		if err != nil {
			return err
		}
		if applied {
			db.logger.Info("applied metadata migration", "path", db.path, "version", m.Version, "name", m.Name)
		}
	}
	return nil
}

// applyMigration runs one migration in a transaction unless another process applied it
// first. Foreign keys are off while it runs, so that a migration may rebuild a table that
// others reference, and are checked with foreign_key_check before it commits.
func applyMigration(ctx context.Context, conn *sql.Conn, m migrate.Migration) (applied bool, err error) {
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	defer func() {
		if _, ferr := conn.ExecContext(context.Background(), `PRAGMA foreign_keys = ON`); ferr != nil && err == nil {
			err = fmt.Errorf("migration %s: restore foreign keys: %w", m.Name, ferr)
		}
	}()

	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: see dsn
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return false, fmt.Errorf("migration %s: foreign key check: %w", m.Name, err)
	}
	violation := rows.Next()
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return false, fmt.Errorf("migration %s: foreign key check: %w", m.Name, err)
	}
	if violation {
		return false, fmt.Errorf("migration %s: leaves rows that break a foreign key", m.Name)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UTC().UnixMicro()); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return true, nil
}
