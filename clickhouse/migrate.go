package clickhouse

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/unmogrowp/unmogrowp/internal/migrate"
)

// migrations holds the schema, one SQL file per step, named NNNN_what.sql and applied in
// the order of NNNN. A step once released never changes: a change is a new file. A file
// may hold several statements, each ending with ';'; every statement must be harmless to
// run twice (CREATE TABLE IF NOT EXISTS), because two processes opening a fresh database
// at once may both apply a step: ClickHouse has no transaction to make one of them wait.
//
//go:embed migrations/*.sql
var migrations embed.FS

// statements splits a SQL file into its statements: the native protocol takes one per
// query. Whole-line comments go first, so a ';' in a comment does not split; the schema's
// statements have no ';' inside string literals.
func statements(file string) []string {
	var b strings.Builder
	for _, line := range strings.Split(file, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	var stmts []string
	for _, stmt := range strings.Split(b.String(), ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			stmts = append(stmts, stmt)
		}
	}
	return stmts
}

// addColumnDone reports whether err is the server's answer to an ALTER TABLE ... ADD
// COLUMN whose column exists already: another process applied the step first. 18.16 has
// no IF NOT EXISTS there; it answers code 44 (ILLEGAL_COLUMN), later servers 15
// (DUPLICATE_COLUMN).
func addColumnDone(stmt string, err error) bool {
	var ex *ch.Exception
	return strings.Contains(strings.ToUpper(stmt), " ADD COLUMN ") && errors.As(err, &ex) && (ex.Code == 44 || ex.Code == 15)
}

// migrate applies the steps the database has not seen yet, each followed by its row in
// schema_migrations (a ReplacingMergeTree, so a step two processes applied at once is
// listed once after a merge, and read with DISTINCT before).
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if err := s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    UInt32,
		name       String,
		applied_at DateTime
	) ENGINE = ReplacingMergeTree ORDER BY version`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[int(v)] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		for _, stmt := range statements(m.SQL) {
			if err := s.conn.Exec(ctx, stmt); err != nil && !addColumnDone(stmt, err) {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		c := &columns{}
		add(c, "version", 1, func(int) uint32 { return uint32(m.Version) })
		add(c, "name", 1, func(int) string { return m.Name })
		add(c, "applied_at", 1, func(int) time.Time { return time.Now() })
		if err := s.insert(ctx, "schema_migrations", c); err != nil {
			return fmt.Errorf("migration %s: record it: %w", m.Name, err)
		}
		s.log.Info("applied migration", "name", m.Name)
	}
	return nil
}
