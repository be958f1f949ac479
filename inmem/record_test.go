package inmem

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// strPackings are the ways a string field may be stored.
var strPackings = []packing{0, packIntern, packBytes, packIP, packIntern | packBytes}

// checkString encodes s with p three times (so that interning happens), then reads each
// back by str, strEq and skipStr.
func checkString(t *testing.T, s string, p packing) {
	t.Helper()
	var d dict
	var seen probation
	w := writer{dict: &d, seen: &seen}
	for range 3 {
		w.str(s, p)
	}
	w.uvarint(42) // a sentinel after the strings
	r := reader{b: w.b, dict: &d}
	if got := r.str(); got != s {
		t.Fatalf("str(%q, packing %d) read back %q", s, p, got)
	}
	if !r.strEq(s) {
		t.Fatalf("strEq(%q, packing %d) = false", s, p)
	}
	r.skipStr()
	if v := r.uvarint(); v != 42 || r.err != nil || len(r.b) != 0 {
		t.Fatalf("after %q (packing %d): sentinel %d, err %v, %d bytes left", s, p, v, r.err, len(r.b))
	}
	r = reader{b: w.b, dict: &d}
	if s != "x" && r.strEq(s+"x") {
		t.Fatalf("strEq(%q) matched %q", s+"x", s)
	}
}

