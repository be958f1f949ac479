package storetest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// The shared suite of unmogrowp.Exporter: every analytics store runs it, so that their
// exports are the same bytes and agree with their reports.

// ExportStore is an analytics store with its reports and its export: what RunExport tests.
type ExportStore interface {
	ReportStore
	unmogrowp.Exporter
}

// RunExport runs the export suite: every report of the report fixture exported as CSV and
// NDJSON and compared with the golden files in storetest's testdata/export (shared by all
// stores, rewritten with -update as RunReports' are), and the exports of generated
// realistic data checked against the reports over the same range. open is as RunReports'.
// A store that reads its exports in windows should run it with windows of a few rows, so
// that every export spans many.
func RunExport(t *testing.T, open func(t *testing.T) ExportStore) {
	t.Run("Fixture", func(t *testing.T) { t.Parallel(); testExportFixture(t, open) })
	t.Run("AgreesWithReports", func(t *testing.T) { t.Parallel(); testExportAgrees(t, open) })
	t.Run("Refusals", func(t *testing.T) { t.Parallel(); testExportRefusals(t, open) })
}

// Export runs an export of q into a CSV or NDJSON text of the fields (all when nil) with
// times in loc.
func Export(ctx context.Context, s unmogrowp.Exporter, q unmogrowp.ExportQuery, format string, fields []string, loc *time.Location) ([]byte, int, error) {
	sel, err := unmogrowp.ExportSelect(q.Report, fields)
	if err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	w, err := unmogrowp.NewExportWriter(&buf, format, unmogrowp.ExportFields[q.Report], sel, loc)
	if err != nil {
		return nil, 0, err
	}
	if err := w.WriteHeader(); err != nil {
		return nil, 0, err
	}
	n := 0
	names := unmogrowp.ExportFields[q.Report]
	err = s.Export(ctx, q, func(row []unmogrowp.ExportValue) error {
		n++
		for i := range row {
			// Typed exports (Parquet) declare their columns by ExportKindOf.
			if want := unmogrowp.ExportKindOf(q.Report, names[i]); row[i].Kind != want {
				return fmt.Errorf("%s.%s has kind %d, ExportKindOf says %d", q.Report, names[i], row[i].Kind, want)
			}
		}
		return w.WriteRow(row)
	})
	if err != nil {
		return nil, 0, err
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), n, nil
}

// exportGolden is the path of storetest's testdata/export/name.
func exportGolden(t *testing.T, name string) string {
	return filepath.Join(filepath.Dir(goldenDir(t)), "export", name)
}

// testExportFixture exports app-a's rows of the report fixture, every report in both
// formats, and compares them with the golden files; then a selection of fields in another
// time zone, and the filters.
func testExportFixture(t *testing.T, open func(*testing.T) ExportStore) {
	var s ExportStore
	f := newReportFixture(t, func(t *testing.T) ReportStore { s = open(t); return s })
	ctx := context.Background()
	q := func(report string) unmogrowp.ExportQuery {
		return unmogrowp.ExportQuery{AppID: "app-a", Report: report, From: f.from, To: f.to}
	}
	for _, report := range []string{unmogrowp.ExportInstalls, unmogrowp.ExportEvents, unmogrowp.ExportTouchpoints, unmogrowp.ExportRejected} {
		for _, format := range []string{unmogrowp.ExportCSV, unmogrowp.ExportNDJSON} {
			got, _, err := Export(ctx, s, q(report), format, nil, time.UTC)
			if err != nil {
				t.Fatalf("export %s as %s: %v", report, format, err)
			}
			goldenFile(t, exportGolden(t, report+"."+format), got)
		}
	}

	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := Export(ctx, s, q(unmogrowp.ExportInstalls), unmogrowp.ExportCSV, []string{"install_time", "device_id", "media_source"}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, exportGolden(t, "installs_tokyo.csv"), got)

	// Filters: the counts of the fixture, counted by hand (see reportFixture).
	for _, c := range []struct {
		name string
		q    unmogrowp.ExportQuery
		want int
	}{
		{"installs of fb", unmogrowp.ExportQuery{Report: unmogrowp.ExportInstalls, MediaSource: "fb"}, 2},
		// n1's re-attribution and n2's re-engagement: the export lists every decision.
		{"installs of gg/gg_c2", unmogrowp.ExportQuery{Report: unmogrowp.ExportInstalls, MediaSource: "gg", Campaign: "gg_c2"}, 2},
		{"organic installs", unmogrowp.ExportQuery{Report: unmogrowp.ExportInstalls, MediaSource: unmogrowp.MediaSourceOrganic}, 3},
		{"rejected installs", unmogrowp.ExportQuery{Report: unmogrowp.ExportInstalls, MediaSource: unmogrowp.MediaSourceRejected}, 1},
		{"sessions", unmogrowp.ExportQuery{Report: unmogrowp.ExportEvents, EventType: unmogrowp.EventSession}, 9},
		{"organic events, '' included", unmogrowp.ExportQuery{Report: unmogrowp.ExportEvents, MediaSource: unmogrowp.MediaSourceOrganic}, 8},
		{"touchpoints of gg", unmogrowp.ExportQuery{Report: unmogrowp.ExportTouchpoints, MediaSource: "gg"}, 4},
		{"rejected of fb", unmogrowp.ExportQuery{Report: unmogrowp.ExportRejected, MediaSource: "fb"}, 2},
	} {
		qq := c.q
		qq.AppID, qq.From, qq.To = "app-a", f.from, f.to
		_, n, err := Export(ctx, s, qq, unmogrowp.ExportCSV, nil, time.UTC)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n != c.want {
			t.Errorf("%s: %d rows, want %d", c.name, n, c.want)
		}
	}
}

