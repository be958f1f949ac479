package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

// TestExplain stores a decision the engine made and asks for its explanation: the
// decision as stored, and every candidate with its level, window, CTIT and outcome.
func TestExplain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	gaid := "38400000-8cf0-11bd-b23e-10b96e40000d"
	tp := func(id, src string, age time.Duration, ip string, off int64) unmogrowp.Touchpoint {
		return unmogrowp.Touchpoint{ID: id, AppID: f.app.ID, Type: unmogrowp.TouchClick, MediaSource: src,
			Time: at.Add(-age), ReceivedAt: at.Add(-age), GAID: gaid, IP: ip, Offset: off}
	}
	// A link whose click window (10 days) is longer than the app's (7): its touchpoint of
	// 8 days ago was in its window, as the pipeline judges it.
	link := &unmogrowp.Link{AppID: f.app.ID, MediaSource: "gg", ClickLookbackDays: 10}
	if err := f.meta.CreateLink(ctx, link); err != nil {
		t.Fatal(err)
	}
	linked := tp("tp_link", "gg", 8*24*time.Hour, "198.51.100.1", 6)
	linked.LinkID = link.ID
	tps := []unmogrowp.Touchpoint{
		linked,
		tp("tp_win", "fb", time.Hour, "198.51.100.1", 1),
		tp("tp_dc", "shady", 30*time.Minute, "192.0.2.9", 2), // a datacenter's address
		tp("tp_fast", "shady", 3*time.Second, "198.51.100.1", 3),
		tp("tp_old", "gg", 7*24*time.Hour+12*time.Hour, "198.51.100.1", 4),
		{ID: "tp_other", AppID: f.app.ID, Type: unmogrowp.TouchClick, MediaSource: "x", Time: at.Add(-time.Hour), GAID: "other", Offset: 5},
	}
	install := unmogrowp.Event{EventID: "ev-i", AppID: f.app.ID, EventType: unmogrowp.EventInstall, DeviceID: "dev-x",
		Timestamp: at, ReceivedAt: at, GAID: gaid, Platform: "android", Offset: 10}
	rules := attribution.NewRules(f.app.Settings, link).WithDatacenters(unmogrowp.NewIPRanges(nil))
	a := rules.Decide(&install, tps, nil)
	if a.TouchpointID != "tp_dc" {
		t.Fatalf("without the datacenter list tp_dc wins; decided %+v", a)
	}
	// The stored decision is the one made with the list loaded: tp_dc rejected.
	a.Rejected = append([]unmogrowp.Rejection{{TouchpointID: "tp_dc", MediaSource: "shady", Reason: unmogrowp.RejectDatacenterIP}}, a.Rejected...)
	a.TouchpointID, a.MediaSource, a.TouchTime = "tp_win", "fb", at.Add(-time.Hour)
	err := f.store.Append(ctx, unmogrowp.Batch{Events: []unmogrowp.Event{install}, Touchpoints: tps,
		Installs: []unmogrowp.Install{{Offset: 10, FirstInstallTime: at, Attribution: a}}})
	if err != nil {
		t.Fatal(err)
	}
	code, body := f.raw("GET", "/api/apps/"+f.app.ID+"/attribution/dev-x/explain", f.key, "")
	if code != 200 {
		t.Fatalf("explain: %d %s", code, body)
	}
	var got struct {
		Decision   map[string]any          `json:"decision"`
		Candidates []attribution.Candidate `json:"candidates"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Decision["touchpoint_id"] != "tp_win" || got.Decision["install_event_id"] != "ev-i" {
		t.Errorf("decision %v", got.Decision)
	}
	want := []attribution.Candidate{
		{TouchpointID: "tp_fast", MediaSource: "shady", TouchType: "click", Level: "device_id", InWindow: true, CTITSeconds: 3, Outcome: "rejected", Reason: "click_injection"},
		{TouchpointID: "tp_dc", MediaSource: "shady", TouchType: "click", Level: "device_id", InWindow: true, CTITSeconds: 1800, Outcome: "rejected", Reason: "datacenter_ip"},
		{TouchpointID: "tp_win", MediaSource: "fb", TouchType: "click", Level: "device_id", InWindow: true, CTITSeconds: 3600, Outcome: "won"},
		{TouchpointID: "tp_old", MediaSource: "gg", TouchType: "click", Level: "device_id", InWindow: false, CTITSeconds: 7*86400 + 12*3600, Outcome: "lost", Reason: "outside_window"},
		{TouchpointID: "tp_link", MediaSource: "gg", TouchType: "click", Level: "device_id", InWindow: true, CTITSeconds: 8 * 86400, Outcome: "lost", Reason: "newer_touch_won"},
	}
	if len(got.Candidates) != len(want) {
		t.Fatalf("candidates %+v, want %+v", got.Candidates, want)
	}
	for i := range want {
		if got.Candidates[i] != want[i] {
			t.Errorf("candidate %d = %+v, want %+v", i, got.Candidates[i], want[i])
		}
	}
	if code, _ := f.do("GET", "/api/apps/"+f.app.ID+"/attribution/nobody/explain", f.key, ""); code != 404 {
		t.Errorf("unknown device: %d, want 404", code)
	}
	if code, _ := f.do("GET", "/api/apps/"+f.other.ID+"/attribution/dev-x/explain", f.key, ""); code != 404 {
		t.Errorf("another app's key: %d, want 404", code)
	}
}
