// Package hotstatetest is the conformance suite of unmogrowp.HotState: every
// implementation (package inmem, package redis) runs Run from its own tests, and their
// benchmarks share RealisticTouchpoints and RealisticInstalls.
package hotstatetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

// Run runs the suite, its subtests in parallel. open must return a fresh, empty hot state,
// isolated from every other one, for each call, reading the
// real clock, with a retention of at least 7 days (the suite's touch times are at most two
// days old); Run closes it when the subtest ends. Times are compared at microsecond
// precision, the precision of the log and the analytics store.
func Run(t *testing.T, open func(t *testing.T) unmogrowp.HotState) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h unmogrowp.HotState)
	}{
		{"CandidatesByReferrer", testByReferrer},
		{"CandidatesByDeviceID", testByDeviceID},
		{"CandidatesByFingerprint", testByFingerprint},
		{"CandidatesByAnyKey", testByAnyKey},
		{"CandidatesSelective", testSelective},
		{"CandidatesBoundedPerKey", testBoundedPerKey},
		{"AppIsolation", testAppIsolation},
		{"TouchpointRoundTrip", testTouchpointRoundTrip},
		{"InstallRoundTrip", testInstallRoundTrip},
		{"CandidatesAreCopies", testCandidatesCopies},
		{"DeviceIsACopy", testDeviceCopy},
		{"ApplyIdempotent", testApplyIdempotent},
		{"LatestDevice", testLatestDevice},
		{"UnknownDevice", testUnknownDevice},
		{"Empty", testEmpty},
		{"CanceledContext", testCanceled},
		{"ConcurrentReadersDuringApply", testConcurrent},
		{"Watermarks", testWatermarks},
		{"Forget", testForget},
		{"Activity", testActivity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // a hot state each
			h := open(t)
			t.Cleanup(func() {
				if err := h.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, h)
		})
	}
}

// User agents of the devices in the fixtures.
const (
	uaIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
	uaPixel  = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36"
)

// ago returns the time d before the suite's reference time, at microsecond precision.
// The reference is taken once per process: every subtest's touch times are recent.
func ago(d time.Duration) time.Time { return reference.Add(-d) }

var reference = time.Now().UTC().Truncate(time.Second)

var ctx = context.Background()

// click returns a click of app with id, touched an hour ago, with no device id, IP or
// user agent.
func click(app, id string) unmogrowp.Touchpoint {
	return unmogrowp.Touchpoint{
		Partition: 0, Offset: 1, ID: id, AppID: app, Type: unmogrowp.TouchClick,
		MediaSource: "facebook_ads", Time: ago(time.Hour), ReceivedAt: ago(time.Hour - time.Second),
	}
}

