package duckdb

import (
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// TestExport runs the shared export suite (golden files in
// internal/storetest/testdata/export, rewritten with -update), once with the default
// windows and once with windows of about 1000 rows, so that the exports of generated data
// span many.
func TestExport(t *testing.T) {
	t.Parallel()
	t.Run("default windows", func(t *testing.T) {
		t.Parallel()
		storetest.RunExport(t, func(t *testing.T) storetest.ExportStore { return openMemory(t) })
	})
	t.Run("small windows", func(t *testing.T) {
		t.Parallel()
		storetest.RunExport(t, func(t *testing.T) storetest.ExportStore {
			s := openMemory(t)
			s.exportRows = 1000
			return s
		})
	})
}
