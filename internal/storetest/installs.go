package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// The suite's tests of install decisions: Attribution, Installs and ScanDevices.

func testInstallRoundTrip(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)

	// A re-attribution with two rejections (times in another zone: the store hands them
	// back in UTC), a reinstall that kept an impression's attribution, an organic install
	// (zero touch time) and an organic one whose only candidate was rejected. Newest
	// install first, as Installs returns them.
	reattributed := FullInstall(0, 5, 1)
	tokyo := time.FixedZone("JST", 9*3600)
	reattributed.InstallTime = reattributed.InstallTime.In(tokyo)
	reattributed.TouchTime = reattributed.TouchTime.In(tokyo)
	reattributed.FirstInstallTime = reattributed.FirstInstallTime.In(tokyo)
	reinstall := FullInstall(1<<31-1, 1<<40, 2)
	reinstall.IsReattribution, reinstall.IsReinstall = false, true
	reinstall.MatchType, reinstall.TouchType = unmogrowp.MatchViewThroughFingerprint, unmogrowp.TouchImpression
	reinstall.Rejected = nil
	reinstall.DeepLinkValue = "Grüße 🎉 '; DROP TABLE installs; --"
	organic := OrganicInstall(2, 3, "app-full", "device-organic", 3*time.Minute)
	rejected := OrganicInstall(2, 4, "app-full", "device-rejected", 4*time.Minute)
	rejected.Rejected = []unmogrowp.Rejection{{TouchpointID: "tp-fast", MediaSource: "shady_net", Reason: unmogrowp.RejectClickInjection}}
	rejected.MatchType, rejected.MediaSource = unmogrowp.MatchRejected, unmogrowp.MediaSourceRejected
	want := []unmogrowp.Install{rejected, organic, reinstall, reattributed}

	mustAppend(t, s, unmogrowp.Batch{Installs: want[2:]})
	mustAppend(t, s, unmogrowp.Batch{Installs: want[:2]})

	got, next, err := s.Installs(ctx, unmogrowp.InstallFilter{AppID: "app-full"})
	if err != nil {
		t.Fatalf("Installs: %v", err)
	}
	if next != "" {
		t.Errorf("Installs without a limit: next = %q, want \"\"", next)
	}
	if len(got) != len(want) {
		t.Fatalf("Installs returned %d installs, want %d", len(got), len(want))
	}
	for i := range want {
		if d := DiffInstall(want[i], got[i]); d != "" {
			t.Errorf("Installs: install %d (%s) differs: %s", i, inPos(want[i]), d)
		}
	}
	if !got[1].TouchTime.IsZero() {
		t.Errorf("organic install's touch time came back as %v, want zero", got[1].TouchTime)
	}
	if len(got[1].Rejected) != 0 || len(got[0].Rejected) != 1 {
		t.Errorf("rejected lists came back with %d and %d entries, want 0 and 1", len(got[1].Rejected), len(got[0].Rejected))
	}

	// Attribution and ScanDevices give the same rows back.
	for i, w := range want {
		a, err := s.Attribution(ctx, w.AppID, w.DeviceID)
		if err != nil {
			t.Fatalf("Attribution(%q, %q): %v", w.AppID, w.DeviceID, err)
		}
		if d := DiffInstall(w, *a); d != "" {
			t.Errorf("Attribution: install %d (%s) differs: %s", i, inPos(w), d)
		}
	}
	devices := scanDevices(t, s)
	if len(devices) != len(want) {
		t.Fatalf("ScanDevices yielded %d installs, want %d", len(devices), len(want))
	}
	for i, w := range want {
		if d := DiffInstall(w, devices[deviceKey(w)]); d != "" {
			t.Errorf("ScanDevices: install %d (%s) differs: %s", i, inPos(w), d)
		}
	}
}