func apply(t *testing.T, h unmogrowp.HotState, tps []unmogrowp.Touchpoint, ins []unmogrowp.Install) {
	t.Helper()
	if err := h.Apply(ctx, tps, ins); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func candidates(t *testing.T, h unmogrowp.HotState, app string, keys []string) []unmogrowp.Touchpoint {
	t.Helper()
	got, err := h.Candidates(ctx, app, keys)
	if err != nil {
		t.Fatalf("Candidates(%q, %q): %v", app, keys, err)
	}
	return got
}

// installKeys returns the keys the pipeline looks an install up by.
func installKeys(in unmogrowp.Event) []string { return attribution.CandidateKeys(&in).Strings() }

// ids returns the distinct touchpoint ids, sorted.
func ids(tps []unmogrowp.Touchpoint) []string {
	out := make([]string, 0, len(tps))
	for _, tp := range tps {
		out = append(out, tp.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// wantFound fails unless the candidates of (app, keys) include every id in want.
func wantFound(t *testing.T, h unmogrowp.HotState, app string, keys []string, want ...string) []unmogrowp.Touchpoint {
	t.Helper()
	got := candidates(t, h, app, keys)
	have := ids(got)
	for _, id := range want {
		if !slices.Contains(have, id) {
			t.Errorf("Candidates(%q, %q) = %q, missing %q", app, keys, have, id)
		}
	}
	for _, tp := range got {
		if tp.AppID != app {
			t.Errorf("Candidates(%q, ...) returned %q of app %q", app, tp.ID, tp.AppID)
		}
	}
	return got
}

func testByReferrer(t *testing.T, h unmogrowp.HotState) {
	apply(t, h, []unmogrowp.Touchpoint{click("app1", "tp-ref-1"), click("app1", "tp-ref-2")}, nil)
	install := unmogrowp.Event{AppID: "app1", InstallReferrer: "utm_source=x&click_id=tp-ref-1"}
	wantFound(t, h, "app1", installKeys(install), "tp-ref-1")
	wantFound(t, h, "app1", []string{"tp:tp-ref-2"}, "tp-ref-2")
	// A referrer encoded once more, as some stores pass it on.
	install.InstallReferrer = "utm_source%3Dx%26click_id%3Dtp-ref-2"
	wantFound(t, h, "app1", installKeys(install), "tp-ref-2")
}

func testByDeviceID(t *testing.T, h unmogrowp.HotState) {
	// Each touchpoint has one device id; the install sends it in another form where the
	// kind allows (advertising ids and android_id without regard to case, padded).
	tests := []struct {
		name    string
		tp      func(*unmogrowp.Touchpoint)
		install unmogrowp.Event
	}{
		{"idfa", func(tp *unmogrowp.Touchpoint) { tp.IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC" },
			unmogrowp.Event{IDFA: "6d92078a-8246-4ba4-ae5b-76104861e7dc"}},
		{"gaid", func(tp *unmogrowp.Touchpoint) { tp.GAID = "38400000-8cf0-11bd-b23e-10b96e40000d" },
			unmogrowp.Event{GAID: " 38400000-8CF0-11BD-B23E-10B96E40000D "}},
		{"android_id", func(tp *unmogrowp.Touchpoint) { tp.AndroidID = "9774D56D682E549C" },
			unmogrowp.Event{AndroidID: "9774d56d682e549c"}},
		{"device_id", func(tp *unmogrowp.Touchpoint) { tp.DeviceID = "Device-AbC-123" },
			unmogrowp.Event{DeviceID: "Device-AbC-123"}},
	}
	var tps []unmogrowp.Touchpoint
	for _, tt := range tests {
		tp := click("app1", "tp-"+tt.name)
		tt.tp(&tp)
		imp := tp
		imp.ID, imp.Type, imp.Time = "imp-"+tt.name, unmogrowp.TouchImpression, ago(2*time.Hour)
		tps = append(tps, tp, imp)
	}
	apply(t, h, tps, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.install
			in.AppID = "app1"
			wantFound(t, h, "app1", installKeys(in), "tp-"+tt.name, "imp-"+tt.name)
		})
	}
}

func testByFingerprint(t *testing.T, h unmogrowp.HotState) {
	v4 := click("app1", "tp-fp-v4")
	v4.IP, v4.UserAgent = "203.0.113.7", uaIPhone
	v6 := click("app1", "tp-fp-v6")
	v6.IP, v6.UserAgent = "2001:db8:1:2:ffff:1:2:3", uaPixel
	mapped := click("app1", "tp-fp-mapped")
	mapped.IP, mapped.UserAgent = "::ffff:198.51.100.9", uaIPhone
	apply(t, h, []unmogrowp.Touchpoint{v4, v6, mapped}, nil)

	wantFound(t, h, "app1", installKeys(unmogrowp.Event{AppID: "app1", IP: "203.0.113.7",
		Platform: unmogrowp.PlatformIOS, OSVersion: "17.1"}), "tp-fp-v4")
	// Another address of the same IPv6 /64.
	wantFound(t, h, "app1", installKeys(unmogrowp.Event{AppID: "app1", IP: "2001:db8:1:2::aaaa",
		Platform: unmogrowp.PlatformAndroid, OSVersion: "14", DeviceModel: "Pixel 8"}), "tp-fp-v6")
	// An IPv4-mapped address is its IPv4 address.
	wantFound(t, h, "app1", installKeys(unmogrowp.Event{AppID: "app1", IP: "198.51.100.9",
		UserAgent: uaIPhone}), "tp-fp-mapped")
	// The key as attribution spells it.
	fp := attribution.TouchpointFingerprint(&v6).Key()
	wantFound(t, h, "app1", []string{"fp:" + fp}, "tp-fp-v6")
}

func testByAnyKey(t *testing.T, h unmogrowp.HotState) {
	tp := click("app1", "tp-all")
	tp.GAID, tp.IP, tp.UserAgent = "38400000-8cf0-11bd-b23e-10b96e40000d", "198.51.100.1", uaPixel
	apply(t, h, []unmogrowp.Touchpoint{tp}, nil)
	for _, keys := range [][]string{
		{"tp:tp-all"},
		{"gaid:38400000-8cf0-11bd-b23e-10b96e40000d"},
		{"fp:198.51.100.1|android|14.0"},
		{"tp:nothing", "idfa:nothing", "fp:198.51.100.1|android|14.0"},
		attribution.TouchpointKeys(&tp).Strings(),
	} {
		wantFound(t, h, "app1", keys, "tp-all")
	}
}

// testSelective checks that a lookup returns about what matches, not every touchpoint of
// the app: the contract allows a superset, but an index that returns everything would
// make attribution as slow as a scan.
// testBoundedPerKey stores more than MaxCandidatesPerKey clicks of one device, a minute
// apart and in touch-time order over several batches, and a click of another key: an
// install of the device gets the MaxCandidatesPerKey most recent, and still the other
// key's.
func testBoundedPerKey(t *testing.T, h unmogrowp.HotState) {
	const n = unmogrowp.MaxCandidatesPerKey + 30
	const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"
	var tps []unmogrowp.Touchpoint
	for i := range n {
		tp := click("app1", fmt.Sprintf("tp-spam-%03d", i))
		tp.GAID = gaid
		tp.Time = ago(time.Duration(n-i) * time.Minute) // the last one is the most recent
		tp.ReceivedAt = tp.Time
		tps = append(tps, tp)
	}
	for len(tps) > 0 {
		k := min(len(tps), 40)
		apply(t, h, tps[:k], nil)
		tps = tps[k:]
	}
	other := click("app1", "tp-other")
	other.AndroidID = "9774d56d682e549c"
	apply(t, h, []unmogrowp.Touchpoint{other}, nil)

	install := unmogrowp.Event{AppID: "app1", GAID: gaid, AndroidID: "9774D56D682E549C"}
	got := ids(wantFound(t, h, "app1", installKeys(install), "tp-other"))
	var want []string
	for i := n - unmogrowp.MaxCandidatesPerKey; i < n; i++ {
		want = append(want, fmt.Sprintf("tp-spam-%03d", i))
	}
	want = append(want, "tp-other")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Candidates returned %d touchpoints %q..., want the %d most recent of the device and the other key's (%q...)",
			len(got), got[:min(3, len(got))], unmogrowp.MaxCandidatesPerKey, want[:3])
	}
}

func testSelective(t *testing.T, h unmogrowp.HotState) {
	var tps []unmogrowp.Touchpoint
	for i := range 500 {
		tp := click("app1", fmt.Sprintf("tp-%03d", i))
		tp.GAID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		tp.IP, tp.UserAgent = fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), uaPixel
		tps = append(tps, tp)
	}
	apply(t, h, tps, nil)
	got := wantFound(t, h, "app1", []string{"gaid:00000000-0000-4000-8000-000000000042", "fp:10.0.0.42|android|14.0"}, "tp-041")
	if len(got) > 10 {
		t.Errorf("a lookup by one device returned %d of 500 touchpoints", len(got))
	}
}

