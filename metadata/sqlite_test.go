package metadata

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// TestPragmas checks the settings of every connection of both SQLite pools, holding
// several connections at once so that the pools must open more than one.
func TestPragmas(t *testing.T) {
	db, _ := openTest(t, engines[0])
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	for _, p := range []struct {
		name      string
		pool      *sql.DB
		conns     int
		queryOnly int
	}{
		{"write", db.write, 1, 0},
		{"read", db.read, 4, 1},
	} {
		t.Run(p.name, func(t *testing.T) {
			var held []*sql.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for i := range p.conns {
				c, err := p.pool.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
				for _, want := range []struct {
					pragma string
					value  string
				}{
					{"journal_mode", "wal"},
					{"synchronous", "2"}, // FULL
					{"foreign_keys", "1"},
					{"busy_timeout", "5000"},
					{"query_only", fmt.Sprint(p.queryOnly)},
				} {
					var got string
					if err := c.QueryRowContext(ctx, "PRAGMA "+want.pragma).Scan(&got); err != nil {
						t.Fatalf("conn %d: PRAGMA %s: %v", i, want.pragma, err)
					}
					if got != want.value {
						t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, want.pragma, got, want.value)
					}
				}
			}
			if n := p.pool.Stats().OpenConnections; n != p.conns {
				t.Errorf("%d open connections, want %d", n, p.conns)
			}
		})
	}
	if _, err := db.read.ExecContext(ctx, `DELETE FROM apps`); err == nil {
		t.Error("a read connection accepted a write")
	}
}

// wantLinksPlan checks that SQLite's plan of Links reads the links_app_id index in order,
// without a sort.
func wantLinksPlan(t *testing.T, db *DB, appID string) {
	t.Helper()
	rows, err := db.read.Query(`EXPLAIN QUERY PLAN SELECT `+linkColumns+`
		FROM links WHERE app_id = ? ORDER BY created_at DESC, id DESC`, appID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "links_app_id") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("Links query plan %q: want the links_app_id index and no sort", p)
	}
}

// noSecretsInFiles checks that no byte of the SQLite file at path and its WAL holds a
// plain server key.
func noSecretsInFiles(t *testing.T, path string, secrets []string) {
	t.Helper()
	var raw []byte
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if len(raw) == 0 {
		t.Fatalf("%s is empty", path)
	}
	for _, k := range secrets {
		if bytes.Contains(raw, []byte(strings.TrimPrefix(k, unmogrowp.ServerKeyPrefix))) {
			t.Errorf("server key %s is in the database files", k)
		}
	}
}