func testAttribution(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	install := func(p int32, o int64, app, device string, min int) unmogrowp.Install {
		in := FullInstall(p, o, int(o))
		in.AppID, in.DeviceID = app, device
		in.InstallTime = at(time.Duration(min) * time.Minute)
		return in
	}
	check := func(step, app, device string, want unmogrowp.Install) {
		t.Helper()
		got, err := s.Attribution(ctx, app, device)
		if err != nil {
			t.Fatalf("%s: Attribution(%q, %q): %v", step, app, device, err)
		}
		if d := DiffInstall(want, *got); d != "" {
			t.Fatalf("%s: Attribution(%q, %q) is %s, want %s: %s", step, app, device, inPos(*got), inPos(want), d)
		}
	}

	first := install(0, 9, "app-a", "dev-1", 0)
	first.IsReattribution, first.FirstInstallTime = false, first.InstallTime
	mustAppend(t, s, unmogrowp.Batch{Installs: []unmogrowp.Install{first}})
	check("first install", "app-a", "dev-1", first)

	// A reinstall keeps the touch fields; offsets compare as numbers (10 after 9).
	reinstall := first
	reinstall.Offset, reinstall.InstallEventID = 10, "evt-reinstall"
	reinstall.InstallTime, reinstall.IsReinstall = at(time.Hour), true
	mustAppend(t, s, unmogrowp.Batch{Installs: []unmogrowp.Install{reinstall}})
	check("reinstall", "app-a", "dev-1", reinstall)

	// A re-attribution on a higher partition wins despite its lower offset.
	reattributed := install(1, 2, "app-a", "dev-1", 120)
	reattributed.FirstInstallTime = first.InstallTime
	mustAppend(t, s, unmogrowp.Batch{Installs: []unmogrowp.Install{reattributed}})
	check("re-attribution", "app-a", "dev-1", reattributed)

	// The same device id in another app is another device.
	other := install(0, 11, "app-b", "dev-1", 30)
	mustAppend(t, s, unmogrowp.Batch{Installs: []unmogrowp.Install{other}})
	check("other app", "app-a", "dev-1", reattributed)
	check("other app", "app-b", "dev-1", other)

	// The log position decides, not the install time nor the order in the batch.
	earlier := install(2, 6, "app-a", "dev-1", -60)
	mustAppend(t, s, unmogrowp.Batch{Installs: []unmogrowp.Install{earlier, install(2, 5, "app-a", "dev-1", 240)}})
	check("position over time", "app-a", "dev-1", earlier)

	for _, tt := range []struct{ app, device string }{
		{"app-a", "dev-unknown"},
		{"app-c", "dev-1"},
		{"app", "dev-1"},
		{"app-a", "dev"},
		{"app-a", ""},
		{"", "dev-1"},
	} {
		got, err := s.Attribution(ctx, tt.app, tt.device)
		var e *unmogrowp.Error
		if !errors.As(err, &e) || e.Code != unmogrowp.ENOTFOUND {
			t.Errorf("Attribution(%q, %q) = %v, %v; want an *unmogrowp.Error with code %s", tt.app, tt.device, got, err, unmogrowp.ENOTFOUND)
		}
	}
}

