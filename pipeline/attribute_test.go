package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/pipeline"
)

// attributionLog makes a random but realistic log for three apps: clicks and impressions
// carrying device ids and fingerprints from small pools (so that they collide), installs
// (first installs, reinstalls, re-attributions), purchases and sessions, with times that
// go forward but not strictly in log order. It returns the records in log order.
func attributionLog(apps []string, n int, seed uint64) (tps map[int]unmogrowp.Touchpoint, events map[int]unmogrowp.Event, order []int) {
	rng := rand.New(rand.NewPCG(seed, seed))
	tps, events = map[int]unmogrowp.Touchpoint{}, map[int]unmogrowp.Event{}
	uas := []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := start
	for i := range n {
		clock = clock.Add(time.Duration(rng.IntN(600)) * time.Second)
		app := apps[rng.IntN(len(apps))]
		dev := rng.IntN(40)
		gaid := fmt.Sprintf("0000aaaa-0000-4000-8000-%012d", dev)
		ip := fmt.Sprintf("203.0.113.%d", dev%25)
		ios := dev%2 == 0
		at := clock.Add(-time.Duration(rng.IntN(3600)) * time.Second) // event times jitter
		switch k := rng.IntN(10); {
		case k < 4:
			tp := unmogrowp.Touchpoint{ID: fmt.Sprintf("tp%05d", i), AppID: app, Type: unmogrowp.TouchClick,
				MediaSource: fmt.Sprintf("net%d", rng.IntN(4)), Campaign: fmt.Sprintf("c%d", rng.IntN(3)),
				Time: at, ReceivedAt: clock, DeepLinkValue: fmt.Sprintf("dl%d", i)}
			if rng.IntN(4) == 0 {
				tp.Type = unmogrowp.TouchImpression
			}
			if rng.IntN(2) == 0 {
				tp.GAID = gaid
			} else {
				tp.IP, tp.UserAgent = ip, uas[dev%2]
			}
			tps[i] = tp
		case k < 7:
			e := unmogrowp.Event{EventID: fmt.Sprintf("ev%05d", i), AppID: app, EventType: unmogrowp.EventInstall,
				DeviceID: fmt.Sprintf("dev%d", dev), Timestamp: at, ReceivedAt: clock, IP: ip}
			if rng.IntN(2) == 0 {
				e.GAID = gaid
			}
			if ios {
				e.Platform, e.OSVersion = unmogrowp.PlatformIOS, "17.1"
			} else {
				e.Platform, e.OSVersion = unmogrowp.PlatformAndroid, "14"
			}
			if rng.IntN(8) == 0 && i > 0 {
				e.InstallReferrer = fmt.Sprintf("click_id=tp%05d", rng.IntN(i))
			}
			events[i] = e
		default:
			e := unmogrowp.Event{EventID: fmt.Sprintf("ev%05d", i), AppID: app, EventType: "purchase",
				DeviceID: fmt.Sprintf("dev%d", dev), Timestamp: at, ReceivedAt: clock, Revenue: 1, HasRevenue: true, Currency: "USD"}
			events[i] = e
		}
		order = append(order, i)
	}
	return tps, events, order
}

// oracle decides the log the plain way: every install against every touchpoint of its app
// earlier in the log, with its device's previous decision; every other event tagged with
// its device's decision at that point.
func oracle(settings map[string]unmogrowp.AppSettings, tps map[int]unmogrowp.Touchpoint, events map[int]unmogrowp.Event, order []int) (installs map[string]unmogrowp.Attribution, tags map[string]string) {
	installs, tags = map[string]unmogrowp.Attribution{}, map[string]string{}
	var seen []unmogrowp.Touchpoint
	priors := map[string]*attribution.Prior{}
	for _, i := range order {
		if tp, ok := tps[i]; ok {
			seen = append(seen, tp)
			continue
		}
		e := events[i]
		dk := e.AppID + "/" + e.DeviceID
		if e.EventType == unmogrowp.EventInstall {
			a := attribution.Decide(&e, seen, settings[e.AppID], priors[dk])
			next := attribution.NextPrior(priors[dk], a)
			priors[dk] = &next
			installs[e.EventID] = a
		}
		tags[e.EventID] = unmogrowp.MediaSourceOrganic + "/"
		if p := priors[dk]; p != nil {
			tags[e.EventID] = p.Attribution.MediaSource + "/" + p.Attribution.Campaign
		}
	}
	return installs, tags
}

