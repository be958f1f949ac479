package unmogrowp

import (
	"testing"
	"time"
)

// TestZoneShifts: one shift for a zone without transitions in range, one more after each
// daylight saving change, the first starting at from.
func TestZoneShifts(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	got := ZoneShifts(la, from, to)
	want := []ZoneShift{
		{from, -8 * time.Hour},
		{time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC), -7 * time.Hour},
		{time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), -8 * time.Hour},
	}
	if len(got) != len(want) {
		t.Fatalf("ZoneShifts = %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Offset != want[i].Offset {
			t.Errorf("shift %d = %v, want %v", i, got[i], want[i])
		}
	}
	if got := ZoneShifts(nil, from, to); len(got) != 1 || got[0].Offset != 0 {
		t.Errorf("UTC: %v, want one shift of 0", got)
	}
}

// TestLocalDaysAndEnded: whole local days around a 23-hour day, and when a day has ended.
func TestLocalDaysAndEnded(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	from, to := LocalDays(time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 12, 0, 0, 1, time.UTC), la)
	if want := time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC); !from.Equal(want) {
		t.Errorf("from = %v, want %v (midnight PST)", from, want)
	}
	if want := time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC); !to.Equal(want) {
		t.Errorf("to = %v, want %v (midnight PDT: 23 hours later)", to, want)
	}
	day := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	if Ended(day, 0, la, time.Date(2026, 3, 9, 6, 59, 0, 0, time.UTC)) || !Ended(day, 0, la, time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC)) {
		t.Error("03-08 in Los Angeles ends at 07:00 UTC on 03-09")
	}
}
