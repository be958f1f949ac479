package metadata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/unmogrowp/unmogrowp/internal/migrate"
)

// migrateAll applies the dialect's migrations that the database has not yet applied.
func (db *DB) migrateAll(ctx context.Context) error {
	ms, err := migrate.Load(db.d.migrations)
	if err != nil {
		return err
	}
	return db.migrate(ctx, ms)
}

// migrate applies, in order, each of ms that schema_migrations does not list, with its
// schema_migrations row, all in one transaction on the write pool: DDL is transactional in
// both engines, so a failed migration leaves the schema as it was. The transaction first
// takes the dialect's migration lock, and reads the schema version under it, so that of
// several processes starting at once one migrates and the others wait, then find nothing
// left to do. When every migration is applied it writes nothing. It refuses a database
// whose schema is newer than this build.
func (db *DB) migrate(ctx context.Context, ms []migrate.Migration) (err error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	end, err := db.d.beginMigrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { err = errors.Join(err, end()) }()

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit; releases the lock when nothing was to do

	if err := db.d.lockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at `+db.d.bigint+` NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database schema version %d is newer than this build's %d", current, len(ms))
	}
	pending := ms[current:]
	if len(pending) == 0 {
		return nil
	}
	for _, m := range pending {
		// No arguments: both drivers then run every statement of the file.
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if err := db.d.checkMigration(ctx, tx); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx,
			db.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.Version, m.Name, time.Now().UTC().UnixMicro()); err != nil {
			return fmt.Errorf("migration %s: record: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	for _, m := range pending {
		db.logger.Info("applied metadata migration", "version", m.Version, "name", m.Name)
	}
	return nil
}
