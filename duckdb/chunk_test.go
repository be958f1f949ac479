package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// appendPaths are the two ways Append writes a table: duckdb-go's Appender, value by value
// (the store's fallback, and what it did before the chunk appender), and the chunk
// appender.
var appendPaths = []struct {
	name    string
	byValue bool
}{
	{"value", true},
	{"chunk", false},
}

// TestChunkAppenderAvailable checks that the chunk appender reaches the connection handle
// of the duckdb-go this module builds with: if an upgrade moves it, Append still works,
// value by value, but this fails.
func TestChunkAppenderAvailable(t *testing.T) {
	s := openMemory(t)
	if err := s.Append(context.Background(), mixedAt(0, 0, 5)); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if s.byValue.Load() {
		t.Fatal("Append fell back to duckdb-go's Appender: the chunk appender cannot reach the connection")
	}
}

// TestConformanceByValue runs the conformance suite on the fallback path, which
// TestConformance no longer takes.
func TestConformanceByValue(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) unmogrowp.EventStore {
		s := openMemory(t)
		s.byValue.Store(true)
		return s
	})
}

// hostileStrings are strings that break naive encoders: separators and quotes of CSV and
// SQL, line ends, control characters, NUL, escapes, multi-byte and odd Unicode, the
// lengths around what a duckdb_string_t holds inline (12 bytes) and its 4-byte prefix,
// strings that look like NULL, and invalid UTF-8 (stored with U+FFFD in its place).
var hostileStrings = []string{
	"", `"`, `""`, `a,b,,c`, "line\nbreak", "cr\rlf\r\n", "\r", "\n", "\ttab\t", `back\slash\`, `\"`, `\\`, `'q''`,
	"\x01\x02\x1b[31m\x1f\x7f", "\x00", "a\x00b\x00", "é", "🎉 emoji", "日本語テキスト", "\u200b\u2028\u2029\ufeff",
	"\uFFFD", "e\u0301", "\u202eevil", "abc", "abcd", "abcde", "eleven byte", "twelve bytes", "thirteen byte",
	"fourteen bytes", "ünïcödé twelve", " padded ", "NULL", `\N`, "null", "#comment", "--", "/*", "; DROP TABLE events; --",
	`{"k":"v","q":"\"quoted\"","n":null}`, strings.Repeat("long,\"string\"\n", 300),
	"bad\xffbyte", "\xc3", "\xed\xa0\x80surrogate", "trunc\xe2\x82",
}

