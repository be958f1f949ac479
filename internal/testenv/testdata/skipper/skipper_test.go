// Package skipper is a fixture of testenv's tests: tests that skip for want of servers,
// run by TestSkipSummary with `go test` as a user runs it.
package skipper

import (
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPostgresA(t *testing.T) {
	testenv.Server(t, testenv.PostgresEnv, "apt-get install postgresql")
}
func TestPostgresB(t *testing.T) {
	testenv.Server(t, testenv.PostgresEnv, "apt-get install postgresql")
}
func TestBrowser(t *testing.T) { testenv.Missing(t, "no browser") }
func TestRuns(t *testing.T)    {}
