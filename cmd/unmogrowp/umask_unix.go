//go:build unix

package main

import "syscall"

// restrictUmask makes every file and directory the process creates, its own and those
// that DuckDB, SQLite and Pebble create in the data directory (their logs, temporary
// files), readable by the owner alone (0600 files, 0700 directories), as PostgreSQL's
// server does (umask 0077): the data holds device ids, IPs and key hashes.
func restrictUmask() { syscall.Umask(0o077) }