func testAppIsolation(t *testing.T, h unmogrowp.HotState) {
	// The same touchpoint, keys and all, in apps whose ids prefix each other.
	var tps []unmogrowp.Touchpoint
	for _, app := range []string{"app1", "app10", "app"} {
		tp := click(app, "tp-shared")
		tp.IDFA, tp.IP, tp.UserAgent = "6D92078A-8246-4BA4-AE5B-76104861E7DC", "203.0.113.7", uaIPhone
		tp.Campaign = "campaign of " + app
		tps = append(tps, tp)
	}
	apply(t, h, tps, nil)
	keys := attribution.TouchpointKeys(&tps[0]).Strings()
	for _, app := range []string{"app1", "app10", "app"} {
		got := wantFound(t, h, app, keys, "tp-shared")
		for _, tp := range got {
			if tp.Campaign != "campaign of "+app {
				t.Errorf("app %q: got the touchpoint of %q", app, tp.Campaign)
			}
		}
	}
	if got := candidates(t, h, "app2", keys); len(got) != 0 {
		t.Errorf("an app without touchpoints got %d", len(got))
	}
}

// fullTouchpoint has every field set, in forms that test exact round trips: upper and
// mixed case, hex that is not all of one case, a non-canonical IPv6 address, non-ASCII.
func fullTouchpoint(i int) unmogrowp.Touchpoint {
	return unmogrowp.Touchpoint{
		Partition:     3,
		Offset:        1<<40 + int64(i),
		ID:            fmt.Sprintf("0f1e2d3c4b5a69788796a5b4c3d2e1f%d", i%10),
		AppID:         "app_full",
		Type:          unmogrowp.TouchImpression,
		LinkID:        "lnk_AbCdEf12",
		MediaSource:   "googleadwords_int",
		Campaign:      "Été 2026 — ünïcode ✓",
		Adset:         "adset-123",
		Ad:            "ad 7",
		SiteID:        "ABCDEF0123456789",
		Channel:       "YouTube",
		ClickID:       fmt.Sprintf("Cj0KCQiA-gclid_%d_aBcD", i),
		Time:          ago(26*time.Hour + 123456*time.Microsecond),
		ReceivedAt:    ago(26*time.Hour - 1500*time.Millisecond + 7*time.Microsecond),
		IP:            "2001:DB8:0:0:0:0:0:1",
		UserAgent:     uaIPhone + " [FBAN/FBIOS;FBDV/iPhone14,2]",
		IDFA:          "6D92078A-8246-4BA4-AE5B-76104861E7DC",
		GAID:          "38400000-8cf0-11bd-B23E-10b96e40000d",
		AndroidID:     "9774d56d682e549c",
		DeviceID:      fmt.Sprintf("device-%d", i),
		DeepLinkValue: "myapp://product/42?ref=x&y=%20",
		Sub:           [5]string{"s1", "0123456789ABCDEF", "deadbeef", "", "s5 with spaces"},
	}
}

