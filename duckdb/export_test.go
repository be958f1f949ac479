package duckdb

import (
	"slices"
	"strings"
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

// TestPackedText packs texts that look like the packing itself (colons, digits), multi-byte
// ones, empty ones and NULL in DuckDB with packedText and reads them back with unpackText.
func TestPackedText(t *testing.T) {
	s := openMemory(t)
	cols := []textColumn{{"a", 2}, {"b", 0}, {"c", 1}, {"d", 3}}
	for _, c := range []struct{ a, b, c, d string }{
		{"", "", "", ""},
		{"12:34", ":", "3:abc", "9"},
		{"é€𝄞", "a,b\n\"q\"", strings.Repeat("x", 1000), "\x00"},
	} {
		var packed string
		err := s.db.QueryRow(`SELECT `+packedText("t", cols)+` FROM (SELECT $1 AS a, $2 AS b, $3 AS c, $4 AS d, NULL::VARCHAR AS e) t`,
			c.a, c.b, c.c, c.d).Scan(&packed)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, 4)
		if err := unpackText(packed, cols, got); err != nil {
			t.Fatalf("%q: %v", packed, err)
		}
		if want := []string{c.b, c.c, c.a, c.d}; !slices.Equal(got, want) {
			t.Errorf("%q reads back as %q, want %q", packed, got, want)
		}
	}
	var packed string
	if err := s.db.QueryRow(`SELECT ` + packedText("t", []textColumn{{"e", 0}}) + ` FROM (SELECT NULL::VARCHAR AS e) t`).Scan(&packed); err != nil {
		t.Fatal(err)
	}
	if got := []string{"x"}; unpackText(packed, []textColumn{{"e", 0}}, got) != nil || got[0] != "" {
		t.Errorf("NULL packs as %q, which reads back as %q, want ''", packed, got)
	}
	for _, bad := range []string{"", "3:ab", "x:", "2:abc", "1:a1:b"} {
		if err := unpackText(bad, cols[:1], make([]string, 4)); err == nil {
			t.Errorf("%q unpacks", bad)
		}
	}
}

// TestPackedColumns checks that each packed text column lands in the exported field of its
// name, and that every text field of the report is packed, but the events' fields of the
// device's latest decision (readDevices): a column packed into the wrong field is caught
// even where the fixture holds the same text in both.
func TestPackedColumns(t *testing.T) {
	f := func(report string, cols []textColumn, fromDevices ...string) {
		t.Helper()
		names := unmogrowp.ExportFields[report]
		packed := map[string]bool{}
		for _, c := range cols {
			if names[c.field] != c.name {
				t.Errorf("%s: column %s is packed into field %d, %s", report, c.name, c.field, names[c.field])
			}
			packed[c.name] = true
		}
		for _, n := range names {
			k := unmogrowp.ExportKindOf(report, n)
			if (k == unmogrowp.ExportString || k == unmogrowp.ExportJSON) && !packed[n] && !slices.Contains(fromDevices, n) {
				t.Errorf("%s: the text field %s is not packed", report, n)
			}
		}
	}
	f(unmogrowp.ExportEvents, eventsText, "adset", "ad", "site_id", "channel", "match_type")
	f(unmogrowp.ExportTouchpoints, touchpointsText)
}
