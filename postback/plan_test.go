package postback

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

var (
	installTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	testApp     = &unmogrowp.App{
		ID: "app-1", BundleID: "com.example.game", Platform: unmogrowp.PlatformAndroid,
		Settings: unmogrowp.AppSettings{IPBlocklist: []string{"203.0.113.0/24"}},
	}
)

// clickOf returns a click of the network on the device, touched before the install.
func clickOf(id, network string, before time.Duration) unmogrowp.Touchpoint {
	return unmogrowp.Touchpoint{
		Partition: 0, Offset: 3, ID: id, AppID: "app-1", Type: unmogrowp.TouchClick,
		MediaSource: network, Campaign: "a b&c", Adset: "set", Ad: "ad", SiteID: "site", Channel: "ch",
		ClickID: "nclk-" + id, Time: installTime.Add(-before), GAID: "gaid-1", IP: "198.51.100.7",
		Sub: [5]string{"s1", "s2", "s3", "s4", "s5"}, DeepLinkValue: "dl",
	}
}

// decided returns the decision of an install won by tp (organic when nil).
func decided(tp *unmogrowp.Touchpoint, rejected ...unmogrowp.Rejection) Decision {
	a := unmogrowp.Attribution{
		AppID: "app-1", DeviceID: "dev-1", InstallEventID: "ev-1", InstallTime: installTime,
		MatchType: unmogrowp.MatchOrganic, MediaSource: unmogrowp.MediaSourceOrganic, Rejected: rejected,
	}
	var tps []unmogrowp.Touchpoint
	if tp != nil {
		a.Attributed, a.MatchType, a.TouchType, a.TouchpointID, a.TouchTime = true, unmogrowp.MatchDeviceID, tp.Type, tp.ID, tp.Time
		a.MediaSource, a.Campaign, a.Adset, a.Ad, a.SiteID, a.Channel = tp.MediaSource, tp.Campaign, tp.Adset, tp.Ad, tp.SiteID, tp.Channel
		a.ClickID, a.DeepLinkValue = tp.ClickID, tp.DeepLinkValue
		a.CTITSeconds = int64(installTime.Sub(tp.Time) / time.Second)
		tps = append(tps, *tp)
	}
	return Decision{
		App:     testApp,
		Install: unmogrowp.Install{Partition: 0, Offset: 10, Attribution: a, FirstInstallTime: installTime},
		Event: &unmogrowp.Event{
			Partition: 0, Offset: 10, EventID: "ev-1", AppID: "app-1", EventType: unmogrowp.EventInstall,
			DeviceID: "dev-1", Timestamp: installTime, Platform: "android", OSVersion: "14", AppVersion: "1.2",
			Country: "DE", GAID: "gaid-1", IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (Linux)",
		},
		Touchpoints: tps,
	}
}

func compile(t testing.TB, p unmogrowp.Postback) *Postback {
	t.Helper()
	if p.AppID == "" {
		p.AppID = "app-1"
	}
	p.Enabled = true
	c, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile(%s): %v", p.ID, err)
	}
	return c
}

func networkPostback(t testing.TB, id, network string, triggers ...string) *Postback {
	return compile(t, unmogrowp.Postback{
		ID: id, Name: id, MediaSource: network, Triggers: triggers,
		URLTemplate: "https://" + network + ".example/pb?k={activity_kind}&c={campaign}&clk={click_id}&r={reject_reason}&v={reject_reason_value}&e={event_name}&rev={event_revenue}",
	})
}

func sampleSource() *Source {
	d := decided(ptr(clickOf("tp-1", "net", 30*time.Second)))
	return &Source{
		ActivityKind: unmogrowp.TriggerInstall, DeliveryID: "d1", App: d.App, Install: &d.Install.Attribution,
		Touch: TouchOf(&d.Install.Attribution, &d.Touchpoints[0]), Event: d.Event,
	}
}

func ptr[T any](v T) *T { return &v }

// query returns the query of a delivery's URL.
func query(t *testing.T, d unmogrowp.Delivery) url.Values {
	t.Helper()
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// kinds lists "postback id/activity kind" of each delivery.
func kinds(ds []unmogrowp.Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.PostbackID+"/"+d.ActivityKind)
	}
	return out
}