// fullInstall has every field set, rejected touchpoints included.
func fullInstall(i int) unmogrowp.Install {
	return unmogrowp.Install{
		Partition: 2,
		Offset:    1<<33 + int64(i),
		Attribution: unmogrowp.Attribution{
			AppID:             "app_full",
			DeviceID:          fmt.Sprintf("599F9C00-92DC-4B5C-9464-7971F01F83%02d", i%100),
			InstallEventID:    fmt.Sprintf("evt-%d", i),
			InstallTime:       ago(time.Hour + 250*time.Microsecond),
			Attributed:        true,
			MatchType:         unmogrowp.MatchViewThroughFingerprint,
			TouchType:         unmogrowp.TouchImpression,
			TouchpointID:      "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
			TouchTime:         ago(25*time.Hour + 999*time.Microsecond),
			MediaSource:       "tiktok_int",
			Campaign:          "Été ✓",
			Adset:             "as",
			Ad:                "AD-9",
			SiteID:            "site 4",
			Channel:           "feed",
			ClickID:           "click-ABC",
			DeepLinkValue:     "myapp://x",
			CTITSeconds:       86399,
			IsReinstall:       true,
			IsReattribution:   true,
			ReattributionKind: unmogrowp.ReattributionReengagement,
			Rejected: []unmogrowp.Rejection{
				{TouchpointID: "tp-rej-1", MediaSource: "shady_int", Reason: unmogrowp.RejectClickInjection},
				{TouchpointID: "TP-REJ-2", MediaSource: "", Reason: unmogrowp.RejectBlockedIP},
			},
		},
		FirstInstallTime:    ago(400 * 24 * time.Hour),
		OriginalMediaSource: "googleadwords_int",
		OriginalCampaign:    "Été ✓ 2",
	}
}

// normalize returns tp as compared: times in UTC.
func normalize(tp unmogrowp.Touchpoint) unmogrowp.Touchpoint {
	tp.Time, tp.ReceivedAt = utc(tp.Time), utc(tp.ReceivedAt)
	return tp
}

