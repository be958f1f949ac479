//go:build !linux

package duckdb

// niced runs f: only Linux lowers a thread's priority.
func niced(f func() error) error { return f() }
