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