func normalizeInstall(in unmogrowp.Install) unmogrowp.Install {
	in.InstallTime, in.TouchTime, in.FirstInstallTime = utc(in.InstallTime), utc(in.TouchTime), utc(in.FirstInstallTime)
	if len(in.Rejected) == 0 {
		in.Rejected = nil
	}
	return in
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func testTouchpointRoundTrip(t *testing.T, h unmogrowp.HotState) {
	full := fullTouchpoint(1)
	ipv4 := fullTouchpoint(2)
	ipv4.IP, ipv4.Type, ipv4.ReceivedAt = "203.0.113.200", unmogrowp.TouchClick, time.Time{}
	minimal := unmogrowp.Touchpoint{ID: "tp-minimal", AppID: "app_full", Type: unmogrowp.TouchClick,
		Time: ago(3 * time.Hour), DeviceID: "minimal-device"}
	long := fullTouchpoint(3)
	long.UserAgent = strings.Repeat("Mozilla/5.0 ", 250)
	long.Sub[3] = strings.Repeat("0123456789abcdef", 40) // long hex
	all := []unmogrowp.Touchpoint{full, ipv4, minimal, long}
	apply(t, h, all, nil)
	for _, want := range all {
		got := candidates(t, h, want.AppID, []string{"tp:" + want.ID})
		i := slices.IndexFunc(got, func(tp unmogrowp.Touchpoint) bool { return tp.ID == want.ID })
		if i < 0 {
			t.Errorf("touchpoint %q not found", want.ID)
			continue
		}
		if g, w := normalize(got[i]), normalize(want); !reflect.DeepEqual(g, w) {
			t.Errorf("touchpoint %q round trip:\n got %+v\nwant %+v", want.ID, g, w)
		}
	}
}

func testInstallRoundTrip(t *testing.T, h unmogrowp.HotState) {
	full := fullInstall(1)
	organic := unmogrowp.Install{Partition: 0, Offset: 5, Attribution: unmogrowp.Attribution{
		AppID: "app_full", DeviceID: "organic-device", InstallEventID: "evt-organic",
		InstallTime: ago(time.Minute), MatchType: unmogrowp.MatchOrganic,
		MediaSource: unmogrowp.MediaSourceOrganic, Rejected: []unmogrowp.Rejection{},
	}}
	organic.FirstInstallTime = organic.InstallTime
	bare := unmogrowp.Install{Attribution: unmogrowp.Attribution{AppID: "app_full", DeviceID: "bare-device"}}
	negative := fullInstall(2)
	negative.Partition, negative.Offset, negative.CTITSeconds = -1, -7, -3
	all := []unmogrowp.Install{full, organic, bare, negative}
	apply(t, h, nil, all)
	for _, want := range all {
		got, ok, err := h.Device(ctx, want.AppID, want.DeviceID)
		if err != nil || !ok {
			t.Errorf("Device(%q, %q) = %v, %v", want.AppID, want.DeviceID, ok, err)
			continue
		}
		if g, w := normalizeInstall(got), normalizeInstall(want); !reflect.DeepEqual(g, w) {
			t.Errorf("install of %q round trip:\n got %+v\nwant %+v", want.DeviceID, g, w)
		}
	}
}

func testCandidatesCopies(t *testing.T, h unmogrowp.HotState) {
	want := fullTouchpoint(1)
	apply(t, h, []unmogrowp.Touchpoint{want}, nil)
	keys := attribution.TouchpointKeys(&want).Strings()
	got := wantFound(t, h, want.AppID, keys, want.ID)
	for i := range got {
		tp := &got[i]
		tp.ID, tp.Campaign, tp.UserAgent, tp.IP, tp.GAID = "changed", "changed", "changed", "changed", "changed"
		tp.Sub[0], tp.Time, tp.Offset = "changed", time.Time{}, 0
	}
	got = wantFound(t, h, want.AppID, keys, want.ID)
	for _, tp := range got {
		if g, w := normalize(tp), normalize(want); !reflect.DeepEqual(g, w) {
			t.Errorf("after changing a returned touchpoint:\n got %+v\nwant %+v", g, w)
		}
	}
}

func testDeviceCopy(t *testing.T, h unmogrowp.HotState) {
	want := fullInstall(1)
	apply(t, h, nil, []unmogrowp.Install{want})
	got, _, _ := h.Device(ctx, want.AppID, want.DeviceID)
	got.Rejected[0].Reason, got.Rejected[1].TouchpointID = "changed", "changed"
	got.Campaign, got.InstallTime = "changed", time.Time{}
	// The caller's install is not kept either.
	in := fullInstall(2)
	apply(t, h, nil, []unmogrowp.Install{in})
	in.Rejected[0].MediaSource, in.Campaign = "changed", "changed"

	for _, w := range []unmogrowp.Install{want, fullInstall(2)} {
		got, ok, err := h.Device(ctx, w.AppID, w.DeviceID)
		if err != nil || !ok {
			t.Fatalf("Device: %v, %v", ok, err)
		}
		if g, w := normalizeInstall(got), normalizeInstall(w); !reflect.DeepEqual(g, w) {
			t.Errorf("after changing a returned or applied install:\n got %+v\nwant %+v", g, w)
		}
	}
}

func testApplyIdempotent(t *testing.T, h unmogrowp.HotState) {
	var tps []unmogrowp.Touchpoint
	for i := range 20 {
		tp := click("app1", fmt.Sprintf("tp-%02d", i))
		tp.GAID, tp.IP, tp.UserAgent = "38400000-8cf0-11bd-b23e-10b96e40000d", "198.51.100.1", uaPixel
		tp.Offset = int64(i)
		tps = append(tps, tp)
	}
	in := fullInstall(1)
	older := in
	older.Offset--
	older.Campaign = "older"
	keys := attribution.TouchpointKeys(&tps[0]).Strings()

	apply(t, h, tps, []unmogrowp.Install{older, in})
	first := candidates(t, h, "app1", keys)
	if got := ids(first); len(got) != 20 {
		t.Fatalf("after the first Apply: %d distinct touchpoints, want 20", len(got))
	}
	// Again, whole; the touchpoints twice in one batch; then a replay of the older install.
	apply(t, h, tps, []unmogrowp.Install{older, in})
	apply(t, h, append(slices.Clone(tps[10:]), tps...), []unmogrowp.Install{in, in})
	apply(t, h, tps[:5], []unmogrowp.Install{older})

	again := candidates(t, h, "app1", keys)
	if len(again) != len(first) || !reflect.DeepEqual(ids(again), ids(first)) {
		t.Errorf("after applying again: %d touchpoints %q, want %d %q", len(again), ids(again), len(first), ids(first))
	}
	got, ok, err := h.Device(ctx, in.AppID, in.DeviceID)
	if err != nil || !ok {
		t.Fatalf("Device: %v, %v", ok, err)
	}
	if g, w := normalizeInstall(got), normalizeInstall(in); !reflect.DeepEqual(g, w) {
		t.Errorf("after replaying an older install:\n got %+v\nwant %+v", g, w)
	}
}

func testLatestDevice(t *testing.T, h unmogrowp.HotState) {
	install := func(app, device string, offset int64, campaign string) unmogrowp.Install {
		in := fullInstall(0)
		in.AppID, in.DeviceID, in.Offset, in.Campaign = app, device, offset, campaign
		in.InstallTime = ago(time.Duration(100-offset) * time.Minute)
		return in
	}
	check := func(app, device, campaign string) {
		t.Helper()
		got, ok, err := h.Device(ctx, app, device)
		if err != nil || !ok {
			t.Fatalf("Device(%q, %q) = %v, %v", app, device, ok, err)
		}
		if got.Campaign != campaign {
			t.Errorf("Device(%q, %q) has campaign %q, want %q", app, device, got.Campaign, campaign)
		}
	}
	apply(t, h, nil, []unmogrowp.Install{
		install("app1", "dev-a", 1, "a1"),
		install("app1", "dev-b", 2, "b1"),
		install("app1", "dev-a", 3, "a2"),
		install("app2", "dev-a", 4, "other app"),
		install("app1", "dev-a", 5, "a3"),
	})
	check("app1", "dev-a", "a3")
	check("app1", "dev-b", "b1")
	check("app2", "dev-a", "other app")

	apply(t, h, nil, []unmogrowp.Install{install("app1", "dev-a", 6, "a4")})
	apply(t, h, nil, []unmogrowp.Install{install("app1", "dev-b", 7, "b2"), install("app1", "dev-a", 8, "a5")})
	check("app1", "dev-a", "a5")
	check("app1", "dev-b", "b2")
	check("app2", "dev-a", "other app")

	// Many devices, each with several installs across batches.
	const devices = 300
	for round := range 3 {
		var batch []unmogrowp.Install
		for d := range devices {
			batch = append(batch, install("app3", fmt.Sprintf("dev-%d", d), int64(100+round*devices+d), fmt.Sprintf("round %d", round)))
		}
		apply(t, h, nil, batch)
	}
	for d := range devices {
		check("app3", fmt.Sprintf("dev-%d", d), "round 2")
	}
}

func testUnknownDevice(t *testing.T, h unmogrowp.HotState) {
	in := fullInstall(1)
	apply(t, h, nil, []unmogrowp.Install{in})
	for _, q := range [][2]string{
		{"app_full", "no-such-device"},
		{"other_app", in.DeviceID},
		{"app_full", ""},
		{"", in.DeviceID},
	} {
		if got, ok, err := h.Device(ctx, q[0], q[1]); err != nil || ok {
			t.Errorf("Device(%q, %q) = %+v, %v, %v; want false", q[0], q[1], got, ok, err)
		}
	}
}

func testEmpty(t *testing.T, h unmogrowp.HotState) {
	if got := candidates(t, h, "app1", []string{"tp:x", "gaid:y"}); len(got) != 0 {
		t.Errorf("an empty hot state returned %d touchpoints", len(got))
	}
	if got := candidates(t, h, "app1", nil); len(got) != 0 {
		t.Errorf("no keys returned %d touchpoints", len(got))
	}
	apply(t, h, nil, nil)
	if _, ok, err := h.Device(ctx, "app1", "dev"); err != nil || ok {
		t.Errorf("Device on an empty hot state = %v, %v", ok, err)
	}
}

func testCanceled(t *testing.T, h unmogrowp.HotState) {
	in := fullInstall(1)
	apply(t, h, []unmogrowp.Touchpoint{click("app1", "tp-1")}, []unmogrowp.Install{in})
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Candidates(canceled, "app1", []string{"tp:tp-1"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Candidates with a canceled context: err = %v", err)
	}
	if _, _, err := h.Device(canceled, in.AppID, in.DeviceID); !errors.Is(err, context.Canceled) {
		t.Errorf("Device with a canceled context: err = %v", err)
	}
	later := fullInstall(1)
	later.Offset++
	later.Campaign = "later"
	err := h.Apply(canceled, []unmogrowp.Touchpoint{click("app1", "tp-2")}, []unmogrowp.Install{later})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a canceled context: err = %v", err)
	}
	// Still usable.
	wantFound(t, h, "app1", []string{"tp:tp-1"}, "tp-1")
	apply(t, h, nil, []unmogrowp.Install{later})
	if got, ok, err := h.Device(ctx, in.AppID, in.DeviceID); err != nil || !ok || got.Campaign != "later" {
		t.Errorf("after the canceled calls: Device = %q, %v, %v", got.Campaign, ok, err)
	}
}

func testConcurrent(t *testing.T, h unmogrowp.HotState) {
	const batches, perBatch, readers = 40, 50, 4
	touch := func(b, i int) unmogrowp.Touchpoint {
		tp := click("app1", fmt.Sprintf("tp-%d-%d", b, i))
		tp.GAID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		tp.IP, tp.UserAgent = "198.51.100.7", uaPixel
		return tp
	}
	inst := func(b, i int) unmogrowp.Install {
		in := fullInstall(i)
		in.DeviceID, in.Offset = fmt.Sprintf("device-%d", i), int64(b*perBatch+i)
		in.Campaign = fmt.Sprintf("batch %d", b)
		return in
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for r := range readers {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				i := (n + r) % perBatch
				tps, err := h.Candidates(ctx, "app1", []string{fmt.Sprintf("gaid:00000000-0000-4000-8000-%012d", i)})
				if err != nil {
					t.Errorf("Candidates: %v", err)
					return
				}
				for _, tp := range tps {
					if tp.AppID != "app1" || tp.UserAgent != uaPixel {
						t.Errorf("a torn touchpoint: %+v", tp)
						return
					}
				}
				in, ok, err := h.Device(ctx, "app_full", fmt.Sprintf("device-%d", i))
				if err != nil {
					t.Errorf("Device: %v", err)
					return
				}
				if ok && (in.DeviceID != fmt.Sprintf("device-%d", i) || len(in.Rejected) != 2) {
					t.Errorf("a torn install: %+v", in)
					return
				}
			}
		})
	}
	for b := range batches {
		var tps []unmogrowp.Touchpoint
		var ins []unmogrowp.Install
		for i := range perBatch {
			tps = append(tps, touch(b, i))
			ins = append(ins, inst(b, i))
		}
		apply(t, h, tps, ins)
	}
	close(done)
	wg.Wait()
	for i := range perBatch {
		tp := touch(0, i)
		want := make([]string, batches)
		for b := range batches {
			want[b] = fmt.Sprintf("tp-%d-%d", b, i)
		}
		wantFound(t, h, "app1", []string{"gaid:" + tp.GAID}, want...)
		in, ok, err := h.Device(ctx, "app_full", fmt.Sprintf("device-%d", i))
		if err != nil || !ok || in.Campaign != fmt.Sprintf("batch %d", batches-1) {
			t.Errorf("device-%d: %q, %v, %v; want the last batch's", i, in.Campaign, ok, err)
		}
	}
}

