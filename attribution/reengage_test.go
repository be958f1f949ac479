package attribution

import (
	"reflect"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// session returns the returning event of the re-engagement cases: a session of the base
// install's device at t0, with its GAID and fingerprint, no referrer.
func session() unmogrowp.Event {
	e := baseInstall()
	e.EventID, e.EventType, e.InstallReferrer = "sess-1", unmogrowp.EventSession, ""
	return e
}

func TestDormant(t *testing.T) {
	s := unmogrowp.DefaultAppSettings() // inactivity_days 7
	r := NewRules(s)
	for _, tc := range []struct {
		name string
		last time.Time
		want bool
	}{
		{"silent 8 days", t0.Add(-8 * day), true},
		{"silent exactly 7 days", t0.Add(-7 * day), false},
		{"silent 6 days", t0.Add(-6 * day), false},
		{"nothing known", time.Time{}, false},
		{"last event after this one", t0.Add(time.Hour), false},
	} {
		if got := r.Dormant(tc.last, t0); got != tc.want {
			t.Errorf("%s: Dormant = %v, want %v", tc.name, got, tc.want)
		}
	}
	s.InactivityDays = 0
	if off := NewRules(s); off.Dormant(t0.Add(-300*day), t0) || off.Reengages() {
		t.Error("inactivity_days 0: a device silent 300 days is dormant, want re-engagement off")
	}
}

func TestReengage(t *testing.T) {
	last := t0.Add(-10 * day)
	earlier := unmogrowp.Activity{LastEventTime: last, GAID: gaid}
	for _, tc := range []struct {
		name       string
		event      func(*unmogrowp.Event)
		earlier    unmogrowp.Activity
		settings   func(*unmogrowp.AppSettings)
		candidates []unmogrowp.Touchpoint
		want       string // the winning touchpoint, "" for no re-engagement
		match      string
	}{
		{name: "a device id click re-engages", candidates: tps(click("c1", time.Hour, byDevice)), want: "c1", match: deviceID},
		{name: "the newest click of the best level wins",
			candidates: tps(click("old", 3*day, byDevice), click("new", 2*time.Hour, byDevice), click("fp", time.Hour, byFP)),
			want:       "new", match: deviceID},
		{name: "a fingerprint click re-engages", candidates: tps(click("fp", time.Hour, byFP)), want: "fp", match: fingerpr},
		{name: "a referrer click re-engages", event: func(e *unmogrowp.Event) { e.InstallReferrer = "click_id=ref" },
			candidates: tps(click("ref", time.Hour)), want: "ref", match: referrer},
		{name: "an impression does not", candidates: tps(impression("i1", time.Hour, byDevice))},
		{name: "a click before the previous event does not", candidates: tps(click("c1", 11*day, byDevice))},
		{name: "a click out of the click window does not",
			settings:   func(s *unmogrowp.AppSettings) { s.ClickLookbackDays = 1 },
			candidates: tps(click("c1", 2*day, byDevice))},
		{name: "a link's own window counts",
			settings:   func(s *unmogrowp.AppSettings) { s.ClickLookbackDays = 1 },
			candidates: tps(click("c1", 2*day, byDevice, func(tp *unmogrowp.Touchpoint) { tp.LinkID = "long" })),
			want:       "c1", match: deviceID},
		{name: "a click after the event does not", candidates: tps(click("c1", -time.Hour, byDevice))},
		{name: "an invalid click does not", candidates: tps(click("c1", 2*time.Second, byDevice))},
		{name: "another device's click does not", candidates: tps(click("c1", time.Hour, withGAID("11111111-2222-3333-4444-555555555555")))},
		{name: "an event without ids matches the ids of earlier events",
			event:   func(e *unmogrowp.Event) { e.GAID, e.IP = "", "" },
			earlier: earlier, candidates: tps(click("c1", time.Hour, byDevice)), want: "c1", match: deviceID},
		{name: "an event with ids does not fall back",
			event:   func(e *unmogrowp.Event) { e.GAID, e.IP = "38400000-8cf0-11bd-b23e-10b96e40ffff", "" },
			earlier: earlier, candidates: tps(click("c1", time.Hour, byDevice))},
		{name: "the device's own device id", event: func(e *unmogrowp.Event) { e.GAID, e.IP = "", "" },
			candidates: tps(click("c1", time.Hour, withDevice("dev-1"))), want: "c1", match: deviceID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := unmogrowp.DefaultAppSettings()
			if tc.settings != nil {
				tc.settings(&s)
			}
			e := session()
			if tc.event != nil {
				tc.event(&e)
			}
			r := NewRules(s, &unmogrowp.Link{ID: "long", ClickLookbackDays: 7})
			a, ok := r.Reengage(&e, tc.candidates, last, tc.earlier)
			refs, fps := make([]*unmogrowp.Touchpoint, len(tc.candidates)), make([]Fingerprint, len(tc.candidates))
			for i := range tc.candidates {
				refs[i], fps[i] = &tc.candidates[i], TouchpointFingerprint(&tc.candidates[i])
			}
			if b, okb := r.ReengageRefs(&e, refs, fps, last, tc.earlier); okb != ok || !reflect.DeepEqual(a, b) {
				t.Fatalf("ReengageRefs with the fingerprints: %v %+v, Reengage: %v %+v", okb, b, ok, a)
			}
			if !ok {
				if tc.want != "" {
					t.Fatalf("no re-engagement, want %s", tc.want)
				}
				return
			}
			if tc.want == "" {
				t.Fatalf("re-engaged to %s, want none", a.TouchpointID)
			}
			if a.TouchpointID != tc.want || a.MatchType != tc.match || !a.Attributed {
				t.Fatalf("re-engaged to %s/%s, want %s/%s", a.TouchpointID, a.MatchType, tc.want, tc.match)
			}
			if !a.IsReattribution || a.IsReinstall || a.ReattributionKind != unmogrowp.ReattributionReengagement {
				t.Fatalf("kind: is_reattribution %v is_reinstall %v kind %q", a.IsReattribution, a.IsReinstall, a.ReattributionKind)
			}
			if a.InstallEventID != e.EventID || !a.InstallTime.Equal(e.Timestamp) || a.DeviceID != e.DeviceID {
				t.Fatalf("the decision is not the event's: %+v", a)
			}
		})
	}
}

