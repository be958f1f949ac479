package duckdb

import (
	"flag"
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// update rewrites the shared golden files of storetest.RunReports from this store's
// answers: go test ./duckdb/ -run TestReports -update.
var update = flag.Bool("update", false, "rewrite the golden files of the report tests")

// TestReports runs the shared report suite: the hand-counted fixture against the golden
// files in internal/storetest/testdata/reports, and generated data whose reports must agree.
func TestReports(t *testing.T) {
	t.Parallel()
	_ = update // read by storetest through flag.Lookup
	storetest.RunReports(t, func(t *testing.T) storetest.ReportStore { return openMemory(t) })
}
