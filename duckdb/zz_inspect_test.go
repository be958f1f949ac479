package duckdb

import (
	"context"
	"os"
	"testing"
)

func TestZZInspect(t *testing.T) {
	path := os.Getenv("ZZ_PATH")
	if path == "" {
		t.Skip()
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{
		"SELECT count(*) FROM events",
		"SELECT count(DISTINCT (\"partition\", \"offset\")) FROM events",
		"SELECT through FROM stage_moves",
		"SELECT string_agg(o::VARCHAR || '+' || g::VARCHAR, ' ') FROM (SELECT \"offset\" o, lead(\"offset\") OVER (ORDER BY \"offset\") - \"offset\" g FROM events) WHERE g > 1",
		"SELECT string_agg(\"partition\"::VARCHAR || ':' || \"offset\"::VARCHAR, ' ') FROM log_watermarks",
	} {
		var v any
		if err := s.db.QueryRowContext(ctx, q).Scan(&v); err != nil {
			t.Log(q, err)
			continue
		}
		t.Logf("%s = %v", q, v)
	}
}