// hostileTimes are times at the edges: the zero time, the epoch, times before it with
// and without sub-microsecond parts (rounded down), the years DuckDB holds at both ends,
// and times in other zones.
var hostileTimes = []time.Time{
	{},
	time.Unix(0, 0),
	time.Unix(-1, 999_999_999),
	time.Date(1969, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
	time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
	time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
	time.Date(294246, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
	time.Date(-290307, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(-44, 3, 15, 12, 0, 0, 0, time.UTC),
	time.Date(2026, 5, 1, 12, 30, 0, 123_456_789, time.FixedZone("odd", -(7*3600+30*60+17))),
	time.Date(2026, 3, 29, 2, 30, 0, 0, time.FixedZone("east", 14*3600)),
}

// hostileFloats are revenues at the edges of float64 (NaN compared apart).
var hostileFloats = []float64{
	0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1e300, -1e-300,
	0.1, 123456789.123456789, math.Inf(1), math.Inf(-1), math.NaN(),
}

// hostileJSON are documents kept as sent (NULL when empty).
var hostileJSON = []string{
	"", `null`, `""`, `{"k":"v \"quoted\", with comma\nand newline","u":"\u00e9\ud83c\udf89"}`, `[1,2.50,-0,1e400]`,
	"{\n\t\"raw\": \"é 🎉 \x01\"\n}", `{"big":` + strings.Repeat("9", 400) + `}`, "{\"bad\":\"\xff\"}",
}

// hostileBatch returns n events, n touchpoints and n/3 installs whose every string field
// takes each of hostileStrings in turn, every time field each of hostileTimes, and so on.
// Log positions are distinct; partitions and offsets go to their extremes.
func hostileBatch(n int) unmogrowp.Batch {
	var b unmogrowp.Batch
	str := func(i, field int) string { return hostileStrings[(i+field*7)%len(hostileStrings)] }
	tm := func(i, field int) time.Time { return hostileTimes[(i+field*3)%len(hostileTimes)] }
	jsn := func(i, field int) json.RawMessage {
		if d := hostileJSON[(i+field)%len(hostileJSON)]; d != "" || i%2 == 0 {
			return json.RawMessage(d)
		}
		return nil // absent and empty alike
	}
	pos := func(i int) (int32, int64) {
		switch i % 5 {
		case 0:
			return math.MinInt32, -int64(i) - 1
		case 1:
			return math.MaxInt32, math.MaxInt64 - int64(i)
		case 2:
			return 0, math.MinInt64 + int64(i)
		}
		return int32(i % 7), int64(i)
	}
	for i := range n {
		p, o := pos(i)
		e := unmogrowp.Event{
			Partition: p, Offset: o,
			EventID: str(i, 0), AppID: str(i, 1), EventType: str(i, 2), DeviceID: str(i, 3), UserID: str(i, 4),
			SessionID: str(i, 5), Timestamp: tm(i, 0), ReceivedAt: tm(i, 1), Platform: str(i, 6),
			OSVersion: str(i, 7), AppVersion: str(i, 8), DeviceModel: str(i, 9), Country: str(i, 10),
			Language: str(i, 11), IDFA: str(i, 12), GAID: str(i, 13), IDFV: str(i, 14), AndroidID: str(i, 15),
			ATTStatus: str(i, 16), InstallReferrer: str(i, 17), InstallBeginAt: tm(i, 2),
			Revenue: hostileFloats[i%len(hostileFloats)], HasRevenue: i%3 != 0, Currency: str(i, 18),
			IP: str(i, 19), UserAgent: str(i, 20), Attribution: jsn(i, 0), EventData: jsn(i, 1),
			MediaSource: str(i, 21), Campaign: str(i, 22),
		}
		b.Events = append(b.Events, e)
		tp := unmogrowp.Touchpoint{
			Partition: p, Offset: o ^ 1<<40,
			ID: str(i, 23), AppID: str(i, 24), Type: str(i, 25), LinkID: str(i, 26), MediaSource: str(i, 27),
			Campaign: str(i, 28), Adset: str(i, 29), Ad: str(i, 30), SiteID: str(i, 31), Channel: str(i, 32),
			ClickID: str(i, 33), Time: tm(i, 3), ReceivedAt: tm(i, 4), IP: str(i, 34), UserAgent: str(i, 35),
			IDFA: str(i, 36), GAID: str(i, 37), AndroidID: str(i, 38), DeviceID: str(i, 39),
			DeepLinkValue: str(i, 40),
		}
		for k := range tp.Sub {
			tp.Sub[k] = str(i, 41+k)
		}
		b.Touchpoints = append(b.Touchpoints, tp)
		if i%3 != 0 {
			continue
		}
		in := unmogrowp.Install{
			Partition: p, Offset: o,
			Attribution: unmogrowp.Attribution{
				AppID: "app-" + str(i, 46), DeviceID: str(i, 47), InstallEventID: str(i, 48), InstallTime: tm(i, 5),
				Attributed: i%2 == 0, MatchType: str(i, 49), TouchType: str(i, 50), TouchpointID: str(i, 51),
				TouchTime: tm(i, 6), MediaSource: str(i, 52), Campaign: str(i, 53), Adset: str(i, 54), Ad: str(i, 55),
				SiteID: str(i, 56), Channel: str(i, 57), ClickID: str(i, 58), DeepLinkValue: str(i, 59),
				CTITSeconds: []int64{0, -1, math.MinInt64, math.MaxInt64, 86400}[i%5], IsReinstall: i%4 == 0,
				IsReattribution: i%5 == 0,
			},
			FirstInstallTime: tm(i, 7),
		}
		for k := range i % 4 {
			in.Rejected = append(in.Rejected, unmogrowp.Rejection{TouchpointID: str(i, 60+k), MediaSource: str(i, 64+k), Reason: str(i, 68+k)})
		}
		b.Installs = append(b.Installs, in)
	}
	// Strings longer than an arena slab, and one exactly as long.
	b.Events[1].UserAgent = strings.Repeat("ü\"\n,", arenaSlab/4+100)
	b.Touchpoints[2].DeepLinkValue = strings.Repeat("x", arenaSlab)
	b.Events[3].EventData = json.RawMessage(`{"pad":"` + strings.Repeat("\\n\"", arenaSlab/3) + `"}`)
	return b
}

// want is v as the store gives it back: invalid UTF-8 replaced.
func wantString(s string) string { return validUTF8(s) }

// TestAppendHostile appends hostile rows on both paths (enough to span several chunks
// and arena slabs) and reads them back: equal to what was appended through Events,
// ScanTouchpoints and Installs (JSON byte for byte, floats bit for bit), and stored
// identically by both paths, column by column.
func TestAppendHostile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 5000
	batch := hostileBatch(n)
	dumps := map[string][]string{}
	for _, path := range appendPaths {
		t.Run(path.name, func(t *testing.T) {
			s := openMemory(t)
			s.byValue.Store(path.byValue)
			if err := s.Append(ctx, batch); err != nil {
				t.Fatalf("Append: %v", err)
			}
			if s.byValue.Load() != path.byValue {
				t.Fatal("Append changed path")
			}
			checkEvents(t, s, batch.Events)
			checkTouchpoints(t, s, batch.Touchpoints)
			checkInstalls(t, s, batch.Installs)
			checkGroups(t, s, batch.Events)
			checkDeviceDays(t, s, batch.Events)
			checkDeviceRevenue(t, s)
			dumps[path.name] = dumpTables(t, s)
		})
	}
	a, b := dumps[appendPaths[0].name], dumps[appendPaths[1].name]
	if len(a) != len(b) {
		t.Fatalf("paths stored %d and %d rows", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d stored differently:\n%s: %.2000s\n%s: %.2000s", i, appendPaths[0].name, a[i], appendPaths[1].name, b[i])
		}
	}
}

// TestChunkNullsDoNotCarry appends events whose nullable columns are NULL in the first
// chunk and set in the next, and the other way round: a reset chunk starts all valid.
func TestChunkNullsDoNotCarry(t *testing.T) {
	s := openMemory(t)
	const n = 3 * 2048
	events := batchAt(0, 0, n)
	for i := range events {
		e := &events[i]
		if (i/2048)%2 == 0 {
			e.InstallBeginAt, e.HasRevenue, e.Revenue, e.Attribution, e.EventData = time.Time{}, false, 0, nil, nil
		}
	}
	if err := s.Append(context.Background(), unmogrowp.Batch{Events: events}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	checkEvents(t, s, events)
}

// checkEvents compares the stored events with want, by log position.
func checkEvents(t *testing.T, s *Store, want []unmogrowp.Event) {
	t.Helper()
	got, err := s.Events(context.Background(), unmogrowp.EventFilter{})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Events: %d events, want %d", len(got), len(want))
	}
	byPos := map[[2]int64]*unmogrowp.Event{}
	for i := range got {
		byPos[[2]int64{int64(got[i].Partition), got[i].Offset}] = &got[i]
	}
	bad := 0
	for _, w := range want {
		g := byPos[[2]int64{int64(w.Partition), w.Offset}]
		if g == nil {
			t.Fatalf("event at %d:%d missing", w.Partition, w.Offset)
		}
		w.EventID, w.AppID, w.EventType, w.DeviceID = wantString(w.EventID), wantString(w.AppID), wantString(w.EventType), wantString(w.DeviceID)
		w.UserID, w.SessionID, w.Platform, w.OSVersion = wantString(w.UserID), wantString(w.SessionID), wantString(w.Platform), wantString(w.OSVersion)
		w.AppVersion, w.DeviceModel, w.Country, w.Language = wantString(w.AppVersion), wantString(w.DeviceModel), wantString(w.Country), wantString(w.Language)
		w.IDFA, w.GAID, w.IDFV, w.AndroidID = wantString(w.IDFA), wantString(w.GAID), wantString(w.IDFV), wantString(w.AndroidID)
		w.ATTStatus, w.InstallReferrer, w.Currency, w.IP = wantString(w.ATTStatus), wantString(w.InstallReferrer), wantString(w.Currency), wantString(w.IP)
		w.UserAgent, w.MediaSource, w.Campaign = wantString(w.UserAgent), wantString(w.MediaSource), wantString(w.Campaign)
		wantAttr, wantData := wantString(string(w.Attribution)), wantString(string(w.EventData))
		w.Attribution, w.EventData = nil, nil // compared byte for byte below
		gotAttr, gotData := string(g.Attribution), string(g.EventData)
		gotEvent := *g
		gotEvent.Attribution, gotEvent.EventData = nil, nil
		wantRevenue, gotRevenue := w.Revenue, gotEvent.Revenue
		w.Revenue, gotEvent.Revenue = 0, 0 // compared bit for bit below
		d := storetest.Diff(w, gotEvent)
		if gotAttr != wantAttr || gotData != wantData {
			d += fmt.Sprintf("; JSON: got %.200q / %.200q, want %.200q / %.200q", gotAttr, gotData, wantAttr, wantData)
		}
		if w.HasRevenue && !sameFloat(gotRevenue, wantRevenue) || !w.HasRevenue && gotRevenue != 0 {
			d += fmt.Sprintf("; Revenue: got %v, want %v", gotRevenue, wantRevenue)
		}
		if d != "" {
			t.Errorf("event at %d:%d differs: %.3000s", w.Partition, w.Offset, d)
			if bad++; bad > 5 {
				t.FailNow()
			}
		}
	}
}

// sameFloat reports whether a and b are the same float64, bit for bit (any NaN matches
// any NaN).
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

// checkTouchpoints compares the stored touchpoints with want, by log position.
func checkTouchpoints(t *testing.T, s *Store, want []unmogrowp.Touchpoint) {
	t.Helper()
	byPos := map[[2]int64]unmogrowp.Touchpoint{}
	if err := s.ScanTouchpoints(context.Background(), unmogrowp.TouchpointFilter{}, func(tp *unmogrowp.Touchpoint) error {
		byPos[[2]int64{int64(tp.Partition), tp.Offset}] = *tp
		return nil
	}); err != nil {
		t.Fatalf("ScanTouchpoints: %v", err)
	}
	if len(byPos) != len(want) {
		t.Fatalf("ScanTouchpoints: %d touchpoints, want %d", len(byPos), len(want))
	}
	bad := 0
	for _, w := range want {
		g, ok := byPos[[2]int64{int64(w.Partition), w.Offset}]
		if !ok {
			t.Fatalf("touchpoint at %d:%d missing", w.Partition, w.Offset)
		}
		for _, f := range []*string{&w.ID, &w.AppID, &w.Type, &w.LinkID, &w.MediaSource, &w.Campaign, &w.Adset, &w.Ad,
			&w.SiteID, &w.Channel, &w.ClickID, &w.IP, &w.UserAgent, &w.IDFA, &w.GAID, &w.AndroidID, &w.DeviceID,
			&w.DeepLinkValue, &w.Sub[0], &w.Sub[1], &w.Sub[2], &w.Sub[3], &w.Sub[4]} {
			*f = wantString(*f)
		}
		if d := storetest.DiffTouchpoint(w, g); d != "" {
			t.Errorf("touchpoint at %d:%d differs: %.3000s", w.Partition, w.Offset, d)
			if bad++; bad > 5 {
				t.FailNow()
			}
		}
	}
}

// checkInstalls compares the stored install decisions with want, reading each app's
// through Installs.
func checkInstalls(t *testing.T, s *Store, want []unmogrowp.Install) {
	t.Helper()
	byPos := map[[2]int64]unmogrowp.Install{}
	apps := map[string]bool{}
	for _, w := range want {
		apps[wantString(w.AppID)] = true
	}
	for app := range apps {
		got, _, err := s.Installs(context.Background(), unmogrowp.InstallFilter{AppID: app})
		if err != nil {
			t.Fatalf("Installs(%q): %v", app, err)
		}
		for _, in := range got {
			byPos[[2]int64{int64(in.Partition), in.Offset}] = in
		}
	}
	if len(byPos) != len(want) {
		t.Fatalf("Installs: %d installs, want %d", len(byPos), len(want))
	}
	bad := 0
	for _, w := range want {
		g, ok := byPos[[2]int64{int64(w.Partition), w.Offset}]
		if !ok {
			t.Fatalf("install at %d:%d missing", w.Partition, w.Offset)
		}
		for _, f := range []*string{&w.AppID, &w.DeviceID, &w.InstallEventID, &w.MatchType, &w.TouchType, &w.TouchpointID,
			&w.MediaSource, &w.Campaign, &w.Adset, &w.Ad, &w.SiteID, &w.Channel, &w.ClickID, &w.DeepLinkValue} {
			*f = wantString(*f)
		}
		// The rejections are stored as JSON: encoding/json replaces each invalid byte
		// with U+FFFD, where validUTF8 replaces each run of them.
		var rej []unmogrowp.Rejection
		if err := json.Unmarshal([]byte(rejectedJSON(w.Rejected)), &rej); err != nil {
			t.Fatal(err)
		}
		w.Rejected = rej
		if d := storetest.DiffInstall(w, g); d != "" {
			t.Errorf("install at %d:%d differs: %.3000s", w.Partition, w.Offset, d)
			if bad++; bad > 5 {
				t.FailNow()
			}
		}
	}
}

// checkGroups checks that DuckDB compares the stored event types as Go does (hashing and
// equality of stored strings, inline ones and NULs included): one group per distinct
// type, of the right size.
func checkGroups(t *testing.T, s *Store, events []unmogrowp.Event) {
	t.Helper()
	want := map[string]int{}
	for _, e := range events {
		want[wantString(e.EventType)]++
	}
	rows, err := s.db.Query(`SELECT event_type, count(*) FROM events GROUP BY event_type`)
	if err != nil {
		t.Fatalf("group events: %v", err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			t.Fatalf("group events: %v", err)
		}
		if _, dup := got[typ]; dup {
			t.Errorf("event type %q grouped twice", typ)
		}
		got[typ] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("group events: %v", err)
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("event type %q: %d events, want %d", typ, got[typ], n)
		}
	}
}

// dumpTables returns every stored row of the three tables as JSON text, in log order, and
// of device_days, in order: what was stored, NULLs and bytes included, as DuckDB shows it.
func dumpTables(t *testing.T, s *Store) []string {
	t.Helper()
	var dump []string
	for _, tbl := range tables {
		order := `"partition", "offset"`
		if tbl.name == deviceDaysTable.name || tbl.name == deviceRevenueTable.name {
			order = "ALL"
		}
		rows, err := s.db.Query(`SELECT to_json(r)::VARCHAR FROM ` + tbl.name + ` r ORDER BY ` + order)
		if err != nil {
			t.Fatalf("dump %s: %v", tbl.name, err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatalf("dump %s: %v", tbl.name, err)
			}
			dump = append(dump, tbl.name+" "+row)
		}
		if err := rows.Close(); err != nil {
			t.Fatalf("dump %s: %v", tbl.name, err)
		}
	}
	return dump
}

// TestAppendTimeOutOfRange checks that both paths refuse a batch with a time DuckDB
// cannot store, and store none of it.
func TestAppendTimeOutOfRange(t *testing.T) {
	ctx := context.Background()
	for _, path := range appendPaths {
		for name, tm := range map[string]time.Time{
			"after":  time.Date(294247, 1, 1, 0, 0, 0, 0, time.UTC),
			"before": time.Date(-290308, 12, 31, 0, 0, 0, 0, time.UTC),
		} {
			t.Run(path.name+"/"+name, func(t *testing.T) {
				s := openMemory(t)
				s.byValue.Store(path.byValue)
				b := mixedAt(0, 0, 3000)
				b.Touchpoints[2500].ReceivedAt = tm
				err := s.Append(ctx, b)
				if err == nil {
					t.Fatal("Append succeeded, want an error")
				}
				t.Logf("Append: %v", err)
				if st := readState(t, s); !st.equal(state{marks: map[int32]int64{}}) {
					t.Errorf("after the failed batch: %v, want nothing", st)
				}
			})
		}
	}
}

// BenchmarkAppendBulk compares the two paths on the pipeline's batch: 5000 realistic
// events, 5000 touchpoints and the install decisions of the install events (about 700),
// appended to a file database, one transaction per batch. It reports rows/s (all three
// kinds) and the CPU time per row over all threads: up to COMMIT, the part the path
// changes ("load-cpu-µs/row": rows and watermarks into the transaction), of the Append
// calls ("append-cpu-µs/row": COMMIT included), and with the closing CHECKPOINT that
// compresses what was appended ("cpu-µs/row", as BenchmarkAppend counts it).
func BenchmarkAppendBulk(b *testing.B) {
	for _, path := range appendPaths {
		b.Run("path="+path.name, func(b *testing.B) {
			benchmarkAppendPath(b, path.byValue, 5000, 5000, 20)
		})
	}
}

// BenchmarkAppendSmall compares the two paths on small batches of events, where the
// per-table costs (creating an appender, its chunk) weigh most.
func BenchmarkAppendSmall(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		for _, path := range appendPaths {
			b.Run(fmt.Sprintf("events=%d/path=%s", n, path.name), func(b *testing.B) {
				benchmarkAppendPath(b, path.byValue, n, 0, max(20, 20_000/n))
			})
		}
	}
}

