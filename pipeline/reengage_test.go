package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/pipeline"
)

// TestAttributorReengagement runs a device's life through the Attributor, one batch per
// step, stored and applied as the pipeline does: a paid install; a session 3 days later
// with a newer click (not dormant: nothing); a session 10 days after that with a click
// (dormant: re-engaged, and the session and later events go to the click's source); a
// session past the re-attribution window (back to the install's source); a deeplink open
// of a dormant device (re-engaged by the open itself); and, for the app with
// inactivity_days 0, nothing. Each batch is then read again after the hot state learned
// it, which must give the same decisions and tags, not a second decision.
func TestAttributorReengagement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	meta, _, apps := attributionApps(t)
	app, off := apps[0], apps[2] // the default settings; ReattributionWindowDays 1
	s, err := meta.App(ctx, off)
	if err != nil {
		t.Fatal(err)
	}
	s.Settings.InactivityDays = 0
	if err := meta.UpdateApp(ctx, s); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	hot := inmem.New(inmem.Options{Retention: 10 * 365 * 24 * time.Hour})
	defer hot.Close()
	stage := pipeline.NewAttributor(meta, hot, e.store, pipeline.AttributorOptions{Logger: quiet()})

	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"
	offset := int64(0)
	next := func() int64 { offset++; return offset }
	click := func(app, id, source string, at time.Time) unmogrowp.Touchpoint {
		return unmogrowp.Touchpoint{ID: id, AppID: app, Type: unmogrowp.TouchClick, MediaSource: source,
			Campaign: source + "_c", GAID: gaid, Time: at, ReceivedAt: at, Offset: next()}
	}
	ev := func(app, typ string, at time.Time) unmogrowp.Event {
		o := next()
		return unmogrowp.Event{EventID: "ev" + string(rune('a'+o)), AppID: app, EventType: typ, DeviceID: "dev1",
			GAID: gaid, Timestamp: at, ReceivedAt: at, Offset: o}
	}
	// run decides a batch, stores it and applies it, then reads it again: it returns the
	// decisions and the events' media sources.
	run := func(tps []unmogrowp.Touchpoint, evs ...unmogrowp.Event) ([]unmogrowp.Install, []string) {
		t.Helper()
		b := &unmogrowp.Batch{Touchpoints: tps, Events: evs}
		if err := stage.Prepare(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Append(ctx, *b); err != nil {
			t.Fatal(err)
		}
		if err := stage.Stored(ctx, b); err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, x := range b.Events {
			tags = append(tags, x.MediaSource)
		}
		again := &unmogrowp.Batch{Touchpoints: tps, Events: append([]unmogrowp.Event(nil), evs...)}
		if err := stage.Prepare(ctx, again); err != nil {
			t.Fatal(err)
		}
		for i, x := range again.Events {
			if x.MediaSource != tags[i] {
				t.Errorf("read again: event %d tagged %s, first %s", i, x.MediaSource, tags[i])
			}
		}
		if len(again.Installs) != len(b.Installs) {
			t.Fatalf("read again: %d decisions, first %d", len(again.Installs), len(b.Installs))
		}
		for i := range b.Installs {
			if again.Installs[i].TouchpointID != b.Installs[i].TouchpointID || again.Installs[i].ReattributionKind != b.Installs[i].ReattributionKind {
				t.Errorf("read again: decision %d is %+v, first %+v", i, again.Installs[i].Attribution, b.Installs[i].Attribution)
			}
		}
		if err := stage.Stored(ctx, again); err != nil {
			t.Fatal(err)
		}
		return b.Installs, tags
	}
	want := func(step string, got []unmogrowp.Install, kind, source string) {
		t.Helper()
		if kind == "" {
			if len(got) != 0 {
				t.Fatalf("%s: %d decisions (%+v), want none", step, len(got), got[0].Attribution)
			}
			return
		}
		if len(got) != 1 || got[0].ReattributionKind != kind || got[0].MediaSource != source || !got[0].IsReattribution {
			t.Fatalf("%s: decisions %+v, want one %s by %s", step, got, kind, source)
		}
	}

	for _, a := range []string{app, off} {
		ins, _ := run([]unmogrowp.Touchpoint{click(a, "c-install-"+a, "net_install", t0.Add(-time.Hour))}, ev(a, unmogrowp.EventInstall, t0))
		if len(ins) != 1 || ins[0].MediaSource != "net_install" {
			t.Fatalf("install: %+v", ins)
		}
	}

	// Not dormant: 3 days of silence.
	ins, tags := run([]unmogrowp.Touchpoint{click(app, "c-early", "net_early", t0.Add(3*day-time.Hour))}, ev(app, unmogrowp.EventSession, t0.Add(3*day)))
	want("3 days", ins, "", "")
	if tags[0] != "net_install" {
		t.Errorf("3 days: session tagged %s, want net_install", tags[0])
	}

	// Dormant: 10 days, with a click older than the last event (not it) and a newer one.
	back := t0.Add(13 * day)
	ins, tags = run([]unmogrowp.Touchpoint{click(app, "c-back", "net_back", back.Add(-time.Hour))},
		ev(app, unmogrowp.EventSession, back), ev(app, "purchase", back.Add(time.Hour)))
	want("10 days", ins, unmogrowp.ReattributionReengagement, "net_back")
	if ins[0].OriginalMediaSource != "net_install" || ins[0].TouchpointID != "c-back" {
		t.Errorf("re-engagement: %+v", ins[0])
	}
	if tags[0] != "net_back" || tags[1] != "net_back" {
		t.Errorf("after the re-engagement: events tagged %v, want net_back", tags)
	}
	if got, _, _ := hot.Device(ctx, app, "dev1"); !got.Activity.LastEventTime.Equal(back.Add(time.Hour)) {
		t.Errorf("hot state's last event %v, want %v", got.Activity.LastEventTime, back.Add(time.Hour))
	}

	// Within the window (90 days) the events stay with net_back; after it, net_install.
	_, tags = run(nil, ev(app, unmogrowp.EventSession, back.Add(5*day)))
	if tags[0] != "net_back" {
		t.Errorf("5 days after: tagged %s, want net_back", tags[0])
	}
	_, tags = run(nil, ev(app, unmogrowp.EventSession, back.Add(91*day)))
	if tags[0] != "net_install" {
		t.Errorf("91 days after: tagged %s, want net_install (the window is over)", tags[0])
	}

	// A deeplink open of the device, dormant again (30 days): the open re-engages it.
	open := click(app, "c-open", "net_open", back.Add(121*day))
	open.DeviceID, open.GAID, open.Opened = "dev1", "", true
	ins, tags = run([]unmogrowp.Touchpoint{open}, ev(app, unmogrowp.EventSession, back.Add(121*day+time.Second)))
	want("deeplink open", ins, unmogrowp.ReattributionReengagement, "net_open")
	if ins[0].OriginalMediaSource != "net_install" || ins[0].InstallEventID != "c-open" || tags[0] != "net_open" {
		t.Errorf("deeplink open: %+v, session tagged %s", ins[0], tags[0])
	}

	// inactivity_days 0: no re-engagement, however long the silence.
	ins, tags = run([]unmogrowp.Touchpoint{click(off, "c-off", "net_back", t0.Add(30*day-time.Hour))}, ev(off, unmogrowp.EventSession, t0.Add(30*day)))
	want("off", ins, "", "")
	if tags[0] != "net_install" {
		t.Errorf("off: tagged %s, want net_install", tags[0])
	}

	// The stored decisions: GET .../attribution's latest is the open's re-engagement.
	latest, err := e.store.Attribution(ctx, app, "dev1")
	if err != nil || latest.ReattributionKind != unmogrowp.ReattributionReengagement || latest.MediaSource != "net_open" {
		t.Fatalf("stored latest decision: %+v, %v", latest, err)
	}
}
