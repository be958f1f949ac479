package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// SubjectEventStore is what RunSubject tests: an event store that finds and erases a
// subject's rows.
type SubjectEventStore interface {
	unmogrowp.EventStore
	unmogrowp.SubjectStore
}

// RunSubject runs the conformance suite of unmogrowp.SubjectStore. open must return a
// fresh, empty store for each call, closed when the test ends.
func RunSubject(t *testing.T, open func(t *testing.T) SubjectEventStore) {
	t.Run("ResolveAndErase", func(t *testing.T) { t.Parallel(); testSubjectErase(t, open(t)) })
	t.Run("Hashed", func(t *testing.T) { t.Parallel(); testSubjectHashed(t, open(t)) })
	t.Run("Empty", func(t *testing.T) { t.Parallel(); testSubjectEmpty(t, open(t)) })
}

// subjectFixture stores, in app-s: device dev-a (an install attributed to a click carrying
// no id but the fingerprint, an event, and a click carrying its IDFA), dev-a2 (the same
// phone reinstalled: a new device id, the same IDFA), and dev-b, another phone; and in
// app-o a device also named dev-a.
func subjectFixture(t *testing.T, s unmogrowp.EventStore) {
	t.Helper()
	ev := func(off int64, app, device, idfa, typ string, min int) unmogrowp.Event {
		e := MinimalEvent(0, off, app, time.Duration(min)*time.Minute)
		e.DeviceID, e.IDFA, e.EventType, e.EventID = device, idfa, typ, "evt-"+device+"-"+typ
		return e
	}
	tp := func(off int64, app, id, idfa, device string) unmogrowp.Touchpoint {
		p := MinimalTouchpoint(0, off, app, time.Duration(off)*time.Minute)
		p.ID, p.IDFA, p.DeviceID = id, idfa, device
		return p
	}
	in := func(e unmogrowp.Event, tpID string) unmogrowp.Install {
		i := FullInstall(e.Partition, e.Offset, int(e.Offset))
		i.AppID, i.DeviceID, i.InstallEventID, i.InstallTime, i.FirstInstallTime = e.AppID, e.DeviceID, e.EventID, e.Timestamp, e.Timestamp
		i.TouchpointID = tpID
		return i
	}
	const idfa = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
	events := []unmogrowp.Event{
		ev(10, "app-s", "dev-a", idfa, unmogrowp.EventInstall, 10),
		ev(11, "app-s", "dev-a", idfa, "purchase", 11),
		ev(12, "app-s", "dev-a2", idfa, unmogrowp.EventInstall, 20),
		ev(13, "app-s", "dev-b", "", unmogrowp.EventInstall, 21),
		ev(14, "app-o", "dev-a", idfa, unmogrowp.EventInstall, 22),
	}
	touchpoints := []unmogrowp.Touchpoint{
		tp(1, "app-s", "tp-fingerprint", "", ""),
		tp(2, "app-s", "tp-idfa", idfa, ""),
		tp(3, "app-s", "tp-b", "", "dev-b"),
		tp(4, "app-o", "tp-o", idfa, ""),
	}
	installs := []unmogrowp.Install{
		in(events[0], "tp-fingerprint"), in(events[2], "tp-idfa"), in(events[3], "tp-b"), in(events[4], "tp-o"),
	}
	mustAppend(t, s, unmogrowp.Batch{Events: events, Touchpoints: touchpoints, Installs: installs})
}

func resolve(t *testing.T, s SubjectEventStore, sub unmogrowp.Subject) unmogrowp.Subject {
	t.Helper()
	got, err := s.ResolveSubject(context.Background(), sub)
	if err != nil {
		t.Fatalf("ResolveSubject: %v", err)
	}
	return got
}

func countSubject(t *testing.T, s SubjectEventStore, sub unmogrowp.Subject) int64 {
	t.Helper()
	n, err := s.CountSubject(context.Background(), sub)
	if err != nil {
		t.Fatalf("CountSubject: %v", err)
	}
	return n
}

