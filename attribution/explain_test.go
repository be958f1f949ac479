package attribution

import (
	"reflect"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

func TestExplain(t *testing.T) {
	in := baseInstall()
	s := unmogrowp.DefaultAppSettings()
	s.MaxCTITHours = 72
	cands := tps(
		click("c_dev", time.Hour, byDevice),                   // wins at device_id
		click("c_dev_old", 2*time.Hour, byDevice),             // a newer one of its level won
		click("c_fp", 30*time.Minute, byFP),                   // a lower level
		click("tp_ref", 5*time.Second),                        // injection at the referrer level
		click("c_far", 8*day, byDevice),                       // outside its window
		click("c_late", -time.Minute, byDevice),               // after the install
		click("c_anom", 4*day, byDevice),                      // ctit_anomaly
		impression("i_dev", 2*time.Hour, byDevice),            // view-through, lower
		click("c_other", time.Hour),                           // matches nothing: not listed
		click("c_dev", time.Hour, byDevice),                   // a duplicate: listed once
		click("c_app", time.Hour, byDevice, ofApp("another")), // another app's: not listed
	)
	rules := NewRules(s)
	a := rules.Decide(&in, cands, nil)
	if a.TouchpointID != "c_dev" {
		t.Fatalf("decided %+v", a)
	}
	got := rules.Explain(&in, cands, nil, a)
	c := func(id, typ, level string, inWindow bool, ctit time.Duration, outcome, reason string) Candidate {
		return Candidate{TouchpointID: id, MediaSource: "src_" + id, TouchType: typ, Level: level, InWindow: inWindow,
			CTITSeconds: int64(ctit / time.Second), Outcome: outcome, Reason: reason}
	}
	click, imp := unmogrowp.TouchClick, unmogrowp.TouchImpression
	want := []Candidate{
		c("tp_ref", click, referrer, true, 5*time.Second, OutcomeRejected, injection),
		c("c_late", click, deviceID, false, -time.Minute, OutcomeLost, LostAfterInstall),
		c("c_dev", click, deviceID, true, time.Hour, OutcomeWon, ""),
		c("c_dev_old", click, deviceID, true, 2*time.Hour, OutcomeLost, LostNewerWon),
		c("c_anom", click, deviceID, true, 4*day, OutcomeRejected, ctitAnom),
		c("c_far", click, deviceID, false, 8*day, OutcomeLost, LostOutsideWindow),
		c("c_fp", click, fingerpr, true, 30*time.Minute, OutcomeLost, LostHigherLevel),
		c("i_dev", imp, viewDevice, true, 2*time.Hour, OutcomeLost, LostHigherLevel),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("explanation:\n got %+v\nwant %+v", got, want)
	}

	// A later install only looks at clicks newer than the previous one: an impression is
	// not a candidate, and c_dev_old (2 h, after the previous install) lost to c_dev.
	p := prior(30*day, 2*time.Hour+30*time.Minute)
	ra := rules.Decide(&in, cands, p)
	if !ra.IsReattribution || ra.TouchpointID != "c_dev" {
		t.Fatalf("re-attribution %+v", ra)
	}
	for _, e := range rules.Explain(&in, cands, p, ra) {
		if e.TouchpointID == "c_dev_old" && e.Reason != LostNewerWon || e.TouchpointID == "i_dev" && e.Reason != LostNotNewer {
			t.Errorf("%+v", e)
		}
	}
}
