//go:build !linux

package wal

import "os"

// fdatasync flushes f; without fdatasync(2) it is a full fsync.
func fdatasync(f *os.File) error { return f.Sync() }

// lockFile is a no-op where flock(2) is not used: one process per directory is then up to
// the operator.
func lockFile(*os.File) error { return nil }
