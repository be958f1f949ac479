package duckdb

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestOpenURL: Open takes its file as duckdb:///absolute or a bare path, and refuses
// other schemes, hosts and queries with EINVALID.
func TestOpenURL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "analytics.duckdb")
	s, err := Open(context.Background(), "duckdb://"+path, Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("duckdb://%s did not open %s: %v", path, path, err)
	}
	for _, bad := range []string{"duckdb:", "duckdb://host/a.duckdb", "duckdb:///a.duckdb?threads=2", "clickhouse://h:9000/db"} {
		if _, err := Open(context.Background(), bad, Options{}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("Open(%q): %v, want code %s", bad, err, unmogrowp.EINVALID)
		}
	}
}