// TestAttributorMatchesOracle runs a random log through the real pipeline (WAL, Pebble,
// DuckDB, SQLite settings, in-process hot state) with batch sizes from 1 to 5000, and once
// with restarts every few batches that rebuild the hot state from the store, and checks
// every decision and every event's tag against the oracle: batch boundaries and restarts
// change nothing.
func TestAttributorMatchesOracle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	meta, settings, apps := attributionApps(t)
	tps, events, order := attributionLog(apps, 2000, 7)
	wantInstalls, wantTags := oracle(settings, tps, events, order)
	attributed := 0
	for _, a := range wantInstalls {
		if a.Attributed {
			attributed++
		}
	}
	t.Logf("%d records: %d touchpoints, %d installs (%d attributed)", len(order), len(tps), len(wantInstalls), attributed)
	if attributed < len(wantInstalls)/5 {
		t.Fatalf("only %d of %d installs attributed: the log does not exercise the engine", attributed, len(wantInstalls))
	}

	for _, tc := range []struct {
		batch   int
		restart int  // restart after this many records; 0: never
		many    bool // a hot state that reads a batch's devices at once (pipeline.DevicesReader)
	}{{5000, 0, false}, {9, 0, false}, {17, 300, false}, {5000, 0, true}, {17, 300, true}} {
		t.Run(fmt.Sprintf("batch=%d,restart=%d,devices_at_once=%v", tc.batch, tc.restart, tc.many), func(t *testing.T) {
			e := newEnv(t)
			for _, i := range order {
				if tp, ok := tps[i]; ok {
					e.appendRaw(tp.AppID, unmogrowp.EncodeTouchpointRecord(nil, &tp))
				} else {
					ev := events[i]
					e.appendRaw(ev.AppID, unmogrowp.EncodeEventRecord(nil, &ev))
				}
			}
			done := int64(0)
			for done < int64(len(order)) {
				hot := inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
				if _, _, err := pipeline.RestoreHotState(ctx, e.store, hot, time.Time{}); err != nil {
					t.Fatal(err)
				}
				h, calls := hotState(hot, tc.many)
				stage := pipeline.NewAttributor(meta, h, e.store, pipeline.AttributorOptions{Logger: quiet()})
				r := start(t, e.wal, e.dedup, e.store, pipeline.Options{BatchSize: tc.batch, Stage: stage})
				target := int64(len(order))
				if tc.restart > 0 {
					target = min(target, done+int64(tc.restart))
				}
				r.waitRecords(t, target-done)
				r.stop(t)
				if calls.Load() == 0 && r.p.Stats().Records > 0 {
					t.Fatalf("the Attributor never read devices (devices_at_once=%v) or candidate sets (else) at once", tc.many)
				}
				done += r.p.Stats().Records
				hot.Close()
				if done < int64(len(order)) {
					e.reopen()
				}
			}
			got, _, err := e.store.Installs(ctx, unmogrowp.InstallFilter{AppID: apps[0]})
			if err != nil {
				t.Fatal(err)
			}
			for _, app := range apps[1:] {
				more, _, err := e.store.Installs(ctx, unmogrowp.InstallFilter{AppID: app})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, more...)
			}
			if len(got) != len(wantInstalls) {
				t.Fatalf("stored %d installs, want %d", len(got), len(wantInstalls))
			}
			for _, in := range got {
				want := wantInstalls[in.InstallEventID]
				if !reflect.DeepEqual(in.Attribution, want) {
					t.Errorf("install %s:\n got %+v\nwant %+v", in.InstallEventID, in.Attribution, want)
				}
			}
			for id, ev := range e.stored() {
				if tag := ev.MediaSource + "/" + ev.Campaign; tag != wantTags[id] {
					t.Errorf("event %s tagged %s, want %s", id, tag, wantTags[id])
				}
			}
		})
	}
}