func TestSourceValues(t *testing.T) {
	src := sampleSource()
	for macro, want := range map[string]string{
		"activity_kind": "install", "app_id": "app-1", "bundle_id": "com.example.game", "platform": "android",
		"os_version": "14", "app_version": "1.2", "country": "DE", "device_id": "dev-1", "gaid": "gaid-1",
		"idfa": "", "ip": "198.51.100.7", "user_agent": "Mozilla/5.0 (Linux)", "media_source": "net",
		"campaign": "a b&c", "adset": "set", "ad": "ad", "site_id": "site", "channel": "ch", "sub1": "s1",
		"sub5": "s5", "deep_link_value": "dl", "click_id": "nclk-tp-1", "touchpoint_id": "tp-1",
		"match_type": "device_id", "touch_type": "click", "install_unix_ts": "1772366400",
		"click_unix_ts": "1772366370", "ctit": "30", "is_reinstall": "false", "is_reattribution": "false",
		"event_name": "", "event_revenue": "", "reject_reason": "", "delivery_id": "d1",
	} {
		if got := src.Value(macro); got != want {
			t.Errorf("{%s} = %q, want %q", macro, got, want)
		}
	}
	// Every macro of the spec is one Value knows: a full source gives each a value or a
	// deliberate "" (the event's and the rejection's, absent from an install).
	absent := []string{"idfa", "idfv", "android_id", "event_name", "event_id", "event_unix_ts", "event_revenue", "event_currency", "event_data_json", "reject_reason", "reject_reason_value"}
	for _, m := range unmogrowp.PostbackMacros {
		if src.Value(m) == "" && !slices.Contains(absent, m) {
			t.Errorf("{%s} has no value in a full install source", m)
		}
	}
}

