package duckdb

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// TestExecPatiently runs statements through execPatiently on a real connection: a
// transaction whose COMMIT makes its rows visible, a query big enough for DuckDB's worker
// threads to take tasks, and the errors of a bad statement and of a failed COMMIT.
func TestExecPatiently(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run := func(query string) error {
		return c.Raw(func(dc any) error {
			h, err := driverConnHandle(dc)
			if err != nil {
				t.Fatalf("driverConnHandle: %v", err)
			}
			return execPatiently(h, query)
		})
	}
	for _, q := range []string{"SET threads = 2", "CREATE TABLE t (a BIGINT PRIMARY KEY)", "BEGIN TRANSACTION",
		"INSERT INTO t SELECT range FROM range(300000)", "COMMIT",
		"CREATE TABLE u AS SELECT a % 1000 AS k, count(*) AS n FROM t GROUP BY ALL"} {
		if err := run(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var n, groups int64
	if err := c.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM u)").Scan(&n, &groups); err != nil {
		t.Fatal(err)
	}
	if n != 300000 || groups != 1000 {
		t.Fatalf("t has %d rows and u %d groups, want 300000 and 1000", n, groups)
	}

	if err := run("SELECT * FROM no_such_table"); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("a bad statement: err = %v, want one naming the table", err)
	}
	// A COMMIT that fails: there is no transaction to commit.
	if err := run("COMMIT"); err == nil {
		t.Error("COMMIT without a transaction succeeded")
	}
}
