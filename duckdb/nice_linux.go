//go:build linux

package duckdb

import (
	"runtime"
	"syscall"
)

// commitNice is how much lower than the process's the CPU priority of a commit that moves
// staged rows is (Linux's nice): such a commit compresses row groups and may checkpoint
// for seconds, while the stage's writes, which make rows visible, and ingestion run
// beside it on the same cores.
const commitNice = 10

// niced runs f on an OS thread of its own whose priority is commitNice lower, and ends
// the thread after. Without the permission to change it, f runs as it is.
func niced(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		tid := syscall.Gettid()
		if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil {
			// Getpriority returns 20 - nice.
			_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-prio+commitNice, 19))
		}
		done <- f()
	}()
	return <-done
}