func testInstallsPaging(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	// 24 installs of app-p, three to a minute (ties break by partition, then by offset as
	// a number: 10 after 9), appended in two batches out of order, and installs of another
	// app.
	const n = 24
	var all, others []unmogrowp.Install
	for i := range n {
		p, o := int32(i%3/2), int64(10*(i/3)+[]int{9, 10, 5}[i%3])
		in := OrganicInstall(p, o, "app-p", fmt.Sprintf("dev-%d", i), time.Duration(i/3)*time.Minute)
		all = append(all, in)
		others = append(others, OrganicInstall(int32(i%3), int64(1000+i), "app-p2", fmt.Sprintf("dev-%d", i), time.Duration(i)*time.Minute))
	}
	mustAppend(t, s, unmogrowp.Batch{Installs: append(slices.Clone(all[10:]), others[:n/2]...)})
	mustAppend(t, s, unmogrowp.Batch{Installs: append(slices.Clone(all[:10]), others[n/2:]...)})
	newestFirst(all)

	m := func(n int) time.Time { return at(time.Duration(n) * time.Minute) }
	for _, tt := range []struct {
		name  string
		f     unmogrowp.InstallFilter
		want  []unmogrowp.Install
		pages int
	}{
		{"no limit", unmogrowp.InstallFilter{AppID: "app-p"}, all, 1},
		{"limit 1", unmogrowp.InstallFilter{AppID: "app-p", Limit: 1}, all, n},
		{"limit 5", unmogrowp.InstallFilter{AppID: "app-p", Limit: 5}, all, 5},
		{"limit 8, pages exactly full", unmogrowp.InstallFilter{AppID: "app-p", Limit: 8}, all, 3},
		{"limit equal to the count", unmogrowp.InstallFilter{AppID: "app-p", Limit: n}, all, 1},
		{"limit above the count", unmogrowp.InstallFilter{AppID: "app-p", Limit: 100}, all, 1},
		{"from is inclusive", unmogrowp.InstallFilter{AppID: "app-p", From: m(5), Limit: 4}, all[:9], 3},
		{"to is exclusive", unmogrowp.InstallFilter{AppID: "app-p", To: m(2), Limit: 4}, all[18:], 2},
		{"from and to", unmogrowp.InstallFilter{AppID: "app-p", From: m(2), To: m(5).Add(time.Microsecond), Limit: 5}, all[6:18], 3},
		{"from equals to", unmogrowp.InstallFilter{AppID: "app-p", From: m(2), To: m(2), Limit: 5}, nil, 1},
		{"unknown app", unmogrowp.InstallFilter{AppID: "app-x", Limit: 5}, nil, 1},
		{"one device", unmogrowp.InstallFilter{AppID: "app-p", DeviceID: "dev-3", Limit: 5}, ofDevice(all, "dev-3"), 1},
		{"one device, from", unmogrowp.InstallFilter{AppID: "app-p", DeviceID: "dev-3", From: m(2)}, nil, 1},
		{"unknown device", unmogrowp.InstallFilter{AppID: "app-p", DeviceID: "dev-x"}, nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := walkInstalls(t, s, tt.f, nil)
			if pages != tt.pages {
				t.Errorf("walked %d pages, want %d", pages, tt.pages)
			}
			checkInstalls(t, got, tt.want)
		})
	}

	t.Run("appends between pages", func(t *testing.T) {
		// Keyset paging: an install newer than the first page is not seen, one older than
		// the cursor is, and none is skipped or repeated.
		newer := OrganicInstall(0, 5000, "app-p", "dev-newer", time.Hour)
		older := OrganicInstall(0, 5001, "app-p", "dev-older", -time.Hour)
		got, _ := walkInstalls(t, s, unmogrowp.InstallFilter{AppID: "app-p", Limit: 5}, func(page int) {
			if page == 1 {
				mustAppend(t, s, unmogrowp.Batch{Installs: []unmogrowp.Install{newer, older}})
			}
		})
		checkInstalls(t, got, append(slices.Clone(all), older))
	})

	t.Run("bad cursor", func(t *testing.T) {
		_, next, err := s.Installs(ctx, unmogrowp.InstallFilter{AppID: "app-p", Limit: 3})
		if err != nil || next == "" {
			t.Fatalf("first page: next %q, %v", next, err)
		}
		for _, c := range []string{"garbage", "!!!", "AAAA", next[:len(next)-2], next + "AA", " " + next, "eyJvZmZzZXQiOjF9"} {
			got, _, err := s.Installs(ctx, unmogrowp.InstallFilter{AppID: "app-p", Limit: 3, Cursor: c})
			if code := unmogrowp.ErrorCode(err); code != unmogrowp.EINVALID {
				t.Errorf("Installs with cursor %q = %d installs, %v (code %q); want code %q", c, len(got), err, code, unmogrowp.EINVALID)
			}
		}
	})
}

