package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/pipeline"
)

// postbackFixture is a metadata store (SQLite) holding an app, its postbacks and the
// outbox, and a log of a click, three installs and two events of that app.
type postbackFixture struct {
	meta              *metadata.DB
	app               string
	network, webhook  *unmogrowp.Postback
	touch             unmogrowp.Touchpoint
	events            []unmogrowp.Event
	consentless, paid string // install event ids
}

func newPostbackFixture(t *testing.T) *postbackFixture {
	t.Helper()
	ctx := context.Background()
	meta, err := metadata.Open(ctx, metadata.SQLiteURL(filepath.Join(t.TempDir(), "metadata.db")), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	app := &unmogrowp.App{Name: "Game", Settings: unmogrowp.DefaultAppSettings()}
	if _, err := meta.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	f := &postbackFixture{meta: meta, app: app.ID}
	f.network = &unmogrowp.Postback{AppID: app.ID, Name: "Net A", MediaSource: "net_a", Enabled: true,
		Triggers:    []string{unmogrowp.TriggerInstall, unmogrowp.TriggerEvent},
		EventTypes:  []string{"purchase"},
		URLTemplate: "https://net-a.example/pb?click={click_id}&c={campaign}&k={activity_kind}&gaid={gaid}&rev={event_revenue}"}
	f.webhook = &unmogrowp.Postback{AppID: app.ID, Name: "Hook", Kind: unmogrowp.KindWebhook, Enabled: true,
		URLTemplate: "https://hooks.example/in"}
	disabled := &unmogrowp.Postback{AppID: app.ID, Name: "Off", MediaSource: "net_a", URLTemplate: "https://off.example/"}
	for _, p := range []*unmogrowp.Postback{f.network, f.webhook, disabled} {
		if err := meta.CreatePostback(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	gaid := func(n string) string { return "38400000-8cf0-11bd-b23e-00000000000" + n }
	f.touch = unmogrowp.Touchpoint{ID: "tp-1", AppID: app.ID, Type: unmogrowp.TouchClick, MediaSource: "net_a",
		Campaign: "a b&c", ClickID: "net-click-7", GAID: gaid("1"), Time: at, ReceivedAt: at}
	no := false
	ev := func(id, typ, device, g string, i int) unmogrowp.Event {
		e := event(app.ID, id, device, 0)
		e.EventType, e.GAID, e.Platform = typ, g, unmogrowp.PlatformAndroid
		e.Timestamp = at.Add(time.Duration(i) * time.Minute)
		e.ReceivedAt = e.Timestamp
		return e
	}
	f.paid, f.consentless = "inst-paid", "inst-consentless"
	consentless := ev(f.consentless, unmogrowp.EventInstall, "dev-3", gaid("3"), 3)
	consentless.ThirdPartySharing = &no
	purchase := ev("buy-1", "purchase", "dev-1", "", 4)
	purchase.Revenue, purchase.HasRevenue, purchase.Currency = 4.99, true, "USD"
	f.events = []unmogrowp.Event{
		ev(f.paid, unmogrowp.EventInstall, "dev-1", gaid("1"), 1),
		ev("inst-organic", unmogrowp.EventInstall, "dev-2", gaid("2"), 2),
		consentless,
		purchase,
		ev("level-1", "level_up", "dev-1", "", 5),
	}
	return f
}

// append appends the fixture's log: the clicks, then the events.
func (f *postbackFixture) append(t *testing.T, e *env) {
	t.Helper()
	second := f.touch
	second.ID, second.ClickID, second.GAID = "tp-3", "net-click-9", f.events[2].GAID
	e.appendRaw(f.app, unmogrowp.EncodeTouchpointRecord(nil, &f.touch), unmogrowp.EncodeTouchpointRecord(nil, &second))
	e.appendEvents(f.events...)
}

// stage returns an Attributor that enqueues the fixture's postbacks into out.
func (f *postbackFixture) stage(t *testing.T, store unmogrowp.EventStore, out unmogrowp.Outbox) *pipeline.Attributor {
	hot := inmem.New(inmem.Options{Retention: 31 * 24 * time.Hour})
	t.Cleanup(func() { hot.Close() })
	pbs := pipeline.NewPostbacks(f.meta, out, pipeline.PostbacksOptions{Logger: quiet()})
	return pipeline.NewAttributor(f.meta, hot, store, pipeline.AttributorOptions{Logger: quiet(), Postbacks: pbs})
}

// deliveries returns the outbox's deliveries of the postback, by activity kind and id.
func (f *postbackFixture) deliveries(t *testing.T, p *unmogrowp.Postback) []unmogrowp.Delivery {
	t.Helper()
	ds, _, err := f.meta.List(context.Background(), unmogrowp.DeliveryFilter{AppID: f.app, PostbackID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ds, func(a, b unmogrowp.Delivery) int {
		return strings.Compare(a.ActivityKind+a.URL+a.ID, b.ActivityKind+b.URL+b.ID)
	})
	return ds
}

// check checks what the outbox holds after the fixture's log was processed: for net_a
// the paid install (macros expanded and escaped) and the purchase, not the organic
// install, not the level_up, not the device without consent; for the webhook every
// install, consent or not.
func (f *postbackFixture) check(t *testing.T) []string {
	t.Helper()
	var got []string
	var ids []string
	for _, d := range f.deliveries(t, f.network) {
		got = append(got, d.ActivityKind+" "+d.URL)
		ids = append(ids, d.ID)
	}
	want := []string{
		"event https://net-a.example/pb?click=net-click-7&c=a%20b%26c&k=event&gaid=&rev=4.99",
		"install https://net-a.example/pb?click=net-click-7&c=a%20b%26c&k=install&gaid=38400000-8cf0-11bd-b23e-000000000001&rev=",
	}
	if !slices.Equal(got, want) {
		t.Errorf("net_a's deliveries:\n got %q\nwant %q", got, want)
	}
	hooks := f.deliveries(t, f.webhook)
	var devices []string
	for _, d := range hooks {
		if d.ActivityKind != unmogrowp.TriggerInstall || d.Method != "POST" || d.Headers["Content-Type"] != "application/json" {
			t.Errorf("webhook delivery %+v", d)
		}
		for _, dev := range []string{"dev-1", "dev-2", "dev-3"} {
			if strings.Contains(string(d.Body), `"device_id":"`+dev+`"`) {
				devices = append(devices, dev)
			}
		}
		// dev-3 did click net_a's link: only its consent keeps net_a from its install.
		if strings.Contains(string(d.Body), `"device_id":"dev-3"`) && !strings.Contains(string(d.Body), `"media_source":"net_a"`) {
			t.Errorf("dev-3's install is not net_a's: %s", d.Body)
		}
		ids = append(ids, d.ID)
	}
	slices.Sort(devices)
	if !slices.Equal(devices, []string{"dev-1", "dev-2", "dev-3"}) {
		t.Errorf("the webhook got the installs of %v, want dev-1, dev-2 and dev-3 (consent does not apply to it)", devices)
	}
	return ids
}

// TestPostbacksEnqueued runs the pipeline over a log with postbacks configured: each
// decision and stored event owes what POSTBACKS.md says, once.
func TestPostbacksEnqueued(t *testing.T) {
	f := newPostbackFixture(t)
	e := newEnv(t)
	f.append(t, e)
	r := start(t, e.wal, e.dedup, e.store, pipeline.Options{Stage: f.stage(t, e.store, f.meta)})
	r.waitRecords(t, int64(2+len(f.events)))
	f.check(t)
}

// TestPostbacksBeforeStoreExactlyOnce enqueues deliveries before the store write: a store
// that always fails leaves them in the outbox (a crash there loses nothing), and the
// replay after a restart, which stores the batch, enqueues the same ids and no other. A
// crash after the store write and before the log commit replays nothing.
func TestPostbacksBeforeStoreExactlyOnce(t *testing.T) {
	f := newPostbackFixture(t)
	e := newEnv(t)
	f.append(t, e)
	n := int64(2 + len(f.events))

	broken := &flakyStore{EventStore: e.store, fail: func(int) bool { return true }}
	r := start(t, e.wal, e.dedup, broken, pipeline.Options{Stage: f.stage(t, broken, f.meta)})
	waitFor(t, "deliveries enqueued before a failing store write", func() bool {
		ds, _, err := f.meta.List(context.Background(), unmogrowp.DeliveryFilter{AppID: f.app, PostbackID: f.webhook.ID})
		return err == nil && len(ds) == 3
	})
	r.stop(t)
	if got := e.count(); got != 0 {
		t.Fatalf("%d events stored through a failing store", got)
	}
	first := f.check(t)
	e.reopen()

	reader := &noCommit{LogReader: e.wal}
	r = start(t, reader, e.dedup, e.store, pipeline.Options{Stage: f.stage(t, e.store, f.meta)})
	r.waitRecords(t, n)
	r.stop(t)
	if again := f.check(t); !slices.Equal(again, first) {
		t.Fatalf("after the replay the deliveries are %v, want the same %v", again, first)
	}
	e.reopen()

	r = start(t, e.wal, e.dedup, e.store, pipeline.Options{Stage: f.stage(t, e.store, f.meta)})
	r.waitRecords(t, n)
	if st := r.p.Stats(); st.AlreadyStored != n {
		t.Fatalf("stats %+v, want all %d records already stored", st, n)
	}
	if again := f.check(t); !slices.Equal(again, first) {
		t.Fatalf("after the second replay the deliveries are %v, want the same %v", again, first)
	}
}

// TestPostbacksConsentMemory checks that a device's third_party_sharing statement holds
// for its later activity until another one: after a session (or a touchpoint of the
// device) with false, its purchases go to the webhook only, until a session with true; in
// one batch and across batches (read from the consent store), and the store keeps the
// latest statement.
func TestPostbacksConsentMemory(t *testing.T) {
	for _, batch := range []int{1, 100} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			t.Parallel()
			f := newPostbackFixture(t)
			e := newEnv(t)
			at := f.touch.Time
			ev := func(id, typ string, i int, sharing *bool) unmogrowp.Event {
				x := event(f.app, id, "dev-1", 0)
				x.EventType, x.Platform, x.ThirdPartySharing = typ, unmogrowp.PlatformAndroid, sharing
				x.Timestamp = at.Add(time.Duration(i) * time.Minute)
				x.ReceivedAt = x.Timestamp
				if typ == "purchase" {
					x.Revenue, x.HasRevenue, x.Currency = float64(i), true, "USD"
				}
				return x
			}
			install := f.events[0] // dev-1's, from net_a's click
			e.appendRaw(f.app, unmogrowp.EncodeTouchpointRecord(nil, &f.touch))
			e.appendEvents(install,
				ev("p1", "purchase", 11, nil),       // sent
				ev("s1", "session", 12, new(false)), // marks dev-1
				ev("p2", "purchase", 13, nil),       // withheld
				ev("s2", "session", 14, new(true)),  // lifts it
				ev("p3", "purchase", 15, nil))       // sent
			optOut := unmogrowp.Touchpoint{ID: "tp-9", AppID: f.app, Type: unmogrowp.TouchClick, MediaSource: "net_b",
				DeviceID: "dev-1", Time: at, ReceivedAt: at, ThirdPartySharing: new(false)}
			e.appendRaw(f.app, unmogrowp.EncodeTouchpointRecord(nil, &optOut)) // marks dev-1 again
			e.appendEvents(ev("p4", "purchase", 16, nil))                      // withheld

			hot := inmem.New(inmem.Options{Retention: 31 * 24 * time.Hour})
			t.Cleanup(func() { hot.Close() })
			pbs := pipeline.NewPostbacks(f.meta, f.meta, pipeline.PostbacksOptions{Logger: quiet(), Consents: f.meta})
			stage := pipeline.NewAttributor(f.meta, hot, e.store, pipeline.AttributorOptions{Logger: quiet(), Postbacks: pbs})
			r := start(t, e.wal, e.dedup, e.store, pipeline.Options{Stage: stage, BatchSize: batch})
			r.waitRecords(t, 9)

			var got []string
			for _, d := range f.deliveries(t, f.network) {
				got = append(got, d.ActivityKind+" "+d.URL[strings.Index(d.URL, "rev="):])
			}
			want := []string{"event rev=11", "event rev=15", "install rev="}
			if !slices.Equal(got, want) {
				t.Errorf("net_a's deliveries: %q, want %q (p2 and p4 withheld)", got, want)
			}
			if n := len(f.deliveries(t, f.webhook)); n != 1 {
				t.Errorf("the webhook got %d deliveries, want the install", n)
			}
			cs, err := f.meta.Consents(context.Background(), f.app, []string{"dev-1"})
			if err != nil || cs["dev-1"].Sharing || cs["dev-1"].Offset != 7 {
				t.Errorf("dev-1's stored consent = %+v, %v; want false at offset 7 (the touchpoint)", cs["dev-1"], err)
			}
		})
	}
}