func TestStringPackings(t *testing.T) {
	for _, s := range []string{
		"", "x", "facebook_ads", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "0F1E2D3C4B5A6978",
		"0f1E2d3c4b5a6978", "12345678", "1234567", "abcdef0", "6D92078A-8246-4BA4-AE5B-76104861E7DC",
		"6d92078a-8246-4ba4-ae5b-76104861e7dc", "6d92078a-8246-4BA4-ae5b-76104861e7dc",
		"6d92078a_8246-4ba4-ae5b-76104861e7dc", "203.0.113.7", "2001:db8::1", "2001:DB8::1",
		"::ffff:1.2.3.4", "fe80::1%eth0", "010.0.0.1", "1.2.3.4 ", "Cj0KCQiA-gclid_aBcD",
		"IwAR3xYz-_09", "ab-_", "Été ✓", strings.Repeat("ab", 128), strings.Repeat("ab", 129),
		strings.Repeat("Z", 255), strings.Repeat("Z", 256), strings.Repeat("Z", 300),
		strings.Repeat("Mozilla/5.0 ", 100), "\x00\xff",
	} {
		for _, p := range strPackings {
			checkString(t, s, p)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("6D92078A-8246-4BA4-AE5B-76104861E7DC", uint8(2))
	f.Add("2001:db8::1", uint8(4))
	f.Add("Cj0KCQiA-gclid_aBcD", uint8(2))
	f.Add("deadbeef", uint8(3))
	f.Fuzz(func(t *testing.T, s string, p uint8) {
		checkString(t, s, packing(p)&(packIntern|packBytes|packIP))
	})
}

func TestTimes(t *testing.T) {
	ref := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tm := range []time.Time{
		ref, ref.Add(time.Microsecond), ref.Add(-time.Nanosecond), ref.Add(90*time.Hour - 1),
		ref.Add(-400 * 24 * time.Hour), time.Time{}, time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Unix(0, 0).UTC(),
	} {
		w := writer{}
		w.time(tm, ref)
		r := reader{b: w.b}
		if got := r.time(ref); !got.Equal(tm) || got.Location() != time.UTC || r.err != nil || len(r.b) != 0 {
			t.Errorf("time %v read back %v (%v, %d bytes left)", tm, got, r.err, len(r.b))
		}
	}
}

func FuzzTouchpointRecord(f *testing.F) {
	f.Add("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "app1", "2001:db8::1", "Mozilla/5.0", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "Cj0KCQiA", int64(1e15), int64(5e8), int64(7))
	f.Fuzz(func(t *testing.T, id, app, ip, ua, gaid, click string, touch, received, offset int64) {
		tp := unmogrowp.Touchpoint{Partition: int32(offset), Offset: offset, ID: id, AppID: app,
			Type: unmogrowp.TouchClick, IP: ip, UserAgent: ua, GAID: gaid, IDFA: gaid, ClickID: click,
			Campaign: ua, Sub: [5]string{id, app, ip, ua, click},
			Time: time.Unix(0, touch).UTC(), ReceivedAt: time.Unix(0, touch+received).UTC()}
		if received == 0 {
			tp.ReceivedAt = time.Time{}
		}
		ref := time.Unix(0, touch).Truncate(time.Hour).UTC()
		var d dict
		var seen probation
		w := writer{dict: &d, seen: &seen}
		for range 2 {
			w.b = w.b[:0]
			encodeTouchpoint(&w, &tp, ref)
		}
		var got unmogrowp.Touchpoint
		r := reader{b: w.b, dict: &d}
		decodeTouchpoint(&r, &got, ref)
		if r.err != nil || len(r.b) != 0 || !reflect.DeepEqual(got, tp) {
			t.Fatalf("round trip (%v, %d left):\n got %+v\nwant %+v", r.err, len(r.b), got, tp)
		}
		if r := (reader{b: w.b, dict: &d}); !touchpointIs(&r, app, id) {
			t.Fatal("touchpointIs = false for its own app and id")
		}
	})
}

func TestInstallRecord(t *testing.T) {
	in := unmogrowp.Install{Partition: 1, Offset: 99, FirstInstallTime: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Attribution: unmogrowp.Attribution{AppID: "app1", DeviceID: "dev", InstallEventID: "0123456789abcdef",
			InstallTime: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Attributed: true, MatchType: "fingerprint",
			TouchTime: time.Date(2026, 1, 1, 3, 4, 5, 0, time.UTC), CTITSeconds: 86400,
			Rejected: []unmogrowp.Rejection{{TouchpointID: "", MediaSource: "m", Reason: "blocked_ip"}}},
		Activity: unmogrowp.Activity{LastEventTime: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), GAID: "38400000-8cf0-11bd-b23e-10b96e40000d"}}
	var d dict
	var seen probation
	w := writer{dict: &d, seen: &seen}
	encodeInstall(&w, &in)
	checkInstallDecodes(t, w.b, &d, in)
	r := reader{b: w.b, dict: &d}
	if ok, p, o := installIs(&r, "app1", "dev"); !ok || p != 1 || o != 99 {
		t.Errorf("installIs = %v, %d, %d", ok, p, o)
	}
	r = reader{b: w.b, dict: &d}
	if ok, _, _ := installIs(&r, "app1", "other"); ok {
		t.Error("installIs matched another device")
	}
	for _, c := range []struct {
		idfa, gaid string
		same       bool
	}{{"", "", true}, {"", in.Activity.GAID, true}, {"", "38400000-8cf0-11bd-b23e-10b96e40000e", false}, {"a", "", false}} {
		r = reader{b: w.b, dict: &d}
		same, ref, last := installLastEvent(&r, c.idfa, c.gaid, "")
		lr := reader{b: last}
		if at := lr.time(ref); r.err != nil || same != c.same || !ref.Equal(in.InstallTime) || !at.Equal(in.Activity.LastEventTime) || len(lr.b) != 0 {
			t.Errorf("installLastEvent(%q, %q) = %v, %v, last event %v (%d bytes left, %v); want %v, %v, %v",
				c.idfa, c.gaid, same, ref, at, len(lr.b), r.err, c.same, in.InstallTime, in.Activity.LastEventTime)
		}
	}
}

// FuzzInstallRecord round-trips installs with up to 300 rejected touchpoints, read whole
// and without them, and checks that installLastEvent reads past them to the last event.
func FuzzInstallRecord(f *testing.F) {
	f.Add("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "app1", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "spam_int", "click_injection", int64(1e15), int64(7), uint16(3))
	f.Add("", "", "", "", "", int64(0), int64(-1), uint16(300))
	f.Fuzz(func(t *testing.T, id, app, device, source, reason string, at, offset int64, k uint16) {
		in := unmogrowp.Install{Partition: int32(offset), Offset: offset,
			Attribution: unmogrowp.Attribution{AppID: app, DeviceID: device, InstallEventID: id,
				InstallTime: time.Unix(0, at).UTC(), MediaSource: source, CTITSeconds: offset},
			Activity: unmogrowp.Activity{LastEventTime: time.Unix(0, at).Add(time.Hour).UTC(), GAID: device}}
		for i := range int(k % 301) {
			in.Rejected = append(in.Rejected, unmogrowp.Rejection{TouchpointID: id + strings.Repeat("f", i%40),
				MediaSource: source, Reason: reason})
		}
		var d dict
		var seen probation
		w := writer{dict: &d, seen: &seen}
		for range 2 {
			w.b = w.b[:0]
			encodeInstall(&w, &in)
		}
		checkInstallDecodes(t, w.b, &d, in)
		r := reader{b: w.b, dict: &d}
		_, ref, last := installLastEvent(&r, "", device, "")
		lr := reader{b: last}
		if at := lr.time(ref); r.err != nil || !at.Equal(in.Activity.LastEventTime) || len(lr.b) != 0 {
			t.Fatalf("installLastEvent: %v, %v (%d bytes left), want %v", r.err, at, len(lr.b), in.Activity.LastEventTime)
		}
	})
}

// checkInstallDecodes checks that body, encoded from in with dictionary d, decodes to in,
// and to in without its rejected touchpoints when those are left out.
func checkInstallDecodes(t *testing.T, body []byte, d *dict, in unmogrowp.Install) {
	t.Helper()
	var got unmogrowp.Install
	r := reader{b: body, dict: d}
	decodeInstall(&r, &got, true)
	if r.err != nil || len(r.b) != 0 || !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip (%v, %d left):\n got %+v\nwant %+v", r.err, len(r.b), got, in)
	}
	r = reader{b: body, dict: d}
	decodeInstall(&r, &got, false)
	in.Rejected = nil
	if r.err != nil || len(r.b) != 0 || !reflect.DeepEqual(got, in) {
		t.Fatalf("without the rejected touchpoints (%v, %d left):\n got %+v\nwant %+v", r.err, len(r.b), got, in)
	}
}