// testExportAgrees exports realistic generated data and checks the row counts against
// the reports over the same range, and that the rows come in time order.
func testExportAgrees(t *testing.T, open func(*testing.T) ExportStore) {
	s := open(t)
	ctx := context.Background()
	if err := GenerateFixture(60_000, 11, 7_000, func(b unmogrowp.Batch) error { return s.Append(ctx, b) }); err != nil {
		t.Fatal(err)
	}
	app := FixtureApps[0]
	to := FixtureStart.Add(FixtureSpan).Add(-37 * time.Minute) // not on a whole hour
	from := to.Add(-9*24*time.Hour - 5*time.Hour)
	st, err := s.Stats(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	// export reads a report's CSV, checks that the column named by timeCol never goes
	// back, and returns the rows as maps of field to value.
	export := func(q unmogrowp.ExportQuery, timeCol string) []map[string]string {
		t.Helper()
		q.AppID, q.From, q.To = app, from, to
		text, n, err := Export(ctx, s, q, unmogrowp.ExportCSV, nil, time.UTC)
		if err != nil {
			t.Fatalf("export %s: %v", q.Report, err)
		}
		records, err := csv.NewReader(bytes.NewReader(text)).ReadAll()
		if err != nil {
			t.Fatalf("export %s: the CSV does not parse: %v", q.Report, err)
		}
		if len(records) != n+1 {
			t.Fatalf("export %s: %d records for %d rows and a header", q.Report, len(records), n)
		}
		var out []map[string]string
		var last time.Time
		for _, r := range records[1:] {
			m := map[string]string{}
			for i, name := range records[0] {
				m[name] = r[i]
			}
			at, err := time.Parse(time.RFC3339Nano, m[timeCol])
			if err != nil {
				t.Fatalf("export %s: %s %q: %v", q.Report, timeCol, m[timeCol], err)
			}
			if at.Before(last) || at.Before(from) || !at.Before(to) {
				t.Fatalf("export %s: %s %v out of order or out of range", q.Report, timeCol, at)
			}
			last = at
			out = append(out, m)
		}
		return out
	}
	count := func(rows []map[string]string, keep func(map[string]string) bool) int64 {
		var n int64
		for _, r := range rows {
			if keep(r) {
				n++
			}
		}
		return n
	}
	all := func(map[string]string) bool { return true }

	installs := export(unmogrowp.ExportQuery{Report: unmogrowp.ExportInstalls}, "install_time")
	isNew := func(r map[string]string) bool {
		return r["is_reinstall"] == "false" && r["is_reattribution"] == "false" &&
			(r["attributed"] == "true" || r["rejected"] == "[]") // a rejected install is not an install
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"new installs", count(installs, isNew), st.Installs},
		{"organic installs", count(installs, func(r map[string]string) bool { return isNew(r) && r["attributed"] == "false" }), st.OrganicInstalls},
		{"reinstalls", count(installs, func(r map[string]string) bool { return r["is_reinstall"] == "true" }), st.Reinstalls},
		{"rejected installs", count(installs, func(r map[string]string) bool {
			return r["is_reinstall"] == "false" && r["is_reattribution"] == "false" && r["match_type"] == unmogrowp.MatchRejected
		}), st.RejectedInstalls},
		{"events", count(export(unmogrowp.ExportQuery{Report: unmogrowp.ExportEvents}, "timestamp"), all), st.Events},
		{"sessions", count(export(unmogrowp.ExportQuery{Report: unmogrowp.ExportEvents, EventType: unmogrowp.EventSession}, "timestamp"), all), st.Sessions},
		{"clicks", count(export(unmogrowp.ExportQuery{Report: unmogrowp.ExportTouchpoints}, "timestamp"), func(r map[string]string) bool { return r["type"] == unmogrowp.TouchClick }), st.Clicks},
		{"impressions", count(export(unmogrowp.ExportQuery{Report: unmogrowp.ExportTouchpoints}, "timestamp"), func(r map[string]string) bool { return r["type"] == unmogrowp.TouchImpression }), st.Impressions},
	} {
		if c.got != c.want {
			t.Errorf("%s: the export has %d, Stats says %d", c.name, c.got, c.want)
		}
		if c.want == 0 {
			t.Errorf("%s: the generated data has none", c.name)
		}
	}

	// The rejected rows are the fraud report's rejected touchpoints; per media source and
	// campaign, the rows are the media_sources report's.
	fr, err := s.FraudReport(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var rejected int64
	for _, r := range fr.Rows {
		rejected += r.Count
	}
	if got := int64(len(export(unmogrowp.ExportQuery{Report: unmogrowp.ExportRejected}, "install_time"))); got != rejected || got == 0 {
		t.Errorf("rejected: the export has %d rows, the fraud report %d", got, rejected)
	}
	ms, err := s.MediaSourceReport(ctx, app, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ms.Rows[:min(len(ms.Rows), 4)] {
		q := unmogrowp.ExportQuery{MediaSource: r.MediaSource, Campaign: r.Campaign}
		q.Report = unmogrowp.ExportInstalls
		if got := count(export(q, "install_time"), isNew); got != r.Installs {
			t.Errorf("%s/%s: %d new installs exported, the media_sources report says %d", r.MediaSource, r.Campaign, got, r.Installs)
		}
		if got := count(export(q, "install_time"), func(r map[string]string) bool {
			return r["reattribution_kind"] == unmogrowp.ReattributionReengagement
		}); got != r.Reengagements {
			t.Errorf("%s/%s: %d re-engagements exported, the media_sources report says %d", r.MediaSource, r.Campaign, got, r.Reengagements)
		}
		q.Report = unmogrowp.ExportEvents
		if got := int64(len(export(q, "timestamp"))); got != r.Events {
			t.Errorf("%s/%s: %d events exported, the media_sources report says %d", r.MediaSource, r.Campaign, got, r.Events)
		}
		q.Report = unmogrowp.ExportTouchpoints
		if got := count(export(q, "timestamp"), func(r map[string]string) bool { return r["type"] == unmogrowp.TouchClick }); got != r.Clicks {
			t.Errorf("%s/%s: %d clicks exported, the media_sources report says %d", r.MediaSource, r.Campaign, got, r.Clicks)
		}
	}
}

// testExportRefusals checks the queries every store refuses, and that an export stops at
// the callback's first error.
func testExportRefusals(t *testing.T, open func(*testing.T) ExportStore) {
	s := open(t)
	ctx := context.Background()
	if err := GenerateFixture(2_000, 3, 1_000, func(b unmogrowp.Batch) error { return s.Append(ctx, b) }); err != nil {
		t.Fatal(err)
	}
	from, to := FixtureStart, FixtureStart.Add(FixtureSpan)
	for _, q := range []unmogrowp.ExportQuery{
		{AppID: FixtureApps[0], Report: "nope", From: from, To: to},
		{AppID: FixtureApps[0], Report: unmogrowp.ExportEvents, To: to},
		{AppID: FixtureApps[0], Report: unmogrowp.ExportEvents, From: to, To: from},
		{AppID: FixtureApps[0], Report: unmogrowp.ExportEvents, From: from, To: from.Add(94 * 24 * time.Hour)},
		{AppID: FixtureApps[0], Report: unmogrowp.ExportInstalls, From: from, To: to, EventType: "session"},
		{AppID: FixtureApps[0], Report: unmogrowp.ExportPostbackDeliveries, From: from, To: to},
	} {
		err := s.Export(ctx, q, func([]unmogrowp.ExportValue) error { t.Fatal("a row of a refused export"); return nil })
		if c := unmogrowp.ErrorCode(err); c != unmogrowp.EINVALID && c != unmogrowp.ENOTFOUND {
			t.Errorf("%+v: %v (%s), want EINVALID or ENOTFOUND", q, err, c)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := s.Export(ctx, unmogrowp.ExportQuery{AppID: FixtureApps[0], Report: unmogrowp.ExportEvents, From: from, To: to}, func([]unmogrowp.ExportValue) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("an export whose callback fails at row 3: %v after %d rows", err, n)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	err = s.Export(canceled, unmogrowp.ExportQuery{AppID: FixtureApps[0], Report: unmogrowp.ExportEvents, From: from, To: to}, func([]unmogrowp.ExportValue) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("an export with a canceled context: %v", err)
	}
}
