package metadata

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// TestPrivateFiles checks that the database file and the -wal and -shm files SQLite makes
// next to it are readable by their owner alone: they hold password and key hashes.
func TestPrivateFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metadata.db")
	db, err := Open(context.Background(), "sqlite://"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app := &unmogrowp.App{Name: "Game", Settings: unmogrowp.DefaultAppSettings()}
	if _, err := db.CreateApp(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, info.Mode().Perm())
		}
	}
}
