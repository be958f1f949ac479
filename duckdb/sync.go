package duckdb

import (
	"fmt"
	"os"
	"path/filepath"
)

// DuckDB fsyncs its WAL at every COMMIT and its database file at every checkpoint, but
// never the directory that holds them. After each checkpoint it deletes the WAL, and the
// next COMMIT creates a new one: until the directory is synced, a power loss may forget
// that the new file exists, and the commits in it with it (ext4 usually persists the entry
// with the file's fsync; POSIX does not promise it, and other file systems differ). The
// store closes that gap: it syncs the directory once the database file exists, and again
// after a commit whenever the WAL is a file it has not seen before, which costs one stat
// per commit.

// walWatch remembers which WAL file the store last made durable in its directory.
type walWatch struct {
	dir, wal string
	seen     os.FileInfo
	onSync   func() // tests count directory syncs with it
}

// newWALWatch returns the watch for the database at path, or nil for an in-memory one.
// It syncs the directory, which now holds the database file and maybe a WAL.
func newWALWatch(path string) (*walWatch, error) {
	if path == "" {
		return nil, nil
	}
	w := &walWatch{dir: filepath.Dir(path), wal: path + ".wal"}
	if err := syncDir(w.dir); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(w.wal); err == nil {
		w.seen = fi // the sync above covered the WAL the migrations may have created
	}
	return w, nil
}

// committed syncs the directory if the WAL is new since the last call. A WAL is new if
// there was none at the last call, if it is another file, or if it is smaller: a WAL only
// grows until a checkpoint deletes it, and the file system may give the next WAL the
// deleted one's inode number. (A directory fsync costs a device cache flush, over a
// millisecond here, hence not one per commit.)
func (w *walWatch) committed() error {
	if w == nil {
		return nil
	}
	fi, err := os.Stat(w.wal)
	if os.IsNotExist(err) {
		w.seen = nil // checkpointed at this commit: the data is in the database file
		return nil
	}
	if err != nil {
		return err
	}
	if w.seen != nil && os.SameFile(fi, w.seen) && fi.Size() >= w.seen.Size() {
		w.seen = fi
		return nil
	}
	if err := syncDir(w.dir); err != nil {
		return err
	}
	if w.onSync != nil {
		w.onSync()
	}
	w.seen = fi
	return nil
}

// syncDir fsyncs a directory, making the names in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return d.Close()
}
