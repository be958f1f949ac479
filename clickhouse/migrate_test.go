package clickhouse

import (
	"errors"
	"fmt"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// An ADD COLUMN that finds its column is taken as done (another process applied the step),
// and nothing else is.
func TestAddColumnDone(t *testing.T) {
	add := "ALTER TABLE touchpoints ADD COLUMN cost_model String DEFAULT ''"
	for _, c := range []struct {
		stmt string
		err  error
		want bool
	}{
		{add, &ch.Exception{Code: 44, Message: "Cannot add column cost_model: column with this name already exists"}, true},
		{add, fmt.Errorf("migration: %w", &ch.Exception{Code: 15}), true},
		{add, &ch.Exception{Code: 62, Message: "Syntax error"}, false},
		{add, errors.New("connection refused"), false},
		{"CREATE TABLE x (a String) ENGINE = Memory", &ch.Exception{Code: 44}, false},
	} {
		if got := addColumnDone(c.stmt, c.err); got != c.want {
			t.Errorf("addColumnDone(%q, %v) = %v, want %v", c.stmt, c.err, got, c.want)
		}
	}
}
