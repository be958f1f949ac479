package ingest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// memDevices is an in-memory Devices: the real one is the pipeline's hot state.
type memDevices struct {
	mu   sync.Mutex
	byID map[[2]string]unmogrowp.Install
	err  error
}

func (d *memDevices) Device(_ context.Context, appID, deviceID string) (unmogrowp.Install, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.byID[[2]string{appID, deviceID}]
	return in, ok, d.err
}

func (d *memDevices) set(in unmogrowp.Install) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byID == nil {
		d.byID = map[[2]string]unmogrowp.Install{}
	}
	d.byID[[2]string{in.AppID, in.DeviceID}] = in
}

func sampleInstall(appID, deviceID string, install time.Time) unmogrowp.Install {
	return unmogrowp.Install{
		Partition: 0, Offset: 41, FirstInstallTime: install,
		Attribution: unmogrowp.Attribution{
			AppID: appID, DeviceID: deviceID, InstallEventID: "e-1", InstallTime: install,
			Attributed: true, MatchType: unmogrowp.MatchReferrer, TouchType: unmogrowp.TouchClick,
			TouchpointID: "0123456789abcdef0123456789abcdef", TouchTime: install.Add(-90 * time.Second),
			MediaSource: "facebook_ads", Campaign: "autumn", Adset: "as", Ad: "ad", SiteID: "s",
			Channel: "instagram", ClickID: "net-1", DeepLinkValue: "product/42", CTITSeconds: 90,
			Rejected: []unmogrowp.Rejection{{TouchpointID: "tp-0", MediaSource: "spam", Reason: unmogrowp.RejectBlockedIP}},
		},
	}
}

func TestAttributionLookup(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	get := func(path string, headers ...string) response {
		t.Helper()
		return f.do("GET", path, nil, headers...)
	}
	sdk := []string{"X-App-Key", f.app.SDKKey}
	wantError(t, get("/v1/attribution?device_id=dev-1"), 401, "X-App-Key")
	wantError(t, get("/v1/attribution?device_id=dev-1", "X-App-Key", "pk_nope"), 401, "Unknown app key")
	wantError(t, get("/v1/attribution", sdk...), 400, "device_id is required")
	wantError(t, get("/v1/attribution?device_id=", sdk...), 400, "device_id is required")
	r := get("/v1/attribution?device_id=dev-1", sdk...)
	wantError(t, r, 404, "no attribution yet")
	if r.Head.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control = %q", r.Head.Get("Cache-Control"))
	}

	install := time.Date(2025, 10, 21, 14, 0, 0, 0, time.UTC)
	f.devices.set(sampleInstall(f.app.ID, "dev-1", install))
	f.devices.set(sampleInstall(f.other.ID, "dev-2", install)) // another app's device
	wantError(t, get("/v1/attribution?device_id=dev-2", sdk...), 404, "no attribution yet")

	want := map[string]any{
		"app_id": f.app.ID, "device_id": "dev-1", "install_event_id": "e-1",
		"install_time": "2025-10-21T14:00:00Z", "attributed": true, "match_type": "referrer",
		"touch_type": "click", "touchpoint_id": "0123456789abcdef0123456789abcdef",
		"touch_time": "2025-10-21T13:58:30Z", "media_source": "facebook_ads", "campaign": "autumn",
		"adset": "as", "ad": "ad", "site_id": "s", "channel": "instagram", "click_id": "net-1",
		"deep_link_value": "product/42", "ctit_seconds": 90.0, "is_reinstall": false,
		"is_reattribution":    false,
		"reattribution_kind":  "",
		"rejected":            []any{map[string]any{"touchpoint_id": "tp-0", "media_source": "spam", "reason": "blocked_ip"}},
		"third_party_sharing": true,
	}
	for _, key := range [][]string{sdk, {"X-Api-Key", f.keys.ServerKey}} {
		r := get("/v1/attribution?device_id=dev-1", key...)
		if r.Code != 200 || r.Head.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %s", key[0], r.Code, r.Raw)
		}
		for k, v := range want {
			if !equalJSON(r.Body[k], v) {
				t.Errorf("%s: %s = %#v, want %#v", key[0], k, r.Body[k], v)
			}
		}
		for k := range r.Body {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: unexpected key %q (Partition, Offset or FirstInstallTime leaked?)", key[0], k)
			}
		}
	}

	// An organic install: the object keeps every key, touch_time "" and rejected [].
	f.devices.set(unmogrowp.Install{Attribution: unmogrowp.Attribution{
		AppID: f.app.ID, DeviceID: "dev-3", InstallEventID: "e-3", InstallTime: install,
		MatchType: unmogrowp.MatchOrganic, MediaSource: unmogrowp.MediaSourceOrganic,
	}})
	r = get("/v1/attribution?device_id=dev-3", sdk...)
	if r.Code != 200 || r.Body["attributed"] != false || r.Body["touch_time"] != "" || r.Body["media_source"] != "organic" || !equalJSON(r.Body["rejected"], []any{}) || len(r.Body) != len(want) {
		t.Fatalf("organic: %d %s", r.Code, r.Raw)
	}

	// dev-1 said third_party_sharing false, then (later in the log) true: the object shows
	// the latest statement.
	if err := f.meta.SetConsents(context.Background(), []unmogrowp.Consent{{AppID: f.app.ID, DeviceID: "dev-1", Offset: 50}}); err != nil {
		t.Fatal(err)
	}
	if r := get("/v1/attribution?device_id=dev-1", sdk...); r.Code != 200 || r.Body["third_party_sharing"] != false {
		t.Fatalf("after a statement of false: %d %s", r.Code, r.Raw)
	}
	if err := f.meta.SetConsents(context.Background(), []unmogrowp.Consent{{AppID: f.app.ID, DeviceID: "dev-1", Offset: 60, Sharing: true}}); err != nil {
		t.Fatal(err)
	}
	if r := get("/v1/attribution?device_id=dev-1", sdk...); r.Code != 200 || r.Body["third_party_sharing"] != true {
		t.Fatalf("after a later statement of true: %d %s", r.Code, r.Raw)
	}

	f.devices.err = errors.New("hot state down")
	wantError(t, get("/v1/attribution?device_id=dev-1", sdk...), 503, "retry later")
}