// benchmarkAppendPath appends b.N batches of events events and touchpoints touchpoints
// (and, with both, the install decisions of the install events) on one path, cycling
// through a pool of batches distinct batches, each time at new log positions.
func benchmarkAppendPath(b *testing.B, byValue bool, events, touchpoints, batches int) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "events.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.byValue.Store(byValue)

	pool := storetest.BenchPool(batches, events, touchpoints)
	ctx := context.Background()
	var offset int64
	var rows int
	// The rows and watermarks are in the transaction when beforeCommit runs.
	var loadStart, loadCPU time.Duration
	s.beforeCommit = func(context.Context, *sql.Conn) error {
		loadCPU += testenv.ProcessCPU() - loadStart
		return nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testenv.ProcessCPU()
	for i := range b.N {
		pb := &pool[i%batches]
		offset = pb.Renumber(offset)
		loadStart = testenv.ProcessCPU()
		if err := s.Append(ctx, pb.Batch); err != nil {
			b.Fatal(err)
		}
		rows += pb.Len()
	}
	appendCPU := testenv.ProcessCPU() - cpu
	if err := s.checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu = testenv.ProcessCPU() - cpu
	if s.byValue.Load() != byValue {
		b.Fatal("Append changed path")
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(loadCPU.Nanoseconds())/1e3/float64(rows), "load-cpu-µs/row")
	b.ReportMetric(float64(appendCPU.Nanoseconds())/1e3/float64(rows), "append-cpu-µs/row")
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(rows), "cpu-µs/row")
}
