package postback

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestSampleSource: the sample of each activity gives every macro that activity has a
// value, so that a preview shows each one expanded, and leaves the caller's app alone.
func TestSampleSource(t *testing.T) {
	app := &unmogrowp.App{ID: "app-1", BundleID: "com.example", Platform: unmogrowp.PlatformIOS}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	eventOnly := []string{"event_name", "event_id", "event_unix_ts", "event_revenue", "event_currency", "event_data_json"}
	for _, kind := range unmogrowp.Triggers {
		src := SampleSource(app, kind, "net", now)
		src.DeliveryID = "d"
		for _, m := range unmogrowp.PostbackMacros {
			absent := slices.Contains([]string{"gaid", "android_id"}, m) || // an iOS device's
				(kind != unmogrowp.TriggerEvent && slices.Contains(eventOnly, m)) ||
				(kind != unmogrowp.TriggerRejectedInstall && strings.HasPrefix(m, "reject_reason"))
			if got := src.Value(m); (got == "") != absent {
				t.Errorf("%s: {%s} = %q", kind, m, got)
			}
		}
		if src.Value("activity_kind") != kind || src.Value("campaign") != SampleCampaign || src.Value("media_source") != "net" {
			t.Errorf("%s: activity_kind %q campaign %q media_source %q", kind, src.Value("activity_kind"), src.Value("campaign"), src.Value("media_source"))
		}
		src.App.ID = "changed"
	}
	if app.ID != "app-1" {
		t.Errorf("SampleSource shares the caller's app")
	}
	src := SampleSource(nil, "", "", now)
	if src.ActivityKind != unmogrowp.TriggerInstall || src.Value("gaid") == "" || src.Value("media_source") != "sample_network" || src.Value("reject_reason_value") != "" {
		t.Errorf("default sample: %+v", src)
	}
	if v := SampleSource(app, unmogrowp.TriggerRejectedInstall, "net", now).Value("reject_reason_value"); v != "3" {
		t.Errorf("rejected install's reject_reason_value = %q, want the CTIT 3", v)
	}
}
