package clickhouse

import (
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// TestExport runs the shared export suite against the golden files DuckDB's exports wrote,
// with windows of about 1000 rows, so that the exports of generated data span many.
func TestExport(t *testing.T) {
	t.Parallel()
	testOptions(t)
	storetest.RunExport(t, func(t *testing.T) storetest.ExportStore {
		s := openTest(t)
		s.exportRows = 1000
		return s
	})
}