// walkInstalls follows the cursors from f's first page to the last, calling between (when
// not nil) after each page but the last with the number of pages read so far, and returns
// all installs and how many pages it took. Every page but the last must be full.
// ofDevice returns the installs of the device, in the order of installs.
func ofDevice(installs []unmogrowp.Install, device string) []unmogrowp.Install {
	var out []unmogrowp.Install
	for _, in := range installs {
		if in.DeviceID == device {
			out = append(out, in)
		}
	}
	return out
}

func walkInstalls(t *testing.T, s unmogrowp.EventStore, f unmogrowp.InstallFilter, between func(page int)) ([]unmogrowp.Install, int) {
	t.Helper()
	var all []unmogrowp.Install
	for pages := 1; ; pages++ {
		if pages > 1000 {
			t.Fatalf("Installs(%+v): still a next page after 1000 pages", f)
		}
		got, next, err := s.Installs(context.Background(), f)
		if err != nil {
			t.Fatalf("Installs(%+v), page %d: %v", f, pages, err)
		}
		if f.Limit > 0 && len(got) > f.Limit {
			t.Fatalf("Installs(%+v), page %d: %d installs, over the limit", f, pages, len(got))
		}
		all = append(all, got...)
		if next == "" {
			return all, pages
		}
		if len(got) != f.Limit {
			t.Fatalf("Installs(%+v), page %d: %d installs and a next page; want a full page", f, pages, len(got))
		}
		if between != nil {
			between(pages)
		}
		f.Cursor = next
	}
}

// checkInstalls checks that got are want, in order.
func checkInstalls(t *testing.T, got, want []unmogrowp.Install) {
	t.Helper()
	var gotPos, wantPos []string
	for _, in := range got {
		gotPos = append(gotPos, inPos(in))
	}
	for _, in := range want {
		wantPos = append(wantPos, inPos(in))
	}
	if !slices.Equal(gotPos, wantPos) {
		t.Fatalf("installs = %v, want %v", gotPos, wantPos)
	}
	for i := range want {
		if d := DiffInstall(want[i], got[i]); d != "" {
			t.Errorf("install %s differs: %s", inPos(want[i]), d)
		}
	}
}

// newestFirst sorts installs as Installs returns them.
func newestFirst(installs []unmogrowp.Install) {
	slices.SortFunc(installs, func(a, b unmogrowp.Install) int {
		if c := b.InstallTime.Compare(a.InstallTime); c != 0 {
			return c
		}
		if a.Partition != b.Partition {
			return int(b.Partition - a.Partition)
		}
		return int(b.Offset - a.Offset)
	})
}

