package clickhouse

import (
	"testing"
	"time"
)

// TestMicros checks the time encoding: exact to the microsecond from year 1 (the zero
// time, which comes back as the zero time) to year 9999, rounding down below it, and
// ceilMicros rounding up.
func TestMicros(t *testing.T) {
	for _, tt := range []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Unix(0, 0).UTC(),
		time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
	} {
		got := fromMicros(micros(tt))
		if !got.Equal(tt) || got.IsZero() != tt.IsZero() || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("fromMicros(micros(%v)) = %v", tt, got)
		}
	}
	if got := fromMicros(micros(time.Time{})); got != (time.Time{}) {
		t.Errorf("the zero time came back as %#v, want time.Time{}", got)
	}
	x := time.Date(2026, 3, 14, 9, 26, 53, 589793400, time.FixedZone("X", 3600))
	if got, want := micros(x), time.Date(2026, 3, 14, 8, 26, 53, 589793000, time.UTC).UnixMicro(); got != want {
		t.Errorf("micros rounds %v to %d, want %d", x, got, want)
	}
	if got, want := ceilMicros(x), time.Date(2026, 3, 14, 8, 26, 53, 589794000, time.UTC).UnixMicro(); got != want {
		t.Errorf("ceilMicros(%v) = %d, want %d", x, got, want)
	}
	if whole := x.Truncate(time.Microsecond); ceilMicros(whole) != micros(whole) {
		t.Errorf("ceilMicros moved a whole microsecond")
	}
}

func TestStatements(t *testing.T) {
	got := statements("-- a comment; with a semicolon\nCREATE TABLE a (x Int8);\n\n  -- another\nCREATE TABLE b (y Int8)\n;\n")
	if len(got) != 2 || got[0] != "CREATE TABLE a (x Int8)" || got[1] != "CREATE TABLE b (y Int8)" {
		t.Errorf("statements = %q", got)
	}
}
