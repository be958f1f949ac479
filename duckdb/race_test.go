//go:build race

package duckdb

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
