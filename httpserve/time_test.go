package httpserve

import (
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

// FuzzParseUTCTime checks parseUTCTime, ParseTimeText's fast path, against time.Parse:
// whenever it takes a text, time.Parse(time.RFC3339Nano) gives the same time.
func FuzzParseUTCTime(f *testing.F) {
	for _, s := range []string{
		"2025-10-21T14:00:00Z", "2025-10-21T14:00:00.5Z", "2025-10-21T14:00:00.123456789Z",
		"2024-02-29T23:59:59Z", "2025-02-29T00:00:00Z", "2025-04-31T00:00:00Z", "2025-13-01T00:00:00Z",
		"2025-10-21T24:00:00Z", "2025-10-21T14:60:00Z", "2025-10-21T14:00:60Z", "0000-01-01T00:00:00Z",
		"2025-10-21T14:00:00.Z", "2025-10-21T14:00:00,5Z", "2025-10-21t14:00:00z", "2025-1-21T14:00:00Z",
		"+025-10-21T14:00:00Z", "2025-10-21T14:00:00.1234567891Z", "2025-10-21T14:00:00+02:00",
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