func testSubjectErase(t *testing.T, s SubjectEventStore) {
	ctx := context.Background()
	subjectFixture(t, s)
	sub := unmogrowp.Subject{AppID: "app-s"}
	sub.Add(unmogrowp.FieldDeviceID, "dev-a")
	got := resolve(t, s, sub)
	devices := slices.Sorted(slices.Values(got.Raw[unmogrowp.FieldDeviceID]))
	if !slices.Equal(devices, []string{"dev-a", "dev-a2"}) {
		t.Fatalf("resolved devices = %v, want dev-a and dev-a2 (the same IDFA)", devices)
	}
	if tps := slices.Sorted(slices.Values(got.TouchpointIDs)); !slices.Equal(tps, []string{"tp-fingerprint", "tp-idfa"}) {
		t.Fatalf("resolved touchpoints = %v", tps)
	}
	if ids := slices.Sorted(slices.Values(got.EventIDs)); !slices.Equal(ids, []string{"evt-dev-a-install", "evt-dev-a-purchase", "evt-dev-a2-install"}) {
		t.Fatalf("resolved event ids = %v", ids)
	}
	tps, err := s.SubjectTouchpoints(ctx, got)
	if err != nil || len(tps) != 2 || tps[0].ID != "tp-fingerprint" || tps[1].ID != "tp-idfa" {
		t.Fatalf("SubjectTouchpoints = %+v, %v; want the two clicks, oldest first", tps, err)
	}
	// 3 events, 2 touchpoints, 2 installs, and the store may count derived rows too.
	if n := countSubject(t, s, got); n < 7 {
		t.Fatalf("CountSubject before = %d, want at least 7", n)
	}
	if n, err := s.EraseSubject(ctx, got); err != nil || n != 7 {
		t.Fatalf("EraseSubject = %d, %v; want 7 rows (3 events, 2 touchpoints, 2 installs)", n, err)
	}
	if n := countSubject(t, s, got); n != 0 {
		t.Fatalf("CountSubject after = %d, want 0", n)
	}
	for _, d := range []string{"dev-a", "dev-a2"} {
		if _, err := s.Attribution(ctx, "app-s", d); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
			t.Errorf("Attribution(%s) after erasure: %v, want ENOTFOUND", d, err)
		}
		if n, err := s.CountEvents(ctx, unmogrowp.EventFilter{AppID: "app-s", DeviceID: d}); err != nil || n != 0 {
			t.Errorf("events of %s after erasure = %d, %v", d, n, err)
		}
	}
	// What is not the subject's stays: dev-b, and app-o's device of the same name.
	if _, err := s.Attribution(ctx, "app-s", "dev-b"); err != nil {
		t.Errorf("Attribution(dev-b): %v", err)
	}
	if _, err := s.Attribution(ctx, "app-o", "dev-a"); err != nil {
		t.Errorf("Attribution(app-o, dev-a): %v", err)
	}
	checkCounts(t, s, "after erasure", 2, 2, 2)
	// Counting above the watermarks sees only what is stored after them: nothing, then a
	// late event of the subject's device.
	marks, err := s.Watermarks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got.After = marks
	if n := countSubject(t, s, got); n != 0 {
		t.Fatalf("CountSubject above the watermarks = %d, want 0", n)
	}
	late := MinimalEvent(0, 20, "app-s", 30*time.Minute)
	late.DeviceID = "dev-a"
	other := MinimalEvent(3, 1, "app-s", 31*time.Minute) // a partition the marks do not name
	other.DeviceID = "dev-a2"
	mustAppend(t, s, unmogrowp.Batch{Events: []unmogrowp.Event{late, other}})
	if n := countSubject(t, s, got); n != 2 {
		t.Fatalf("CountSubject above the watermarks after two late events = %d, want 2", n)
	}
	got.After = nil
	if n, err := s.EraseSubject(ctx, got); err != nil || n != 2 {
		t.Fatalf("EraseSubject of the late events = %d, %v", n, err)
	}
	// Erasing again changes nothing.
	if n, err := s.EraseSubject(ctx, got); err != nil || n != 0 {
		t.Fatalf("EraseSubject again = %d, %v", n, err)
	}
	checkCounts(t, s, "after a second erasure", 2, 2, 2)
}

func testSubjectHashed(t *testing.T, s SubjectEventStore) {
	subjectFixture(t, s)
	sub := unmogrowp.Subject{AppID: "app-s", Hashed: map[string][]string{
		unmogrowp.FieldIDFA: {unmogrowp.HashIdentity("6D92078A-8246-4BA4-AE5B-76104861E7DC")},
	}}
	got := resolve(t, s, sub)
	if devices := slices.Sorted(slices.Values(got.Raw[unmogrowp.FieldDeviceID])); !slices.Equal(devices, []string{"dev-a", "dev-a2"}) {
		t.Fatalf("devices of a hashed IDFA = %v", devices)
	}
	if n, err := s.EraseSubject(context.Background(), got); err != nil || n != 7 {
		t.Fatalf("EraseSubject = %d, %v", n, err)
	}
	if n := countSubject(t, s, got); n != 0 {
		t.Fatalf("CountSubject after = %d", n)
	}
	checkCounts(t, s, "after erasure", 2, 2, 2)
}

func testSubjectEmpty(t *testing.T, s SubjectEventStore) {
	subjectFixture(t, s)
	sub := unmogrowp.Subject{AppID: "app-s"}
	sub.Add(unmogrowp.FieldDeviceID, "nobody")
	got := resolve(t, s, sub)
	if len(got.TouchpointIDs) != 0 || len(got.EventIDs) != 0 || len(got.Raw[unmogrowp.FieldDeviceID]) != 1 {
		t.Fatalf("resolved unknown device = %+v", got)
	}
	if n, err := s.EraseSubject(context.Background(), got); err != nil || n != 0 {
		t.Fatalf("EraseSubject of nobody = %d, %v", n, err)
	}
	if n, err := s.EraseSubject(context.Background(), unmogrowp.Subject{AppID: "app-s"}); err != nil || n != 0 {
		t.Fatalf("EraseSubject of an empty subject = %d, %v", n, err)
	}
	checkCounts(t, s, "after erasing nobody", 5, 4, 4)
}
