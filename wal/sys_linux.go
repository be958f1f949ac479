//go:build linux

package wal

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data and the metadata needed to read it back (its size).
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// lockFile takes an exclusive advisory lock on f, failing at once if another holder has it.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
