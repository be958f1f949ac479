package duckdb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestPrivateDir checks that Open makes a missing directory of the database readable by
// its owner alone, so that the files DuckDB makes in it (the database, its log, temporary
// files, with the modes DuckDB chooses) are not readable by other local users.
func TestPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(context.Background(), filepath.Join(dir, "analytics.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("%s has mode %v, want 0700", dir, info.Mode().Perm())
	}
}
