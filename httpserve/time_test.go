package httpserve

import (
	"fmt"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2025, 10, 21, 14, 0, 0, 0, time.UTC)
	for _, s := range []string{"1761055200", "1761055200000", "2025-10-21T14:00:00Z", "1761055200.0"} {
		if got, err := ParseTime(s); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "x", "-1", "NaN", `"1"`} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}

// TestParseUTCTimeDays checks parseUTCTime's calendar against time.Parse on every day of
// whole 400-year cycles and of the years around the range's ends, and on the days past the
// end of each month, which both refuse.
func TestParseUTCTimeDays(t *testing.T) {
	for _, years := range [][2]int{{0, 401}, {1899, 2401}, {9599, 10000}} {
		for year := years[0]; year < years[1]; year++ {
			for month := 1; month <= 12; month++ {
				for day := 1; day <= 32; day++ {
					s := fmt.Sprintf("%04d-%02d-%02dT23:59:58.25Z", year, month, day)
					got, ok := parseUTCTime(s)
					want, err := time.Parse(time.RFC3339Nano, s)
					if ok != (err == nil) || ok && got != want.UTC() {
						t.Fatalf("%s: parseUTCTime %v, %v; time.Parse %v, %v", s, got, ok, want, err)
					}
				}
			}
		}
	}
}

// FuzzParseUTCTime checks parseUTCTime, ParseTimeText's fast path, against time.Parse:
// whenever it takes a text, time.Parse(time.RFC3339Nano) gives the same time.
func FuzzParseUTCTime(f *testing.F) {
	for _, s := range []string{
		"2025-10-21T14:00:00Z", "2025-10-21T14:00:00.5Z", "2025-10-21T14:00:00.123456789Z",
		"2024-02-29T23:59:59Z", "2025-02-29T00:00:00Z", "2025-04-31T00:00:00Z", "2025-13-01T00:00:00Z",
		"2025-10-21T24:00:00Z", "2025-10-21T14:60:00Z", "2025-10-21T14:00:60Z", "0000-01-01T00:00:00Z",
		"2025-10-21T14:00:00.Z", "2025-10-21T14:00:00,5Z", "2025-10-21t14:00:00z", "2025-1-21T14:00:00Z",
		"+025-10-21T14:00:00Z", "2025-10-21T14:00:00.1234567891Z", "2025-10-21T14:00:00+02:00",
		"20x5-10-21T14:00:00Z", "2025-1x-21T14:00:00Z", "2025-10-21T1x:00:00Z", "2025-10-21T14:00:00.1x3Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseUTCTime(s)
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("%q: parseUTCTime took it as %v, time.Parse refuses it: %v", s, got, err)
		}
		if want = want.UTC(); got.UTC() != want {
			t.Fatalf("%q: parseUTCTime %v, time.Parse %v", s, got, want)
		}
	})
}