func testScanDevices(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	// Devices of two apps, dev-0 in both; dev-0 of app-a installed three times, dev-1 twice
	// on two partitions; the latest by log position is each device's row.
	var batch1, batch2 []unmogrowp.Install
	latest := map[string]unmogrowp.Install{}
	add := func(b *[]unmogrowp.Install, in unmogrowp.Install, isLatest bool) {
		*b = append(*b, in)
		if isLatest {
			latest[deviceKey(in)] = in
		}
	}
	add(&batch1, OrganicInstall(0, 1, "app-a", "dev-0", 0), false)
	add(&batch1, OrganicInstall(0, 2, "app-a", "dev-1", time.Minute), false)
	add(&batch1, OrganicInstall(0, 3, "app-b", "dev-0", 2*time.Minute), true)
	reinstall := OrganicInstall(0, 10, "app-a", "dev-0", time.Hour)
	reinstall.IsReinstall, reinstall.FirstInstallTime = true, at(0)
	add(&batch1, reinstall, false)
	for i := range 20 {
		add(&batch1, OrganicInstall(int32(i%2), int64(100+i), "app-a", fmt.Sprintf("dev-%d", 10+i), time.Duration(i)*time.Second), true)
	}
	reattributed := FullInstall(0, 11, 1)
	reattributed.AppID, reattributed.DeviceID = "app-a", "dev-0"
	add(&batch2, reattributed, true)
	add(&batch2, OrganicInstall(1, 1, "app-a", "dev-1", 0), true)
	mustAppend(t, s, unmogrowp.Batch{Installs: batch1})
	mustAppend(t, s, unmogrowp.Batch{Installs: batch2})
	// app-a's dev-0 has events: its activity is the latest event time and the latest
	// non-empty advertising id of each kind; app-b's dev-0 has none (zero activity).
	const idfa = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
	ev := func(offset int64, d time.Duration, idfa, gaid string) unmogrowp.Event {
		e := FullEvent(3, offset, int(offset))
		e.AppID, e.DeviceID, e.Timestamp, e.IDFA, e.GAID, e.AndroidID = "app-a", "dev-0", at(d), idfa, gaid, ""
		return e
	}
	mustAppend(t, s, unmogrowp.Batch{Events: []unmogrowp.Event{
		ev(1, 2*time.Hour, idfa, "g-old"), ev(2, 5*time.Hour, "", "g-new"), ev(3, 3*time.Hour, "", "g-older"),
	}})
	dev0 := latest[deviceKey(reattributed)]
	dev0.Activity = unmogrowp.Activity{LastEventTime: at(5 * time.Hour), IDFA: idfa, GAID: "g-new"}
	latest[deviceKey(reattributed)] = dev0

	got := map[string]unmogrowp.Install{}
	err := s.ScanDevices(ctx, func(in unmogrowp.Install) error {
		if prev, ok := got[deviceKey(in)]; ok {
			t.Errorf("ScanDevices yielded %s twice: %s and %s", deviceKey(in), inPos(prev), inPos(in))
		}
		got[deviceKey(in)] = in
		return nil
	})
	if err != nil {
		t.Fatalf("ScanDevices: %v", err)
	}
	if len(got) != len(latest) {
		t.Errorf("ScanDevices yielded %d devices, want %d", len(got), len(latest))
	}
	for key, want := range latest {
		g, ok := got[key]
		if !ok {
			t.Errorf("ScanDevices missed %s", key)
			continue
		}
		if d := DiffInstall(want, g); d != "" {
			t.Errorf("device %s: got %s, want %s: %s", key, inPos(g), inPos(want), d)
		}
		if g.Activity != want.Activity {
			t.Errorf("device %s: activity %+v, want %+v", key, g.Activity, want.Activity)
		}
		a, err := s.Attribution(ctx, want.AppID, want.DeviceID)
		if err != nil || inPos(*a) != inPos(want) {
			t.Errorf("device %s: Attribution = %v, %v; ScanDevices and Attribution disagree", key, a, err)
		}
	}

	t.Run("fn's error stops the scan", func(t *testing.T) {
		errStop := errors.New("stop")
		calls := 0
		err := s.ScanDevices(ctx, func(unmogrowp.Install) error {
			calls++
			return errStop
		})
		if !errors.Is(err, errStop) || calls != 1 {
			t.Fatalf("ScanDevices = %v after %d calls, want %v after 1", err, calls, errStop)
		}
	})
}

// scanDevices returns what ScanDevices yields, by deviceKey.
func scanDevices(t *testing.T, s unmogrowp.EventStore) map[string]unmogrowp.Install {
	t.Helper()
	got := map[string]unmogrowp.Install{}
	if err := s.ScanDevices(context.Background(), func(in unmogrowp.Install) error {
		got[deviceKey(in)] = in
		return nil
	}); err != nil {
		t.Fatalf("ScanDevices: %v", err)
	}
	return got
}

func deviceKey(in unmogrowp.Install) string { return in.AppID + "/" + in.DeviceID }

func inPos(in unmogrowp.Install) string { return fmt.Sprintf("%d:%d", in.Partition, in.Offset) }
