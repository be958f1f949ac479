package unmogrowp_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

func TestExportWindows(t *testing.T) {
	h := func(n int) time.Time { return time.Date(2026, 1, 1, n, 0, 0, 0, time.UTC) }
	from, to := h(0).Add(20*time.Minute), h(9).Add(5*time.Minute)
	f := func(name string, counts []unmogrowp.HourCount, most int64, want []unmogrowp.ExportWindow) {
		t.Helper()
		got := unmogrowp.ExportWindows(from, to, counts, most)
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
		for i := range got {
			if !got[i].From.Equal(want[i].From) || !got[i].To.Equal(want[i].To) {
				t.Errorf("%s: window %d is %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	f("no rows", nil, 10, nil)
	f("one window", []unmogrowp.HourCount{{h(0), 3}, {h(4), 3}}, 10, []unmogrowp.ExportWindow{{from, to}})
	f("split", []unmogrowp.HourCount{{h(0), 6}, {h(2), 4}, {h(3), 1}, {h(7), 2}, {h(9), 9}}, 10,
		[]unmogrowp.ExportWindow{{from, h(3)}, {h(3), h(9)}, {h(9), to}})
	f("an hour over the bound alone", []unmogrowp.HourCount{{h(1), 50}, {h(2), 1}}, 10,
		[]unmogrowp.ExportWindow{{from, h(2)}, {h(2), to}})
}

// row is a row of every kind of value, with the strings given.
func row(s1, s2 string) []unmogrowp.ExportValue {
	r := make([]unmogrowp.ExportValue, 7)
	r[0].SetString(s1)
	r[1].SetJSON(s2)
	r[2].SetTime(time.Date(2026, 3, 2, 23, 30, 0, 500_000_000, time.UTC))
	r[3].SetInt(-42)
	r[4].SetFloat(1.25, true)
	r[5].SetFloat(0, false)
	r[6].SetBool(true)
	return r
}

var fields = []string{"s", "j", "t", "i", "f", "none", "b"}

func write(t testing.TB, format string, loc *time.Location, rows ...[]unmogrowp.ExportValue) string {
	var buf bytes.Buffer
	w, err := unmogrowp.NewExportWriter(&buf, format, fields, []int{0, 1, 2, 3, 4, 5, 6}, loc)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHeader(); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.WriteRow(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestExportWriter(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	got := write(t, unmogrowp.ExportCSV, tokyo, row("a,b \"q\"\nline", `{"k":[1,2]}`))
	want := "s,j,t,i,f,none,b\n" +
		"\"a,b \"\"q\"\"\nline\",\"{\"\"k\"\":[1,2]}\",2026-03-03T08:30:00.5+09:00,-42,1.25,,true\n"
	if got != want {
		t.Errorf("CSV:\n%q\nwant\n%q", got, want)
	}
	got = write(t, unmogrowp.ExportNDJSON, time.UTC, row("é<\x01", ""))
	want = `{"s":"é\u003c\u0001","j":null,"t":"2026-03-02T23:30:00.5Z","i":-42,"f":1.25,"none":null,"b":true}` + "\n"
	if got != want {
		t.Errorf("NDJSON:\n%s\nwant\n%s", got, want)
	}
	if _, err := unmogrowp.NewExportWriter(&bytes.Buffer{}, "xml", fields, nil, time.UTC); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Errorf("format xml: %v, want EINVALID", err)
	}
}

func TestExportSelect(t *testing.T) {
	sel, err := unmogrowp.ExportSelect(unmogrowp.ExportEvents, []string{"device_id", "event_id"})
	if err != nil || len(sel) != 2 || sel[0] != 4 || sel[1] != 0 {
		t.Errorf("device_id,event_id: %v, %v", sel, err)
	}
	for _, bad := range [][]string{{"nope"}, {"event_id", "event_id"}, {""}} {
		_, err := unmogrowp.ExportSelect(unmogrowp.ExportEvents, bad)
		if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID || !strings.Contains(unmogrowp.ErrorMessage(err), "fields") {
			t.Errorf("%q: %v, want EINVALID naming fields", bad, err)
		}
	}
}

// FuzzExportWriter writes rows of any strings and checks that the CSV reads back to the same
// cells and that each NDJSON line is a JSON object holding the same string.
func FuzzExportWriter(f *testing.F) {
	for _, s := range []string{"", "plain", "a,b", `"q"`, "line\nbreak\n", "\xff\xfe", "<&>", "é\u2028"} {
		f.Add(s, `{"a":1}`)
	}
	f.Fuzz(func(t *testing.T, s, j string) {
		text := write(t, unmogrowp.ExportCSV, time.UTC, row(s, j))
		recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil {
			t.Fatalf("the CSV of %q does not parse: %v", s, err)
		}
		// encoding/csv reads CRLF inside a quoted cell as LF.
		if len(recs) != 2 || recs[1][0] != strings.ReplaceAll(s, "\r\n", "\n") || recs[1][1] != strings.ReplaceAll(j, "\r\n", "\n") {
			t.Fatalf("the CSV of %q, %q reads back as %q", s, j, recs)
		}
		if want := encodingCSV(t, time.UTC, row(s, j)); text != want {
			t.Fatalf("the CSV of %q, %q is\n%q\nencoding/csv writes\n%q", s, j, text, want)
		}
		line := write(t, unmogrowp.ExportNDJSON, time.UTC, row(s, j))
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("the NDJSON of %q, %q is not JSON: %v\n%s", s, j, err, line)
		}
		var want string // what encoding/json makes of s: each invalid byte a U+FFFD
		b, _ := json.Marshal(s)
		_ = json.Unmarshal(b, &want)
		if m["s"] != want {
			t.Fatalf("the NDJSON of %q holds %q", s, m["s"])
		}
	})
}

// encodingCSV is the CSV encoding/csv writes for rows (the header, then each row's cells as
// the export renders them): what ExportWriter wrote before it appended its own bytes, which
// it must still write exactly.
func encodingCSV(t testing.TB, loc *time.Location, rows ...[]unmogrowp.ExportValue) string {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(fields); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		rec := make([]string, len(r))
		for i, v := range r {
			switch v.Kind {
			case unmogrowp.ExportTime:
				if !v.Time.IsZero() {
					rec[i] = v.Time.In(loc).Format(time.RFC3339Nano)
				}
			case unmogrowp.ExportInt:
				rec[i] = strconv.FormatInt(v.Int, 10)
			case unmogrowp.ExportFloat:
				if v.Bool {
					rec[i] = strconv.FormatFloat(v.Num, 'g', -1, 64)
				}
			case unmogrowp.ExportBool:
				rec[i] = strconv.FormatBool(v.Bool)
			default:
				rec[i] = v.Str
			}
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return buf.String()
}

// TestExportWriterCSVIsEncodingCSV writes a generated dataset of every kind of value, with
// strings made of the characters CSV treats specially (quotes, commas, CR, LF, leading
// white space of every Unicode kind, `\.`, invalid UTF-8), and compares the bytes with
// encoding/csv's.
func TestExportWriterCSVIsEncodingCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{"", "a", "plain text", ",", `"`, "\r", "\n", "\r\n", " ", "\t", "\v", "\f",
		"\u0085", "\u00a0", "\u3000", "\u2028", `\.`, "\\", ".", "\xff", "\xe3\x80", "é", "{\"k\":[1,\"x\"]}", "<&>"}
	str := func() string {
		if rng.IntN(8) == 0 {
			return `\.`
		}
		var b strings.Builder
		for range rng.IntN(4) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		return b.String()
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]unmogrowp.ExportValue, 2000)
	for n := range rows {
		r := make([]unmogrowp.ExportValue, len(fields))
		r[0].SetString(str())
		r[1].SetJSON(str())
		switch rng.IntN(3) {
		case 0:
			r[2].SetTime(time.Time{})
		case 1:
			r[2].SetTime(time.UnixMicro(rng.Int64N(4e15)).UTC())
		default:
			r[2].SetTime(time.Unix(rng.Int64N(4e9), 0).UTC())
		}
		r[3].SetInt(rng.Int64() - rng.Int64())
		r[4].SetFloat([]float64{0, 1.25, -3e-9, 1e21, 99.99, rng.Float64() * 1e6}[rng.IntN(6)], true)
		r[5].SetFloat(rng.Float64(), rng.IntN(2) == 0)
		r[6].SetBool(rng.IntN(2) == 0)
		rows[n] = r
	}
	for _, loc := range []*time.Location{time.UTC, berlin, time.FixedZone("", -(3*3600 + 30*60))} {
		if got, want := write(t, unmogrowp.ExportCSV, loc, rows...), encodingCSV(t, loc, rows...); got != want {
			gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("in %v, line %d is\n%q\nencoding/csv writes\n%q", loc, i, gl[i], wl[i])
				}
			}
			t.Fatalf("in %v: %d lines, encoding/csv writes %d", loc, len(gl), len(wl))
		}
	}
}

// BenchmarkExportWriter formats rows of the events export's shape (32 fields: 26 strings,
// 2 times, a revenue, 2 JSON values) as CSV and NDJSON, the formatting step of an export
// alone.
func BenchmarkExportWriter(b *testing.B) {
	names := unmogrowp.ExportFields[unmogrowp.ExportEvents]
	sel := make([]int, len(names))
	r := make([]unmogrowp.ExportValue, len(names))
	for i := range r {
		sel[i] = i
		r[i].SetString("value-" + strconv.Itoa(i))
	}
	r[0].SetString("0193a4f0-7c1e-7d2a-9b1e-3f2a1c4d5e6f")
	r[2].SetTime(time.Date(2026, 3, 2, 23, 30, 0, 123456000, time.UTC))
	r[3].SetTime(time.Date(2026, 3, 2, 23, 30, 1, 0, time.UTC))
	r[17].SetFloat(4.99, true)
	r[26].SetJSON(`{"sku":"gems_100","level":7}`)
	r[30].SetString("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36")
	r[31].SetJSON("")
	for _, format := range []string{unmogrowp.ExportCSV, unmogrowp.ExportNDJSON} {
		b.Run(format, func(b *testing.B) {
			w, err := unmogrowp.NewExportWriter(io.Discard, format, names, sel, time.UTC)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteRow(r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