// attributionApps makes three apps with different settings in a real metadata store.
func attributionApps(t *testing.T) (meta *metadata.DB, settings map[string]unmogrowp.AppSettings, apps []string) {
	ctx := context.Background()
	meta, err := metadata.Open(context.Background(), metadata.SQLiteURL(filepath.Join(t.TempDir(), "metadata.db")), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	settings = map[string]unmogrowp.AppSettings{}
	for i, change := range []func(*unmogrowp.AppSettings){
		func(*unmogrowp.AppSettings) {},
		func(s *unmogrowp.AppSettings) { s.FingerprintEnabled = false; s.ClickLookbackDays = 1 },
		func(s *unmogrowp.AppSettings) {
			s.MinCTITSeconds = 600
			s.ReattributionWindowDays = 1
			s.IPBlocklist = []string{"203.0.113.0/29"}
			s.ViewLookbackHours = 2
		},
	} {
		a := &unmogrowp.App{Name: fmt.Sprintf("app %d", i), Settings: unmogrowp.DefaultAppSettings()}
		change(&a.Settings)
		if _, err := meta.CreateApp(ctx, a); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, a.ID)
		settings[a.ID] = a.Settings
	}
	return meta, settings, apps
}

// TestAttributorReadAgain decides a random log in batches, storing and applying each, and
// after each batch reads a span of the log again, as a consumer does that takes a
// partition over in a rebalance from a member that applied batches it could not commit:
// the span starts in the middle of the batch before and ends with the batch just applied.
// Reading again must give every install and every event the decision and the tag of the
// first pass, which are the oracle's.
func TestAttributorReadAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	meta, settings, apps := attributionApps(t)
	tps, events, order := attributionLog(apps, 1500, 11)
	wantInstalls, wantTags := oracle(settings, tps, events, order)

	for _, many := range []bool{false, true} {
		t.Run(fmt.Sprintf("devices_at_once=%v", many), func(t *testing.T) {
			e := newEnv(t)
			hot := inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
			defer hot.Close()
			h, calls := hotState(hot, many)
			stage := pipeline.NewAttributor(meta, h, e.store, pipeline.AttributorOptions{Logger: quiet()})
			batchOf := func(from, to int) *unmogrowp.Batch {
				b := &unmogrowp.Batch{}
				for off, i := range order[from:to] {
					if tp, ok := tps[i]; ok {
						tp.Partition, tp.Offset = 0, int64(from+off)
						b.Touchpoints = append(b.Touchpoints, tp)
					} else {
						ev := events[i]
						ev.Partition, ev.Offset = 0, int64(from+off)
						b.Events = append(b.Events, ev)
					}
				}
				return b
			}
			check := func(pass string, b *unmogrowp.Batch) {
				t.Helper()
				for _, in := range b.Installs {
					got, want := in.Attribution, wantInstalls[in.InstallEventID]
					if got.MediaSource != want.MediaSource || got.Campaign != want.Campaign || got.MatchType != want.MatchType ||
						got.TouchpointID != want.TouchpointID || got.IsReinstall != want.IsReinstall || got.IsReattribution != want.IsReattribution {
						t.Errorf("%s: install %s decided %s/%s %s touchpoint %q reinstall=%v reattribution=%v; want %s/%s %s touchpoint %q reinstall=%v reattribution=%v",
							pass, in.InstallEventID, got.MediaSource, got.Campaign, got.MatchType, got.TouchpointID, got.IsReinstall, got.IsReattribution,
							want.MediaSource, want.Campaign, want.MatchType, want.TouchpointID, want.IsReinstall, want.IsReattribution)
					}
				}
				for _, ev := range b.Events {
					if tag := ev.MediaSource + "/" + ev.Campaign; tag != wantTags[ev.EventID] {
						t.Errorf("%s: event %s (%s) tagged %s, want %s", pass, ev.EventID, ev.EventType, tag, wantTags[ev.EventID])
					}
				}
			}

			const size = 40
			reread, reattributions := 0, 0
			for from := 0; from < len(order); from += size {
				to := min(from+size, len(order))
				b := batchOf(from, to)
				if err := stage.Prepare(ctx, b); err != nil {
					t.Fatal(err)
				}
				check("first pass", b)
				if err := e.store.Append(ctx, *b); err != nil {
					t.Fatal(err)
				}
				if err := stage.Stored(ctx, b); err != nil {
					t.Fatal(err)
				}
				for _, in := range b.Installs {
					if in.IsReattribution {
						reattributions++
					}
				}

				again := batchOf(max(0, from-size/2), to)
				if err := stage.Prepare(ctx, again); err != nil {
					t.Fatal(err)
				}
				check("read again", again)
				if err := stage.Stored(ctx, again); err != nil {
					t.Fatal(err)
				}
				reread += len(again.Installs)
			}
			t.Logf("%d records, %d installs decided again, %d re-attributions", len(order), reread, reattributions)
			if calls.Load() == 0 {
				t.Fatalf("the Attributor never read devices (devices_at_once=%v) or candidate sets (else) at once", many)
			}
			if reattributions == 0 || reread < len(wantInstalls) {
				t.Fatalf("%d re-attributions and %d installs read again: the log does not exercise reading again", reattributions, reread)
			}
		})
	}
}

