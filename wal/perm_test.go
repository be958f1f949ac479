package wal

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
)

// TestPrivateFiles checks that the log's directory, segments, lock and commit file are
// created readable by their owner alone: they hold every event.
func TestPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Append(ctx, "app", [][]byte{[]byte("event")}); err != nil {
		t.Fatal(err)
	}
	recs, err := w.Read(ctx, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("read %d records: %v", len(recs), err)
	}
	if err := w.Commit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, err := d.Info()
		if err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if files < 3 { // a segment, the lock, the commit file
		t.Errorf("%d files checked, want the segment, lock and commit file", files)
	}
}