// testWatermarks checks that the watermarks start empty and only rise, by partition.
func testWatermarks(t *testing.T, h unmogrowp.HotState) {
	check := func(when string, want map[int32]int64) {
		t.Helper()
		got, err := h.Watermarks(ctx)
		if err != nil {
			t.Fatalf("%s: Watermarks: %v", when, err)
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("%s: Watermarks = %v, want %v", when, got, want)
		}
	}
	raise := func(marks map[int32]int64) {
		t.Helper()
		if err := h.RaiseWatermarks(ctx, marks); err != nil {
			t.Fatalf("RaiseWatermarks(%v): %v", marks, err)
		}
	}
	check("new", nil)
	raise(nil)
	check("after raising nothing", nil)
	raise(map[int32]int64{0: 5, 3: 1 << 40})
	check("after the first raise", map[int32]int64{0: 5, 3: 1 << 40})
	raise(map[int32]int64{0: 4, 3: 1<<40 + 1, 7: 0})
	check("after a lower and a higher offset", map[int32]int64{0: 5, 3: 1<<40 + 1, 7: 0})
	raise(map[int32]int64{0: 9007199254740000})
	check("after a large offset", map[int32]int64{0: 9007199254740000, 3: 1<<40 + 1, 7: 0})

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.RaiseWatermarks(canceled, map[int32]int64{0: 99}); !errors.Is(err, context.Canceled) {
		t.Errorf("RaiseWatermarks on a canceled context = %v, want context.Canceled", err)
	}
	if _, err := h.Watermarks(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("Watermarks on a canceled context = %v, want context.Canceled", err)
	}
}

