// Package testenv tells integration tests where their real servers are (PostgreSQL, Redis,
// ClickHouse, an S3-compatible store, a browser), and tells benchmarks the CPU time a process used. Without one, a
// test is skipped with one line saying how to enable it, and the package's TestMain (Main)
// prints one line per kind of skip at its end, visible in `go test ./...`; under
// UNMOGROWP_REQUIRE_INTEGRATION=1, as CI runs, it fails instead, so a server that CI should
// have started cannot be skipped silently.
package testenv

import (
	"os"
	"testing"
)

// RequireEnv is the environment variable under which a missing server fails a test
// instead of skipping it.
const RequireEnv = "UNMOGROWP_REQUIRE_INTEGRATION"

// Environment variables that name the test servers.
const (
	PostgresEnv   = "UNMOGROWP_TEST_POSTGRES_URL"   // postgres://user:pass@127.0.0.1:5432/db, a database tests may create databases from
	RedisEnv      = "UNMOGROWP_TEST_REDIS_ADDR"     // host:port of a Redis tests may write to (under their own key prefixes)
	ClickHouseEnv = "UNMOGROWP_TEST_CLICKHOUSE_URL" // clickhouse://user:pass@127.0.0.1:9000, a server tests may create databases on
	S3Env         = "UNMOGROWP_TEST_S3_URL"         // http://access_key:secret_key@127.0.0.1:7070, an S3-compatible server tests may create buckets on
)

// S3Enable is how to start the S3-compatible server S3Env names, for Server's skip line.
const S3Enable = "bash .ci/services (it builds and starts versitygw)"

// Required reports whether a missing server fails tests (RequireEnv is "1").
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Server returns the value of the environment variable env that locates a test server.
// When it is unset the test is skipped, or fails under RequireEnv, with one line naming
// env and how to enable it (for example "apt-get install redis-server").
func Server(t testing.TB, env, enable string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	Missing(t, env+" is not set (to enable: "+enable+", then set "+env+")")
	return ""
}

// Missing skips the test with the one-line reason, or fails it under RequireEnv. A skip is
// counted for the summary the package's TestMain prints (Main, Run).
func Missing(t testing.TB, reason string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s; %s=1 requires it", reason, RequireEnv)
	}
	recordSkip(reason)
	t.Skip("skipped: " + reason)
}
