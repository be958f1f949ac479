//go:build !unix

package main

// restrictUmask does nothing where there is no umask: the data directory's access is the
// file system's ACLs.
func restrictUmask() {}