// TestAttributorLinkWindows decides installs whose clicks came through links with windows
// of their own, read from the metadata store: a 30-day link's click 10 days old wins past
// the app's 7 days, a 1-day link's click 3 days old does not, and a link's changed window
// applies once the settings cache has expired.
func TestAttributorLinkWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	meta, _, apps := attributionApps(t)
	app := apps[0] // the default settings: 7 days for clicks
	long := &unmogrowp.Link{AppID: app, MediaSource: "podcast", ClickLookbackDays: 30}
	short := &unmogrowp.Link{AppID: app, MediaSource: "flash_sale", ClickLookbackDays: 1}
	for _, l := range []*unmogrowp.Link{long, short} {
		if err := meta.CreateLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t)
	hot := inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
	defer hot.Close()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	stage := pipeline.NewAttributor(meta, hot, e.store, pipeline.AttributorOptions{Logger: quiet(), Now: func() time.Time { return clock }})

	offset := int64(0)
	decide := func(device string, link *unmogrowp.Link, age time.Duration) unmogrowp.Attribution {
		t.Helper()
		tp := unmogrowp.Touchpoint{ID: "tp_" + device, AppID: app, Type: unmogrowp.TouchClick, LinkID: link.ID,
			MediaSource: link.MediaSource, DeviceID: device, Time: now.Add(-age), ReceivedAt: now.Add(-age), Offset: offset}
		ev := unmogrowp.Event{EventID: "ev_" + device, AppID: app, EventType: unmogrowp.EventInstall, DeviceID: device,
			Timestamp: now, ReceivedAt: now, Offset: offset + 1}
		offset += 2
		b := &unmogrowp.Batch{Touchpoints: []unmogrowp.Touchpoint{tp}, Events: []unmogrowp.Event{ev}}
		if err := stage.Prepare(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Append(ctx, *b); err != nil {
			t.Fatal(err)
		}
		if err := stage.Stored(ctx, b); err != nil {
			t.Fatal(err)
		}
		if len(b.Installs) != 1 {
			t.Fatalf("%d decisions, want 1", len(b.Installs))
		}
		return b.Installs[0].Attribution
	}
	if a := decide("dev_long", long, 10*24*time.Hour); a.MediaSource != "podcast" || a.TouchpointID != "tp_dev_long" {
		t.Errorf("a 30-day link's click 10 days old: decided %s %q, want podcast", a.MediaSource, a.TouchpointID)
	}
	if a := decide("dev_short", short, 3*24*time.Hour); a.MatchType != unmogrowp.MatchOrganic {
		t.Errorf("a 1-day link's click 3 days old: decided %s %s, want organic", a.MatchType, a.MediaSource)
	}
	short.ClickLookbackDays = 0 // back to the app's 7 days
	if err := meta.UpdateLink(ctx, short); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(pipeline.DefaultSettingsTTL)
	if a := decide("dev_short2", short, 3*24*time.Hour); a.MediaSource != "flash_sale" {
		t.Errorf("after the link took the app's window: decided %s %s, want flash_sale", a.MatchType, a.MediaSource)
	}
}