func TestAttributionSignature(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *unmogrowp.AppSettings) { s.RequireSignature = true })
	f.devices.set(sampleInstall(f.app.ID, "dev-1", f.now.Add(-time.Hour)))
	ts := strconv.FormatInt(f.now.Unix(), 10)
	get := func(headers ...string) response {
		t.Helper()
		return f.do("GET", "/v1/attribution?device_id=dev-1", nil, append([]string{"X-App-Key", f.app.SDKKey}, headers...)...)
	}
	wantError(t, get(), 401, "X-Signature")
	wantError(t, get("X-Timestamp", ts, "X-Signature", Sign(f.app.SigningSecret, f.now.Unix(), []byte("device_id=dev-1"))), 401, "does not match")
	wantError(t, get("X-Timestamp", ts, "X-Signature", Sign("ss_wrong", f.now.Unix(), nil)), 401, "does not match")
	stale := f.now.Unix() - 301
	wantError(t, get("X-Timestamp", strconv.FormatInt(stale, 10), "X-Signature", Sign(f.app.SigningSecret, stale, nil)), 401, "300 seconds")
	// Signed over the empty body: "<X-Timestamp>.".
	if r := get("X-Timestamp", ts, "X-Signature", Sign(f.app.SigningSecret, f.now.Unix(), nil)); r.Code != 200 || r.Body["deep_link_value"] != "product/42" {
		t.Fatalf("signed: %d %s", r.Code, r.Raw)
	}
	// The server key is a secret already: no signature needed.
	if r := f.do("GET", "/v1/attribution?device_id=dev-1", nil, "X-Api-Key", f.keys.ServerKey); r.Code != 200 {
		t.Fatalf("server key: %d %s", r.Code, r.Raw)
	}
}

// equalJSON compares two values decoded from JSON.
func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, equalJSON)
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if !equalJSON(v, b[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}
