package wal_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/wal"
)

// TestOpenURL: Open takes its directory as wal:///absolute, wal:relative or a bare path,
// and refuses other schemes, hosts and queries with EINVALID.
func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tt := range []struct{ url, dir string }{
		{"wal://" + filepath.Join(dir, "abs"), filepath.Join(dir, "abs")},
		{"wal:" + filepath.Join(dir, "single"), filepath.Join(dir, "single")},
		{"wal:./rel/wal", filepath.Join(dir, "rel", "wal")},
		{"wal:rel2", filepath.Join(dir, "rel2")},
		{filepath.Join(dir, "bare"), filepath.Join(dir, "bare")},
	} {
		w, err := wal.Open(context.Background(), tt.url, wal.Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", tt.url, err)
		}
		w.Close()
		if _, err := os.Stat(filepath.Join(tt.dir, "LOCK")); err != nil {
			t.Errorf("Open(%q) did not open %s: %v", tt.url, tt.dir, err)
		}
	}
	for _, bad := range []string{"wal:", "wal://host/dir", "wal:///dir?sync=no", "kafka://b:9092/t", "file:///tmp/x"} {
		if _, err := wal.Open(context.Background(), bad, wal.Options{}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("Open(%q): %v, want code %s", bad, err, unmogrowp.EINVALID)
		}
	}
}
