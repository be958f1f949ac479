package duckdb

import (
	"context"
	"embed"
	"fmt"

	"github.com/unmogrowp/unmogrowp/internal/migrate"
)

// migrations holds the schema, one SQL file per step, named NNNN_what.sql and applied in
// the order of NNNN. A step once released never changes: a change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the steps the database has not seen yet, each in its own transaction
// together with its row in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       VARCHAR NOT NULL,
		applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		// A step that fills a table from the events (0003) takes about a minute on 100M.
		s.log.Info("applying migration", "name", m.Name)
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		s.log.Info("applied migration", "name", m.Name)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migrate.Migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // after Commit, a no-op
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.Version, m.Name); err != nil {
		return err
	}
	return tx.Commit()
}