func TestForDecision(t *testing.T) {
	net := networkPostback(t, "pb-net", "net", "install", "reinstall", "rejected_install")
	other := networkPostback(t, "pb-other", "other", "install", "rejected_install")
	all := compile(t, unmogrowp.Postback{ID: "pb-all", Name: "all", MediaSource: "agg", SendAll: true, URLTemplate: "https://agg.example/i?s={media_source}"})
	hook := compile(t, unmogrowp.Postback{ID: "pb-hook", Name: "hook", Kind: unmogrowp.KindWebhook, Triggers: []string{"install", "rejected_install"}, URLTemplate: "https://adv.example/hook"})
	off := networkPostback(t, "pb-off", "net")
	off.Enabled = false
	pbs := []*Postback{net, other, all, hook, off}

	t.Run("attributed install", func(t *testing.T) {
		ds := ForDecision(pbs, decided(ptr(clickOf("tp-1", "net", time.Minute))), installTime)
		if want := []string{"pb-net/install", "pb-all/install", "pb-hook/install"}; !slices.Equal(kinds(ds), want) {
			t.Fatalf("deliveries = %v, want %v", kinds(ds), want)
		}
		d := ds[0]
		if !strings.Contains(d.URL, "c=a%20b%26c") || query(t, d).Get("clk") != "nclk-tp-1" || query(t, d).Get("k") != "install" {
			t.Fatalf("URL = %s", d.URL)
		}
		if d.ID != unmogrowp.DeliveryID("pb-net", 0, 10, installTime, "install", "") || d.Host != "net.example" || d.Method != "GET" ||
			d.Status != unmogrowp.DeliveryPending || !d.CreatedAt.Equal(installTime) || !d.NextAttemptAt.Equal(installTime) {
			t.Fatalf("delivery = %+v", d)
		}
		again := ForDecision(pbs, decided(ptr(clickOf("tp-1", "net", time.Minute))), installTime.Add(time.Hour))
		if again[0].ID != d.ID || again[0].URL != d.URL {
			t.Fatalf("deciding again made delivery %s %s, want %s %s", again[0].ID, again[0].URL, d.ID, d.URL)
		}
		var body struct {
			ActivityKind string                `json:"activity_kind"`
			Attribution  unmogrowp.Attribution `json:"attribution"`
		}
		if err := json.Unmarshal(ds[2].Body, &body); err != nil || body.ActivityKind != "install" ||
			body.Attribution.TouchpointID != "tp-1" || ds[2].Method != "POST" || ds[2].Headers["Content-Type"] != "application/json" {
			t.Fatalf("webhook %s %v body %s: %v", ds[2].Method, ds[2].Headers, ds[2].Body, err)
		}
	})
	t.Run("organic", func(t *testing.T) {
		ds := ForDecision(pbs, decided(nil), installTime)
		if want := []string{"pb-all/install", "pb-hook/install"}; !slices.Equal(kinds(ds), want) {
			t.Fatalf("deliveries = %v, want %v: only send_all and webhooks get organic", kinds(ds), want)
		}
		if got := query(t, ds[0]).Get("s"); got != "organic" {
			t.Fatalf("send_all's media_source = %q", got)
		}
	})
	t.Run("click injection", func(t *testing.T) {
		// other's click was injected (CTIT 3 s); the install is organic.
		d := decided(nil, unmogrowp.Rejection{TouchpointID: "tp-inj", MediaSource: "other", Reason: unmogrowp.RejectClickInjection})
		d.Touchpoints = append(d.Touchpoints, clickOf("tp-inj", "other", 3*time.Second))
		ds := ForDecision(pbs, d, installTime)
		if want := []string{"pb-all/install", "pb-hook/install", "pb-other/rejected_install", "pb-hook/rejected_install"}; !slices.Equal(kinds(ds), want) {
			t.Fatalf("deliveries = %v, want %v: no install postback to the injecting network", kinds(ds), want)
		}
		q := query(t, ds[2])
		if q.Get("k") != "rejected_install" || q.Get("r") != "click_injection" || q.Get("v") != "3" || q.Get("clk") != "nclk-tp-inj" {
			t.Fatalf("rejected_install URL = %s", ds[2].URL)
		}
		if ds[2].ID != unmogrowp.DeliveryID("pb-other", 0, 10, installTime, "rejected_install", "tp-inj") {
			t.Fatalf("rejected_install id = %s", ds[2].ID)
		}
	})
	t.Run("send_all network that was rejected", func(t *testing.T) {
		d := decided(nil, unmogrowp.Rejection{TouchpointID: "tp-x", MediaSource: "agg", Reason: unmogrowp.RejectBlockedIP})
		ds := ForDecision(pbs, d, installTime)
		if slices.Contains(kinds(ds), "pb-all/install") {
			t.Fatalf("deliveries = %v: the rejected network got an install postback", kinds(ds))
		}
	})
	t.Run("blocked ip value", func(t *testing.T) {
		tp := clickOf("tp-b", "other", time.Hour)
		tp.IP = "203.0.113.9"
		d := decided(nil, unmogrowp.Rejection{TouchpointID: "tp-b", MediaSource: "other", Reason: unmogrowp.RejectBlockedIP})
		d.Touchpoints = append(d.Touchpoints, tp)
		ds := ForDecision([]*Postback{other}, d, installTime)
		if len(ds) != 1 || query(t, ds[0]).Get("v") != "203.0.113.0/24" || query(t, ds[0]).Get("r") != "blocked_ip" {
			t.Fatalf("deliveries = %v %v", kinds(ds), ds)
		}
	})
	t.Run("reinstall", func(t *testing.T) {
		d := decided(ptr(clickOf("tp-1", "net", time.Minute)))
		d.Install.IsReinstall = true
		if ds := ForDecision([]*Postback{net, other}, d, installTime); !slices.Equal(kinds(ds), []string{"pb-net/reinstall"}) {
			t.Fatalf("deliveries = %v", kinds(ds))
		}
		d.Install.IsReinstall, d.Install.IsReattribution = false, true
		if ds := ForDecision([]*Postback{net, other}, d, installTime); len(ds) != 0 {
			t.Fatalf("deliveries = %v, want none: no postback has the reattribution trigger", kinds(ds))
		}
	})
	t.Run("no third-party sharing", func(t *testing.T) {
		d := decided(ptr(clickOf("tp-1", "net", time.Minute)), unmogrowp.Rejection{TouchpointID: "tp-inj", MediaSource: "other", Reason: unmogrowp.RejectClickInjection})
		d.NoSharing = true
		if ds := ForDecision(pbs, d, installTime); !slices.Equal(kinds(ds), []string{"pb-hook/install", "pb-hook/rejected_install"}) {
			t.Fatalf("deliveries = %v, want only the webhook's", kinds(ds))
		}
	})
	t.Run("another app's postback", func(t *testing.T) {
		foreign := networkPostback(t, "pb-foreign", "net")
		foreign.AppID = "app-2"
		if ds := ForDecision([]*Postback{foreign}, decided(ptr(clickOf("tp-1", "net", time.Minute))), installTime); len(ds) != 0 {
			t.Fatalf("deliveries = %v", kinds(ds))
		}
	})
}

