package duckdb

import (
	"slices"
	"testing"

	"github.com/unmogrowp/unmogrowp"
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

// TestTextColumns checks that each text column read by textColumns lands in the exported
// field of its name, and that every text field of the report is read so, but the events'
// fields of the device's latest decision (readDevices): a column read into the wrong field
// is caught even where the fixture holds the same text in both.
func TestTextColumns(t *testing.T) {
	f := func(report string, cols []textColumn, fromDevices ...string) {
		t.Helper()
		names := unmogrowp.ExportFields[report]
		read := map[string]bool{}
		for _, c := range cols {
			if names[c.field] != c.name {
				t.Errorf("%s: column %s is read into field %d, %s", report, c.name, c.field, names[c.field])
			}
			read[c.name] = true
		}
		for _, n := range names {
			k := unmogrowp.ExportKindOf(report, n)
			if (k == unmogrowp.ExportString || k == unmogrowp.ExportJSON) && !read[n] && !slices.Contains(fromDevices, n) {
				t.Errorf("%s: the text field %s is not read from a text column", report, n)
			}
		}
	}
	f(unmogrowp.ExportEvents, eventsText, "adset", "ad", "site_id", "channel", "match_type")
	f(unmogrowp.ExportTouchpoints, touchpointsText)
}