// testForget: an erasure's Forget drops the devices' decisions and the touchpoints by id,
// under every key they were found by; the app's others and another app's same ids stay.
// Every HotState is a Forgetter.
func testForget(t *testing.T, h unmogrowp.HotState) {
	f, ok := h.(unmogrowp.Forgetter)
	if !ok {
		t.Fatalf("%T is not a unmogrowp.Forgetter", h)
	}
	const idfa = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
	tp := func(app, id string) unmogrowp.Touchpoint {
		c := click(app, id)
		c.IDFA, c.IP, c.UserAgent = idfa, "203.0.113.7", uaIPhone
		return c
	}
	install := func(app, device string) unmogrowp.Install {
		in := fullInstall(0)
		in.AppID, in.DeviceID = app, device
		return in
	}
	var many []unmogrowp.Install
	for i := range 500 { // enough devices that tags share slots and probe runs
		many = append(many, install("app1", fmt.Sprintf("dev-%d", i)))
	}
	apply(t, h, []unmogrowp.Touchpoint{tp("app1", "tp-gone"), tp("app1", "tp-kept"), tp("app2", "tp-gone")},
		append(many, install("app2", "dev-1")))
	if err := f.Forget(ctx, "app1", []string{"dev-1", "dev-7", "dev-unknown"}, []string{"tp-gone", "tp-unknown"}, []string{"evt"}); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	for i := range 500 {
		d := fmt.Sprintf("dev-%d", i)
		_, ok, err := h.Device(ctx, "app1", d)
		if err != nil || ok != (d != "dev-1" && d != "dev-7") {
			t.Fatalf("Device(app1, %s) after Forget = %v, %v", d, ok, err)
		}
	}
	if _, ok, _ := h.Device(ctx, "app2", "dev-1"); !ok {
		t.Errorf("another app's device of the same id was forgotten")
	}
	for _, keys := range [][]string{{"tp:tp-gone"}, {"idfa:" + strings.ToLower(idfa)}, installKeys(unmogrowp.Event{IDFA: idfa, IP: "203.0.113.7", UserAgent: uaIPhone})} {
		if got := ids(candidates(t, h, "app1", keys)); slices.Contains(got, "tp-gone") {
			t.Errorf("Candidates(app1, %q) after Forget = %q, still tp-gone", keys, got)
		}
	}
	wantFound(t, h, "app1", installKeys(unmogrowp.Event{IDFA: idfa}), "tp-kept")
	wantFound(t, h, "app2", []string{"tp:tp-gone"}, "tp-gone")
	if err := f.Forget(ctx, "app1", []string{"dev-1"}, []string{"tp-gone"}, nil); err != nil {
		t.Fatalf("Forget again: %v", err)
	}
}