func TestReengageOpen(t *testing.T) {
	open := click("open", 0, withDevice("dev-1"), func(tp *unmogrowp.Touchpoint) { tp.Opened = true })
	r := NewRules(unmogrowp.DefaultAppSettings())
	a, ok := r.ReengageOpen(&open)
	if !ok || a.TouchpointID != "open" || a.MatchType != deviceID || a.CTITSeconds != 0 ||
		a.InstallEventID != "open" || !a.InstallTime.Equal(open.Time) || a.ReattributionKind != unmogrowp.ReattributionReengagement {
		t.Fatalf("open: %v %+v", ok, a)
	}
	plain := open
	plain.Opened = false
	if _, ok := r.ReengageOpen(&plain); ok {
		t.Error("a click that is not an open re-engaged")
	}
	s := unmogrowp.DefaultAppSettings()
	s.IPBlocklist = []string{"192.0.2.0/24"}
	if _, ok := NewRules(s).ReengageOpen(&open); ok {
		t.Error("an open from a blocked address re-engaged")
	}
}

func TestEventSourceRollsBack(t *testing.T) {
	r := NewRules(unmogrowp.DefaultAppSettings()) // reattribution_window_days 90
	orig := unmogrowp.Install{Attribution: unmogrowp.Attribution{MediaSource: "first", Campaign: "c0", InstallTime: t0.Add(-100 * day)}}
	a, _ := r.Reengage(ptr(session()), tps(click("c1", time.Hour, byDevice)), t0.Add(-10*day), unmogrowp.Activity{})
	re := Reengaged(&orig, a)
	if re.OriginalMediaSource != "first" || re.OriginalCampaign != "c0" || !re.FirstInstallTime.Equal(orig.InstallTime) {
		t.Fatalf("Reengaged: %+v", re)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{t0, "src_c1"}, {t0.Add(90 * day), "src_c1"}, {t0.Add(90*day + time.Second), "first"},
	} {
		if ms, _ := r.EventSource(&re, tc.at); ms != tc.want {
			t.Errorf("event at %v: media source %s, want %s", tc.at, ms, tc.want)
		}
	}
	if ms, _ := r.EventSource(&orig, t0.Add(1000*day)); ms != "first" {
		t.Errorf("an install's events: %s, want its own source", ms)
	}
	// A second re-engagement keeps the first decision as the original.
	again := Reengaged(&re, a)
	if again.OriginalMediaSource != "first" {
		t.Errorf("a re-engagement after a re-engagement rolls back to %q, want first", again.OriginalMediaSource)
	}
}

func ptr[T any](v T) *T { return &v }