func TestForEvent(t *testing.T) {
	purchases := compile(t, unmogrowp.Postback{
		ID: "pb-buy", Name: "buy", MediaSource: "net", Triggers: []string{"event"}, EventTypes: []string{"purchase"},
		Method: "POST", URLTemplate: "https://net.example/ev",
		BodyTemplate: `{"event":"{event_name}","revenue":{event_revenue},"currency":"{event_currency}","data":{event_data_json},"campaign":"{campaign}"}`,
	})
	every := networkPostback(t, "pb-ev", "net", "event")
	hook := compile(t, unmogrowp.Postback{ID: "pb-hook", Name: "hook", Kind: unmogrowp.KindWebhook, Triggers: []string{"event"}, URLTemplate: "https://adv.example/hook"})
	pbs := []*Postback{purchases, every, hook}
	d := decided(ptr(clickOf("tp-1", "net", time.Minute)))
	event := func(typ string) EventActivity {
		e := &unmogrowp.Event{
			Partition: 0, Offset: 20, EventID: "ev-2", AppID: "app-1", EventType: typ, DeviceID: "dev-1",
			Timestamp: installTime.Add(time.Hour), Revenue: 9.99, HasRevenue: true, Currency: "EUR",
			EventData: []byte(`{"sku":"gem \"x\""}`), MediaSource: "net", Campaign: "a b&c",
		}
		return EventActivity{App: testApp, Event: e, Attribution: &d.Install.Attribution, Touch: &d.Touchpoints[0]}
	}

	ds := ForEvent(pbs, event("purchase"), installTime)
	if want := []string{"pb-buy/event", "pb-ev/event", "pb-hook/event"}; !slices.Equal(kinds(ds), want) {
		t.Fatalf("purchase deliveries = %v, want %v", kinds(ds), want)
	}
	want := `{"event":"purchase","revenue":9.99,"currency":"EUR","data":{"sku":"gem \"x\""},"campaign":"a b&c"}`
	if string(ds[0].Body) != want || ds[0].Headers["Content-Type"] != "application/json" {
		t.Fatalf("body = %s (%v), want %s", ds[0].Body, ds[0].Headers, want)
	}
	if ds[0].ID != unmogrowp.DeliveryID("pb-buy", 0, 20, installTime.Add(time.Hour), "event", "") {
		t.Fatalf("id = %s", ds[0].ID)
	}
	var hookBody struct {
		ActivityKind string
		Event        struct {
			EventType string   `json:"event_type"`
			Revenue   *float64 `json:"revenue"`
		}
	}
	if err := json.Unmarshal(ds[2].Body, &hookBody); err != nil || hookBody.Event.EventType != "purchase" || *hookBody.Event.Revenue != 9.99 {
		t.Fatalf("webhook body %s: %v", ds[2].Body, err)
	}
	if ds := ForEvent(pbs, event("level_up"), installTime); !slices.Equal(kinds(ds), []string{"pb-ev/event", "pb-hook/event"}) {
		t.Fatalf("level_up deliveries = %v: event_types must filter", kinds(ds))
	}
	if ds := ForEvent(pbs, event(unmogrowp.EventInstall), installTime); len(ds) != 0 {
		t.Fatalf("an install event made event deliveries %v", kinds(ds))
	}
	organic := event("purchase")
	organic.Attribution, organic.Touch = nil, nil
	if ds := ForEvent(pbs, organic, installTime); !slices.Equal(kinds(ds), []string{"pb-hook/event"}) {
		t.Fatalf("organic device's deliveries = %v", kinds(ds))
	}
	private := event("purchase")
	private.NoSharing = true
	if ds := ForEvent(pbs, private, installTime); !slices.Equal(kinds(ds), []string{"pb-hook/event"}) {
		t.Fatalf("deliveries without third-party sharing = %v", kinds(ds))
	}
}