// testActivity checks Seen and the activity Device returns with a decision: raised only,
// kept across later decisions, raised by an install's own Activity, absent for a device
// without a decision, and forgotten with the device.
func testActivity(t *testing.T, h unmogrowp.HotState) {
	const idfa, gaid = "6D92078A-8246-4BA4-AE5B-76104861E7DC", "38400000-8cf0-11bd-b23e-10b96e40000d"
	seen := func(acts ...unmogrowp.DeviceActivity) {
		t.Helper()
		if err := h.Seen(ctx, acts); err != nil {
			t.Fatalf("Seen: %v", err)
		}
	}
	want := func(device string, w unmogrowp.Activity) {
		t.Helper()
		got, ok, err := h.Device(ctx, "app1", device)
		if err != nil || !ok {
			t.Fatalf("Device(app1, %s) = %v, %v", device, ok, err)
		}
		got.Activity.LastEventTime = utc(got.Activity.LastEventTime)
		if got.Activity != w {
			t.Fatalf("activity of %s:\n got %+v\nwant %+v", device, got.Activity, w)
		}
	}
	act := func(device string, at time.Time, ids ...string) unmogrowp.DeviceActivity {
		a := unmogrowp.DeviceActivity{AppID: "app1", DeviceID: device}
		a.LastEventTime = at
		for i, id := range ids {
			*[]*string{&a.IDFA, &a.GAID, &a.AndroidID}[i] = id
		}
		return a
	}
	in := fullInstall(0)
	in.AppID, in.DeviceID, in.Partition, in.Offset = "app1", "dev-1", 0, 10

	seen(act("dev-1", ago(2*time.Hour), idfa)) // before its decision: left out
	apply(t, h, nil, []unmogrowp.Install{in})
	want("dev-1", unmogrowp.Activity{})

	t1, t2 := ago(time.Hour), ago(time.Minute)
	seen(act("dev-1", t1, "", gaid), act("dev-unknown", t1, idfa))
	want("dev-1", unmogrowp.Activity{LastEventTime: t1, GAID: gaid})
	if _, ok, err := h.Device(ctx, "app1", "dev-unknown"); err != nil || ok {
		t.Fatalf("Seen made a decision for a device without one: %v, %v", ok, err)
	}
	seen(act("dev-1", ago(3*time.Hour), idfa)) // older: the time stays, the id is taken
	want("dev-1", unmogrowp.Activity{LastEventTime: t1, IDFA: idfa, GAID: gaid})
	seen(act("dev-1", t1, idfa), act("dev-1", t1, idfa)) // a replay
	want("dev-1", unmogrowp.Activity{LastEventTime: t1, IDFA: idfa, GAID: gaid})

	later := in
	later.Offset, later.InstallEventID = 20, "evt-later"
	apply(t, h, nil, []unmogrowp.Install{later}) // the activity outlives the decision
	want("dev-1", unmogrowp.Activity{LastEventTime: t1, IDFA: idfa, GAID: gaid})
	rebuilt := later
	rebuilt.Activity = unmogrowp.Activity{LastEventTime: t2, AndroidID: "a-1"}
	apply(t, h, nil, []unmogrowp.Install{rebuilt})
	want("dev-1", unmogrowp.Activity{LastEventTime: t2, IDFA: idfa, GAID: gaid, AndroidID: "a-1"})
	got, _, _ := h.Device(ctx, "app1", "dev-1")
	if got.InstallEventID != "evt-later" || got.ReattributionKind != unmogrowp.ReattributionReengagement {
		t.Fatalf("the decision changed with the activity: %+v", got.Attribution)
	}

	if f, ok := h.(unmogrowp.Forgetter); ok {
		if err := f.Forget(ctx, "app1", []string{"dev-1"}, nil, nil); err != nil {
			t.Fatalf("Forget: %v", err)
		}
		apply(t, h, nil, []unmogrowp.Install{in})
		want("dev-1", unmogrowp.Activity{})
	}
}
