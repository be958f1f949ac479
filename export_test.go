package unmogrowp_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
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
