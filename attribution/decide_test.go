package attribution

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// The install every case starts from: an Android device with a GAID, a Play referrer
// naming tp_ref, and a fingerprint that uaPixel8 clicks from installIP match.
var t0 = time.Date(2025, 10, 21, 12, 0, 0, 0, time.UTC)

const (
	installIP = "198.51.100.23"
	gaid      = "38400000-8cf0-11bd-b23e-10b96e40000d"
	day       = 24 * time.Hour
)

func baseInstall() unmogrowp.Event {
	return unmogrowp.Event{
		EventID: "inst-1", AppID: "app", EventType: unmogrowp.EventInstall, DeviceID: "dev-1",
		Timestamp: t0, ReceivedAt: t0.Add(2 * time.Second), Platform: "android", OSVersion: "14",
		DeviceModel: "Pixel 8", GAID: gaid, IP: installIP, UserAgent: "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A)",
		InstallReferrer: "click_id=tp_ref&pid=net",
	}
}

type tpOpt func(*unmogrowp.Touchpoint)

func touch(typ, id string, age time.Duration, opts ...tpOpt) unmogrowp.Touchpoint {
	tp := unmogrowp.Touchpoint{
		ID: id, AppID: "app", Type: typ, MediaSource: "src_" + id, Campaign: "camp_" + id,
		Time: t0.Add(-age), ReceivedAt: t0.Add(-age + time.Second),
		IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X)",
	}
	for _, o := range opts {
		o(&tp)
	}
	return tp
}

func click(id string, age time.Duration, opts ...tpOpt) unmogrowp.Touchpoint {
	return touch(unmogrowp.TouchClick, id, age, opts...)
}

func impression(id string, age time.Duration, opts ...tpOpt) unmogrowp.Touchpoint {
	return touch(unmogrowp.TouchImpression, id, age, opts...)
}

var (
	byDevice tpOpt = func(tp *unmogrowp.Touchpoint) { tp.GAID = gaid }
	byFP     tpOpt = func(tp *unmogrowp.Touchpoint) { tp.IP, tp.UserAgent = installIP, uaPixel8 }
)

func fromIP(ip string) tpOpt     { return func(tp *unmogrowp.Touchpoint) { tp.IP = ip } }
func withUA(ua string) tpOpt     { return func(tp *unmogrowp.Touchpoint) { tp.UserAgent = ua } }
func ofApp(app string) tpOpt     { return func(tp *unmogrowp.Touchpoint) { tp.AppID = app } }
func ofType(typ string) tpOpt    { return func(tp *unmogrowp.Touchpoint) { tp.Type = typ } }
func withGAID(id string) tpOpt   { return func(tp *unmogrowp.Touchpoint) { tp.GAID = id } }
func withIDFA(id string) tpOpt   { return func(tp *unmogrowp.Touchpoint) { tp.IDFA = id } }
func withDevice(id string) tpOpt { return func(tp *unmogrowp.Touchpoint) { tp.DeviceID = id } }
func receivedAfter(d time.Duration) tpOpt {
	return func(tp *unmogrowp.Touchpoint) { tp.ReceivedAt = tp.Time.Add(d) }
}

func rej(id, reason string) unmogrowp.Rejection {
	return unmogrowp.Rejection{TouchpointID: id, MediaSource: "src_" + id, Reason: reason}
}

const (
	injection = unmogrowp.RejectClickInjection
	blockedIP = unmogrowp.RejectBlockedIP
)

// The device's previous decision for the reinstall cases: first installed 30 days ago,
// reinstalled 2 days ago, attributed to tp_old.
func prior(first, previous time.Duration) *Prior {
	return &Prior{
		FirstInstallTime: t0.Add(-first),
		Attribution: unmogrowp.Attribution{
			AppID: "app", DeviceID: "dev-1", InstallEventID: "inst-0", InstallTime: t0.Add(-previous),
			Attributed: true, MatchType: unmogrowp.MatchDeviceID, TouchType: unmogrowp.TouchClick,
			TouchpointID: "tp_old", TouchTime: t0.Add(-previous - time.Hour), MediaSource: "src_tp_old",
			Campaign: "camp_old", DeepLinkValue: "old/dl", CTITSeconds: 3600,
			Rejected: []unmogrowp.Rejection{rej("tp_ancient", injection)},
		},
	}
}

type want struct {
	match      string
	tp         string
	rejected   []unmogrowp.Rejection
	reinstall  bool
	reattribut bool
}

const (
	referrer   = unmogrowp.MatchReferrer
	deviceID   = unmogrowp.MatchDeviceID
	fingerpr   = unmogrowp.MatchFingerprint
	viewDevice = unmogrowp.MatchViewThroughDeviceID
	viewFP     = unmogrowp.MatchViewThroughFingerprint
	organic    = unmogrowp.MatchOrganic
	rejectedM  = unmogrowp.MatchRejected
)

type decideCase struct {
	name       string
	settings   func(*unmogrowp.AppSettings)
	install    func(*unmogrowp.Event)
	prior      *Prior
	candidates []unmogrowp.Touchpoint
	links      []*unmogrowp.Link // whose windows override the app's
	want       want
	// datacenters, when set, are the datacenter_ip rule's ranges.
	datacenters unmogrowp.IPSet
}

func tps(t ...unmogrowp.Touchpoint) []unmogrowp.Touchpoint { return t }

func TestDecideLevels(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "referrer wins", candidates: tps(click("tp_ref", time.Hour)), want: want{match: referrer, tp: "tp_ref"}},
		{name: "device_id wins", candidates: tps(click("c1", time.Hour, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "fingerprint wins", candidates: tps(click("c1", time.Hour, byFP)), want: want{match: fingerpr, tp: "c1"}},
		{name: "view-through device id wins", candidates: tps(impression("i1", time.Hour, byDevice)), want: want{match: viewDevice, tp: "i1"}},
		{name: "view-through fingerprint wins", candidates: tps(impression("i1", time.Hour, byFP)), want: want{match: viewFP, tp: "i1"}},
		{name: "no candidates is organic", want: want{match: organic}},
		{name: "an unrelated click is organic", candidates: tps(click("c1", time.Hour)), want: want{match: organic}},
		{name: "an impression named by the referrer is not a referrer match", candidates: tps(impression("tp_ref", time.Hour)), want: want{match: organic}},
		{name: "a touch matching two levels counts at the first", candidates: tps(click("tp_ref", time.Hour, byDevice, byFP)), want: want{match: referrer, tp: "tp_ref"}},
		{name: "device_id field matches device_id", candidates: tps(click("c1", time.Hour, withDevice("dev-1"))), want: want{match: deviceID, tp: "c1"}},
		{name: "gaid compared without case", candidates: tps(click("c1", time.Hour, withGAID("38400000-8CF0-11BD-B23E-10B96E40000D"))), want: want{match: deviceID, tp: "c1"}},
		{name: "ids match kind by kind only", candidates: tps(click("c1", time.Hour, withIDFA(gaid))), want: want{match: organic}},
		{name: "all-zero ids never match",
			install:    func(e *unmogrowp.Event) { e.IDFA = "00000000-0000-0000-0000-000000000000" },
			candidates: tps(click("c1", time.Hour, withIDFA("00000000-0000-0000-0000-000000000000"))), want: want{match: organic}},
		{name: "referrer encoded twice",
			install:    func(e *unmogrowp.Event) { e.InstallReferrer = "click_id%3Dtp_ref%26pid%3Dnet" },
			candidates: tps(click("tp_ref", time.Hour)), want: want{match: referrer, tp: "tp_ref"}},
	})
}

func TestDecidePrecedence(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "referrer beats a newer device id click",
			candidates: tps(click("tp_ref", 2*time.Hour), click("c1", time.Hour, byDevice)), want: want{match: referrer, tp: "tp_ref"}},
		{name: "device id beats a newer fingerprint click",
			candidates: tps(click("c1", 2*time.Hour, byDevice), click("c2", time.Hour, byFP)), want: want{match: deviceID, tp: "c1"}},
		{name: "fingerprint click beats a newer device id impression",
			candidates: tps(click("c1", 2*time.Hour, byFP), impression("i1", time.Hour, byDevice)), want: want{match: fingerpr, tp: "c1"}},
		{name: "view-through device id beats a newer view-through fingerprint",
			candidates: tps(impression("i1", 2*time.Hour, byDevice), impression("i2", time.Hour, byFP)), want: want{match: viewDevice, tp: "i1"}},
		{name: "most recent within a level",
			candidates: tps(click("c1", 2*time.Hour, byDevice), click("c2", time.Hour, byDevice), click("c3", 3*time.Hour, byDevice)),
			want:       want{match: deviceID, tp: "c2"}},
		{name: "same time: the later received wins",
			candidates: tps(click("c1", time.Hour, byDevice, receivedAfter(5*time.Second)), click("c2", time.Hour, byDevice, receivedAfter(time.Second))),
			want:       want{match: deviceID, tp: "c1"}},
		{name: "same time and receive time: the greater id wins",
			candidates: tps(click("c2", time.Hour, byDevice), click("c10", time.Hour, byDevice), click("c1", time.Hour, byDevice)),
			want:       want{match: deviceID, tp: "c2"}},
		{name: "a duplicate candidate is harmless",
			candidates: tps(click("c1", time.Hour, byDevice), click("c1", time.Hour, byDevice)), want: want{match: deviceID, tp: "c1"}},
	})
}

func TestDecideWindows(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "referrer at 7 days is inside", candidates: tps(click("tp_ref", 7*day)), want: want{match: referrer, tp: "tp_ref"}},
		{name: "referrer one second past 7 days is outside", candidates: tps(click("tp_ref", 7*day+time.Second)), want: want{match: organic}},
		{name: "device id at 7 days is inside", candidates: tps(click("c1", 7*day, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "device id one second past 7 days is outside", candidates: tps(click("c1", 7*day+time.Second, byDevice)), want: want{match: organic}},
		{name: "click lookback 1 day: at the edge inside",
			settings:   func(s *unmogrowp.AppSettings) { s.ClickLookbackDays = 1 },
			candidates: tps(click("c1", day, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "click lookback 1 day: one second past outside",
			settings:   func(s *unmogrowp.AppSettings) { s.ClickLookbackDays = 1 },
			candidates: tps(click("c1", day+time.Second, byDevice), click("tp_ref", day+time.Second)), want: want{match: organic}},
		{name: "fingerprint at 24 hours is inside", candidates: tps(click("c1", 24*time.Hour, byFP)), want: want{match: fingerpr, tp: "c1"}},
		{name: "fingerprint one second past 24 hours is outside", candidates: tps(click("c1", 24*time.Hour+time.Second, byFP)), want: want{match: organic}},
		{name: "fingerprint window 2 hours",
			settings:   func(s *unmogrowp.AppSettings) { s.FingerprintWindowHours = 2 },
			candidates: tps(click("c1", 2*time.Hour+time.Second, byFP), click("c2", 2*time.Hour, byFP)), want: want{match: fingerpr, tp: "c2"}},
		{name: "view-through device id at 24 hours is inside", candidates: tps(impression("i1", 24*time.Hour, byDevice)), want: want{match: viewDevice, tp: "i1"}},
		{name: "view-through device id one second past 24 hours is outside", candidates: tps(impression("i1", 24*time.Hour+time.Second, byDevice)), want: want{match: organic}},
		{name: "view lookback 168 hours",
			settings:   func(s *unmogrowp.AppSettings) { s.ViewLookbackHours = 168 },
			candidates: tps(impression("i1", 7*day, byDevice)), want: want{match: viewDevice, tp: "i1"}},
		{name: "view-through fingerprint takes the smaller window: fingerprint's at the edge",
			settings:   func(s *unmogrowp.AppSettings) { s.ViewLookbackHours = 48 },
			candidates: tps(impression("i1", 24*time.Hour, byFP)), want: want{match: viewFP, tp: "i1"}},
		{name: "view-through fingerprint takes the smaller window: fingerprint's one second past",
			settings:   func(s *unmogrowp.AppSettings) { s.ViewLookbackHours = 48 },
			candidates: tps(impression("i1", 24*time.Hour+time.Second, byFP)), want: want{match: organic}},
		{name: "view-through fingerprint takes the smaller window: view's at the edge",
			settings:   func(s *unmogrowp.AppSettings) { s.ViewLookbackHours = 12 },
			candidates: tps(impression("i1", 12*time.Hour, byFP)), want: want{match: viewFP, tp: "i1"}},
		{name: "view-through fingerprint takes the smaller window: view's one second past",
			settings:   func(s *unmogrowp.AppSettings) { s.ViewLookbackHours = 12 },
			candidates: tps(impression("i1", 12*time.Hour+time.Second, byFP)), want: want{match: organic}},
		{name: "a touch after the install is never a candidate",
			candidates: tps(click("tp_ref", -time.Second, byDevice, byFP), impression("i1", -time.Second, byDevice, byFP)), want: want{match: organic}},
		{name: "a touch at the install time is a candidate (here: injection)",
			candidates: tps(click("c1", 0, byDevice)), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", injection)}}},
		{name: "another app's touchpoint is never a candidate",
			candidates: tps(click("tp_ref", time.Hour, ofApp("other"), byDevice, byFP)), want: want{match: organic}},
		{name: "a touch of unknown type is never a candidate",
			candidates: tps(click("tp_ref", time.Hour, ofType("conversion"), byDevice, byFP)), want: want{match: organic}},
		{name: "a touch without time is never a candidate",
			candidates: tps(func() unmogrowp.Touchpoint { tp := click("c1", time.Hour, byDevice); tp.Time = time.Time{}; return tp }()),
			want:       want{match: organic}},
	})
}

func TestDecideFingerprints(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "fingerprint disabled: no fingerprint click",
			settings:   func(s *unmogrowp.AppSettings) { s.FingerprintEnabled = false },
			candidates: tps(click("c1", time.Hour, byFP)), want: want{match: organic}},
		{name: "fingerprint disabled: no view-through fingerprint",
			settings:   func(s *unmogrowp.AppSettings) { s.FingerprintEnabled = false },
			candidates: tps(impression("i1", time.Hour, byFP)), want: want{match: organic}},
		{name: "fingerprint disabled: device ids still match",
			settings:   func(s *unmogrowp.AppSettings) { s.FingerprintEnabled = false },
			candidates: tps(click("c1", time.Hour, byFP), impression("i1", 2*time.Hour, byDevice)), want: want{match: viewDevice, tp: "i1"}},
		{name: "ipv6 in the same /64",
			install:    func(e *unmogrowp.Event) { e.IP = "2001:db8:aa:bb:1:2:3:4" },
			candidates: tps(click("c1", time.Hour, byFP, fromIP("2001:db8:aa:bb:ffff::9"))), want: want{match: fingerpr, tp: "c1"}},
		{name: "ipv6 in another /64",
			install:    func(e *unmogrowp.Event) { e.IP = "2001:db8:aa:bb:1:2:3:4" },
			candidates: tps(click("c1", time.Hour, byFP, fromIP("2001:db8:aa:bc:1:2:3:4"))), want: want{match: organic}},
		{name: "ipv4 compared exactly",
			candidates: tps(click("c1", time.Hour, byFP, fromIP("198.51.100.24"))), want: want{match: organic}},
		{name: "model used when both know it",
			install:    func(e *unmogrowp.Event) { e.DeviceModel = "Pixel 7" },
			candidates: tps(click("c1", time.Hour, byFP)), want: want{match: organic}},
		{name: "model ignored when the click does not know it",
			install:    func(e *unmogrowp.Event) { e.DeviceModel = "Pixel 7" },
			candidates: tps(click("c1", time.Hour, byFP, withUA("Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0"))),
			want:       want{match: fingerpr, tp: "c1"}},
		{name: "model ignored when the install does not know it",
			install:    func(e *unmogrowp.Event) { e.DeviceModel = ""; e.UserAgent = "" },
			candidates: tps(click("c1", time.Hour, byFP)), want: want{match: fingerpr, tp: "c1"}},
		{name: "install without os version has no fingerprint",
			install:    func(e *unmogrowp.Event) { e.OSVersion = ""; e.UserAgent = "" },
			candidates: tps(click("c1", time.Hour, byFP), impression("i1", time.Hour, byFP)), want: want{match: organic}},
		{name: "install os version falls back to its user agent",
			install:    func(e *unmogrowp.Event) { e.OSVersion = "" },
			candidates: tps(click("c1", time.Hour, byFP)), want: want{match: fingerpr, tp: "c1"}},
		{name: "install without ip has no fingerprint",
			install:    func(e *unmogrowp.Event) { e.IP = "" },
			candidates: tps(click("c1", time.Hour, byFP)), want: want{match: organic}},
		{name: "click whose user agent has no os version has no fingerprint",
			candidates: tps(click("c1", time.Hour, byFP, withUA("okhttp/4.12.0"))), want: want{match: organic}},
		{name: "other os minor does not match",
			install:    func(e *unmogrowp.Event) { e.OSVersion = "14.1" },
			candidates: tps(click("c1", time.Hour, byFP)), want: want{match: organic}},
	})
}

func TestDecideFraud(t *testing.T) {
	block := func(list ...string) func(*unmogrowp.AppSettings) {
		return func(s *unmogrowp.AppSettings) { s.IPBlocklist = list }
	}
	runDecide(t, []decideCase{
		{name: "ctit exactly min is valid", candidates: tps(click("c1", 10*time.Second, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "ctit one second below min is injection",
			candidates: tps(click("c1", 9*time.Second, byDevice)), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", injection)}}},
		{name: "ctit a millisecond below min is injection",
			candidates: tps(click("c1", 10*time.Second-time.Millisecond, byDevice)), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", injection)}}},
		{name: "min ctit 0 takes a touch at the install time",
			settings:   func(s *unmogrowp.AppSettings) { s.MinCTITSeconds = 0 },
			candidates: tps(click("c1", 0, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "min ctit 3600",
			settings:   func(s *unmogrowp.AppSettings) { s.MinCTITSeconds = 3600 },
			candidates: tps(click("c1", time.Hour-time.Second, byDevice), click("c2", time.Hour, byDevice)),
			want:       want{match: deviceID, tp: "c2", rejected: []unmogrowp.Rejection{rej("c1", injection)}}},
		{name: "touch after install_begin_ts is injection",
			install:    func(e *unmogrowp.Event) { e.InstallBeginAt = t0.Add(-time.Minute) },
			candidates: tps(click("c1", time.Minute-time.Second, byDevice)), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", injection)}}},
		{name: "touch exactly at install_begin_ts is valid",
			install:    func(e *unmogrowp.Event) { e.InstallBeginAt = t0.Add(-time.Minute) },
			candidates: tps(click("c1", time.Minute, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "injection at a higher level falls through to the next",
			candidates: tps(click("tp_ref", 5*time.Second), click("c1", time.Hour, byDevice)),
			want:       want{match: deviceID, tp: "c1", rejected: []unmogrowp.Rejection{rej("tp_ref", injection)}}},
		{name: "impressions are checked too",
			candidates: tps(impression("i1", 5*time.Second, byDevice)), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("i1", injection)}}},
		{name: "blocked by cidr",
			settings:   block("10.0.0.0/8", "192.0.2.0/24"),
			candidates: tps(click("c1", time.Hour, byDevice, fromIP("192.0.2.55"))), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", blockedIP)}}},
		{name: "blocked by single ip",
			settings:   block("192.0.2.55"),
			candidates: tps(click("c1", time.Hour, byDevice, fromIP("192.0.2.55")), click("c2", 2*time.Hour, byDevice, fromIP("192.0.2.56"))),
			want:       want{match: deviceID, tp: "c2", rejected: []unmogrowp.Rejection{rej("c1", blockedIP)}}},
		{name: "blocked ipv6 cidr",
			settings:   block("2001:db8:dead::/48"),
			candidates: tps(click("c1", time.Hour, byDevice, fromIP("2001:db8:dead:1::5"))), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", blockedIP)}}},
		{name: "ipv4-mapped address blocked by its ipv4 cidr",
			settings:   block("192.0.2.0/24"),
			candidates: tps(click("c1", time.Hour, byDevice, fromIP("::ffff:192.0.2.7"))), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", blockedIP)}}},
		{name: "outside the blocklist wins",
			settings:   block("192.0.2.0/24", "not a cidr"),
			candidates: tps(click("c1", time.Hour, byDevice, fromIP("198.51.100.9"))), want: want{match: deviceID, tp: "c1"}},
		{name: "both reasons: click_injection is listed",
			settings:   block("192.0.2.0/24"),
			candidates: tps(click("c1", time.Second, byDevice, fromIP("192.0.2.1"))), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", injection)}}},
		{name: "all invalid: organic, every one rejected, by level then most recent",
			settings: block("192.0.2.0/24"),
			candidates: tps(
				impression("i1", time.Hour, byDevice, fromIP("192.0.2.9")),
				click("c1", 3*time.Second, byFP),
				click("c2", 2*time.Hour, byDevice, fromIP("192.0.2.8")),
				click("c3", time.Hour, byDevice, fromIP("192.0.2.7")),
				click("tp_ref", 2*time.Second),
			),
			want: want{match: rejectedM, rejected: []unmogrowp.Rejection{
				rej("tp_ref", injection), rej("c3", blockedIP), rej("c2", blockedIP), rej("c1", injection), rej("i1", blockedIP),
			}}},
		{name: "invalid candidates below the winning level are listed",
			candidates: tps(click("c1", time.Hour, byDevice), click("c2", 2*time.Second, byFP), impression("i1", time.Second, byDevice)),
			want:       want{match: deviceID, tp: "c1", rejected: []unmogrowp.Rejection{rej("c2", injection), rej("i1", injection)}}},
		{name: "an invalid touch matching two levels is listed once",
			candidates: tps(click("tp_ref", 3*time.Second, byDevice, byFP), click("tp_ref", 3*time.Second, byDevice, byFP)),
			want:       want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("tp_ref", injection)}}},
		{name: "an invalid touch that matches no level is not listed",
			candidates: tps(click("c1", time.Second), click("c2", 8*day, byDevice, fromIP("192.0.2.1"))), settings: block("192.0.2.0/24"),
			want: want{match: organic}},
	})
}

func TestDecideReinstall(t *testing.T) {
	window := 90 * day
	runDecide(t, []decideCase{
		{name: "within the window a newer valid click re-attributes",
			prior: prior(30*day, 2*day), candidates: tps(click("c1", time.Hour, byDevice)),
			want: want{match: deviceID, tp: "c1", reattribut: true}},
		{name: "re-attribution takes the waterfall of levels 1-3",
			prior:      prior(30*day, 2*day),
			candidates: tps(click("c1", time.Hour, byFP), click("tp_ref", 5*time.Hour), click("c2", 2*time.Hour, byDevice)),
			want:       want{match: referrer, tp: "tp_ref", reattribut: true}},
		{name: "re-attribution by fingerprint",
			prior: prior(30*day, 2*day), candidates: tps(click("c1", time.Hour, byFP)),
			want: want{match: fingerpr, tp: "c1", reattribut: true}},
		{name: "within the window without a newer click it is a reinstall",
			prior: prior(30*day, 2*day), want: want{match: deviceID, tp: "tp_old", reinstall: true}},
		{name: "an impression does not re-attribute",
			prior: prior(30*day, 2*day), candidates: tps(impression("i1", time.Hour, byDevice), impression("i2", time.Hour, byFP)),
			want: want{match: deviceID, tp: "tp_old", reinstall: true}},
		{name: "a click older than the previous install does not re-attribute",
			prior: prior(30*day, 2*day), candidates: tps(click("c1", 3*day, byDevice)),
			want: want{match: deviceID, tp: "tp_old", reinstall: true}},
		{name: "a click exactly at the previous install does not re-attribute",
			prior: prior(30*day, 2*day), candidates: tps(click("c1", 2*day, byDevice)),
			want: want{match: deviceID, tp: "tp_old", reinstall: true}},
		{name: "an invalid newer click is rejected and the device keeps its attribution",
			prior: prior(30*day, 2*day), candidates: tps(click("c1", 3*time.Second, byDevice), click("c2", 3*day, byDevice, fromIP("192.0.2.1"))),
			settings: func(s *unmogrowp.AppSettings) { s.IPBlocklist = []string{"192.0.2.1"} },
			want:     want{match: deviceID, tp: "tp_old", reinstall: true, rejected: []unmogrowp.Rejection{rej("c1", injection)}}},
		{name: "the window counts from the first install, not the previous one",
			prior: prior(window+time.Second, time.Hour+time.Minute), candidates: tps(click("c1", 2*time.Hour, byDevice)),
			want: want{match: deviceID, tp: "c1"}},
		{name: "exactly at the window edge is inside",
			prior: prior(window, 2*day), want: want{match: deviceID, tp: "tp_old", reinstall: true}},
		{name: "one second after the window is a new install",
			prior: prior(window+time.Second, 2*day), want: want{match: organic}},
		{name: "after the window the full waterfall runs, impressions and older clicks included",
			prior: prior(window+time.Second, 2*day), candidates: tps(impression("i1", time.Hour, byDevice), click("c1", 3*day, byDevice)),
			want: want{match: deviceID, tp: "c1"}},
		{name: "re-attribution window 1 day",
			settings: func(s *unmogrowp.AppSettings) { s.ReattributionWindowDays = 1 },
			prior:    prior(day+time.Second, day+time.Second), candidates: tps(impression("i1", time.Hour, byDevice)),
			want: want{match: viewDevice, tp: "i1"}},
		{name: "an organic device re-attributed by a newer click",
			prior: func() *Prior {
				p := prior(30*day, 2*day)
				p.Attribution = unmogrowp.Attribution{InstallTime: t0.Add(-2 * day), MatchType: organic, MediaSource: unmogrowp.MediaSourceOrganic}
				return p
			}(),
			candidates: tps(click("c1", time.Hour, byDevice)), want: want{match: deviceID, tp: "c1", reattribut: true}},
		{name: "an organic device stays organic on reinstall",
			prior: func() *Prior {
				p := prior(30*day, 2*day)
				p.Attribution = unmogrowp.Attribution{InstallTime: t0.Add(-2 * day), MatchType: organic, MediaSource: unmogrowp.MediaSourceOrganic}
				return p
			}(),
			want: want{match: organic, reinstall: true}},
	})
}

// runDecide runs every case through Decide, in the given candidate order and reversed,
// and through Rules.Decide, checking the decision and that the candidates are untouched.
func runDecide(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := unmogrowp.DefaultAppSettings()
			if tc.settings != nil {
				tc.settings(&s)
			}
			in := baseInstall()
			if tc.install != nil {
				tc.install(&in)
			}
			before := slices.Clone(tc.candidates)
			rules := NewRules(s, tc.links...)
			a := Decide(&in, tc.candidates, s, tc.prior)
			if tc.datacenters != nil {
				rules = rules.WithDatacenters(tc.datacenters)
			}
			if tc.links != nil || tc.datacenters != nil {
				a = rules.Decide(&in, tc.candidates, tc.prior)
			}
			checkDecision(t, a, tc.want)
			if !reflect.DeepEqual(before, tc.candidates) {
				t.Fatal("Decide modified its candidates")
			}
			rev := slices.Clone(tc.candidates)
			slices.Reverse(rev)
			if b := rules.Decide(&in, rev, tc.prior); !reflect.DeepEqual(a, b) {
				t.Fatalf("the decision depends on the order of candidates:\n%+v\n%+v", a, b)
			}
			if b := decideWithFingerprints(rules, &in, tc.candidates, tc.prior); !reflect.DeepEqual(a, b) {
				t.Fatalf("DecideRefs with the candidates' fingerprints decides otherwise:\n%+v\n%+v", b, a)
			}
			if a.InstallEventID != in.EventID || !a.InstallTime.Equal(in.Timestamp) || a.AppID != in.AppID || a.DeviceID != in.DeviceID {
				t.Fatalf("install fields not the install's: %+v", a)
			}
		})
	}
}

func checkDecision(t *testing.T, a unmogrowp.Attribution, w want) {
	t.Helper()
	if a.MatchType != w.match || a.TouchpointID != w.tp {
		t.Fatalf("decided %s/%q, want %s/%q (%+v)", a.MatchType, a.TouchpointID, w.match, w.tp, a)
	}
	if !reflect.DeepEqual(a.Rejected, w.rejected) {
		t.Fatalf("rejected:\n got %+v\nwant %+v", a.Rejected, w.rejected)
	}
	if a.IsReinstall != w.reinstall || a.IsReattribution != w.reattribut {
		t.Fatalf("is_reinstall %v, is_reattribution %v; want %v, %v", a.IsReinstall, a.IsReattribution, w.reinstall, w.reattribut)
	}
	if wantKind := map[bool]string{true: unmogrowp.ReattributionReinstall}[w.reinstall || w.reattribut]; a.ReattributionKind != wantKind {
		t.Fatalf("reattribution_kind %q, want %q", a.ReattributionKind, wantKind)
	}
	if w.match == organic || w.match == rejectedM {
		if a.Attributed || a.MediaSource != w.match || a.TouchType != "" || !a.TouchTime.IsZero() {
			t.Fatalf("%s decision with touch fields: %+v", w.match, a)
		}
		if (w.match == rejectedM) != a.IsRejectedInstall() {
			t.Fatalf("IsRejectedInstall %v for %s", a.IsRejectedInstall(), w.match)
		}
	} else if !a.Attributed || a.MediaSource == "" {
		t.Fatalf("attributed decision without attribution: %+v", a)
	}
}

// decideWithFingerprints is rules.DecideRefs among candidates with their fingerprints
// computed beforehand, as a caller deciding many installs among them does.
func decideWithFingerprints(rules *Rules, in *unmogrowp.Event, candidates []unmogrowp.Touchpoint, prior *Prior) unmogrowp.Attribution {
	refs := make([]*unmogrowp.Touchpoint, len(candidates))
	fps := make([]Fingerprint, len(candidates))
	for i := range candidates {
		refs[i], fps[i] = &candidates[i], TouchpointFingerprint(&candidates[i])
	}
	return rules.DecideRefs(in, refs, fps, prior)
}

func TestDecideFillsTheAttribution(t *testing.T) {
	in := baseInstall()
	tp := click("tp_ref", 90*time.Minute+500*time.Millisecond)
	tp.Adset, tp.Ad, tp.SiteID, tp.Channel, tp.ClickID = "as", "ad", "site", "ch", "net-click-7"
	tp.DeepLinkValue = "product/42?color=red"
	got := Decide(&in, []unmogrowp.Touchpoint{tp}, unmogrowp.DefaultAppSettings(), nil)
	want := unmogrowp.Attribution{
		AppID: "app", DeviceID: "dev-1", InstallEventID: "inst-1", InstallTime: t0,
		Attributed: true, MatchType: referrer, TouchType: unmogrowp.TouchClick, TouchpointID: "tp_ref",
		TouchTime: tp.Time, MediaSource: "src_tp_ref", Campaign: "camp_tp_ref", Adset: "as", Ad: "ad",
		SiteID: "site", Channel: "ch", ClickID: "net-click-7", DeepLinkValue: "product/42?color=red",
		CTITSeconds: 5400,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("attribution:\n got %+v\nwant %+v", got, want)
	}
}

func TestDecideReinstallKeepsTheAttribution(t *testing.T) {
	in := baseInstall()
	p := prior(30*day, 2*day)
	got := Decide(&in, nil, unmogrowp.DefaultAppSettings(), p)
	want := p.Attribution
	want.InstallEventID, want.InstallTime = "inst-1", t0
	want.IsReinstall, want.Rejected = true, nil
	want.ReattributionKind = unmogrowp.ReattributionReinstall
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reinstall:\n got %+v\nwant %+v", got, want)
	}
	if len(p.Attribution.Rejected) != 1 {
		t.Fatal("Decide modified the prior")
	}
}

func TestNextPrior(t *testing.T) {
	s := unmogrowp.DefaultAppSettings()
	dev := func(at time.Time, id string, clicks ...unmogrowp.Touchpoint) (unmogrowp.Event, []unmogrowp.Touchpoint) {
		e := baseInstall()
		e.EventID, e.Timestamp, e.InstallReferrer = id, at, ""
		return e, clicks
	}
	// First install, attributed to c1.
	e1, c := dev(t0, "i1", click("c1", time.Hour, byDevice))
	a1 := Decide(&e1, c, s, nil)
	p := NextPrior(nil, a1)
	if !p.FirstInstallTime.Equal(t0) || p.Attribution.TouchpointID != "c1" {
		t.Fatalf("prior after the first install: %+v", p)
	}
	// 30 days later, a newer click re-attributes; the window still counts from t0.
	e2, c := dev(t0.Add(30*day), "i2", click("c2", -30*day+time.Hour, byDevice))
	a2 := Decide(&e2, c, s, &p)
	if !a2.IsReattribution || a2.TouchpointID != "c2" {
		t.Fatalf("second install: %+v", a2)
	}
	p = NextPrior(&p, a2)
	if !p.FirstInstallTime.Equal(t0) {
		t.Fatalf("re-attribution moved the window's start: %+v", p.FirstInstallTime)
	}
	// 60 more days (90 in all): a reinstall that keeps c2.
	e3, _ := dev(t0.Add(90*day), "i3")
	a3 := Decide(&e3, nil, s, &p)
	if !a3.IsReinstall || a3.TouchpointID != "c2" || a3.InstallEventID != "i3" {
		t.Fatalf("third install: %+v", a3)
	}
	p = NextPrior(&p, a3)
	// One more second: a new install, which restarts the window.
	e4, _ := dev(t0.Add(90*day+time.Second), "i4")
	a4 := Decide(&e4, nil, s, &p)
	if a4.IsReinstall || a4.IsReattribution || a4.Attributed {
		t.Fatalf("fourth install: %+v", a4)
	}
	if p = NextPrior(&p, a4); !p.FirstInstallTime.Equal(e4.Timestamp) {
		t.Fatalf("a new install did not restart the window: %+v", p.FirstInstallTime)
	}
	// A zero FirstInstallTime counts from the attribution's install.
	if got := (&Prior{Attribution: a4}).first(); !got.Equal(e4.Timestamp) {
		t.Fatalf("first() = %v", got)
	}
}

func TestLookback(t *testing.T) {
	s := unmogrowp.DefaultAppSettings()
	if got := NewRules(s).Lookback(); got != 7*day {
		t.Fatalf("default lookback %v", got)
	}
	s.ClickLookbackDays, s.ViewLookbackHours = 1, 168
	if got := NewRules(s).Lookback(); got != 168*time.Hour {
		t.Fatalf("lookback %v", got)
	}
	// A link's own windows count: the index must keep its touchpoints as long.
	if got := NewRules(s, &unmogrowp.Link{ID: "lk_long", ClickLookbackDays: 30}).Lookback(); got != 30*day {
		t.Fatalf("lookback with a 30-day link %v", got)
	}
	if got := NewRules(s, &unmogrowp.Link{ID: "lk_short", ClickLookbackDays: 2}).Lookback(); got != 168*time.Hour {
		t.Fatalf("lookback with a 2-day link %v", got)
	}
}

// linkOf makes a touchpoint one of the link's.
func linkOf(id string) tpOpt { return func(tp *unmogrowp.Touchpoint) { tp.LinkID = id } }

// TestDecideLinkWindows checks that a link's own windows replace the app's for that
// link's touchpoints only, candidate by candidate, at every level, closed at the edge.
func TestDecideLinkWindows(t *testing.T) {
	short := &unmogrowp.Link{ID: "lk_short", ClickLookbackDays: 1, ViewLookbackHours: 2}
	long := &unmogrowp.Link{ID: "lk_long", ClickLookbackDays: 30, ViewLookbackHours: 168}
	plain := &unmogrowp.Link{ID: "lk_plain"} // no windows of its own: the app's
	links := []*unmogrowp.Link{short, long, plain}
	runDecide(t, []decideCase{
		{name: "a 30-day link's click at 30 days is inside", links: links,
			candidates: tps(click("c1", 30*day, byDevice, linkOf("lk_long"))), want: want{match: deviceID, tp: "c1"}},
		{name: "a 30-day link's click one second past 30 days is outside", links: links,
			candidates: tps(click("c1", 30*day+time.Second, byDevice, linkOf("lk_long")), click("tp_ref", 30*day+time.Second, linkOf("lk_long"))), want: want{match: organic}},
		{name: "a 30-day link's referrer click at 20 days is inside", links: links,
			candidates: tps(click("tp_ref", 20*day, linkOf("lk_long"))), want: want{match: referrer, tp: "tp_ref"}},
		{name: "a 1-day link's click at 1 day is inside", links: links,
			candidates: tps(click("c1", day, byDevice, linkOf("lk_short"))), want: want{match: deviceID, tp: "c1"}},
		{name: "a 1-day link's click at 3 days is outside though the app keeps 7", links: links,
			candidates: tps(click("c1", 3*day, byDevice, linkOf("lk_short")), click("tp_ref", 3*day, linkOf("lk_short"))), want: want{match: organic}},
		{name: "per candidate: the 1-day link's newer click is out, the 30-day link's older one wins", links: links,
			candidates: tps(click("c1", 3*day, byDevice, linkOf("lk_short")), click("c2", 10*day, byDevice, linkOf("lk_long"))),
			want:       want{match: deviceID, tp: "c2"}},
		{name: "a link without windows and a touch without a link keep the app's 7 days", links: links,
			candidates: tps(click("c1", 7*day+time.Second, byDevice, linkOf("lk_plain")), click("c2", 7*day+time.Second, byDevice), click("c3", 7*day, byDevice, linkOf("lk_plain"))),
			want:       want{match: deviceID, tp: "c3"}},
		{name: "an unknown link keeps the app's windows", links: links,
			candidates: tps(click("c1", 7*day, byDevice, linkOf("lk_deleted"))), want: want{match: deviceID, tp: "c1"}},
		{name: "a 168-hour link's impression at 7 days is inside", links: links,
			candidates: tps(impression("i1", 7*day, byDevice, linkOf("lk_long"))), want: want{match: viewDevice, tp: "i1"}},
		{name: "a 2-hour link's impression at 3 hours is outside", links: links,
			candidates: tps(impression("i1", 3*time.Hour, byDevice, linkOf("lk_short"))), want: want{match: organic}},
		{name: "a 2-hour link's view-through fingerprint takes the smaller window", links: links,
			candidates: tps(impression("i1", 2*time.Hour+time.Second, byFP, linkOf("lk_short")), impression("i2", 2*time.Hour, byFP, linkOf("lk_short"))),
			want:       want{match: viewFP, tp: "i2"}},
		{name: "a 168-hour link's view-through fingerprint keeps the fingerprint's 24 hours", links: links,
			candidates: tps(impression("i1", 24*time.Hour+time.Second, byFP, linkOf("lk_long"))), want: want{match: organic}},
		{name: "a 30-day link's fingerprint click keeps the fingerprint's 24 hours", links: links,
			candidates: tps(click("c1", 24*time.Hour+time.Second, byFP, linkOf("lk_long"))), want: want{match: organic}},
		{name: "a short link's click too old to match is not rejected either", links: links,
			settings:   func(s *unmogrowp.AppSettings) { s.IPBlocklist = []string{"192.0.2.0/24"} },
			candidates: tps(click("c1", 2*day, byDevice, linkOf("lk_short"))), want: want{match: organic}},
	})
}

// TestDecideIgnoresCandidateOrder shuffles random candidate sets, ties included: the
// decision, rejected list and all, must not change.
func TestDecideIgnoresCandidateOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := unmogrowp.DefaultAppSettings()
	s.IPBlocklist = []string{"192.0.2.128/25"}
	rules := NewRules(s)
	in := baseInstall()
	opts := []tpOpt{byDevice, byFP, fromIP("192.0.2.200"), withDevice("dev-1"), ofApp("other")}
	for iter := range 300 {
		var cands []unmogrowp.Touchpoint
		for i := range 1 + rng.IntN(30) {
			var o []tpOpt
			for _, opt := range opts {
				if rng.IntN(3) == 0 {
					o = append(o, opt)
				}
			}
			id := fmt.Sprintf("c%d", i)
			if rng.IntN(8) == 0 {
				id = "tp_ref"
			}
			age := time.Duration(rng.IntN(4)) * time.Duration(rng.IntN(3)+1) * 4 * time.Second // many ties, some injections
			if rng.IntN(2) == 0 {
				age = time.Duration(rng.IntN(3)) * time.Hour
			}
			tp := touch([]string{unmogrowp.TouchClick, unmogrowp.TouchImpression}[rng.IntN(2)], id, age, o...)
			tp.ReceivedAt = tp.Time.Add(time.Duration(rng.IntN(2)) * time.Second)
			cands = append(cands, tp)
		}
		want := rules.Decide(&in, cands, nil)
		if got := decideWithFingerprints(rules, &in, cands, nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("iteration %d: DecideRefs with the fingerprints decides otherwise:\n got %+v\nwant %+v", iter, got, want)
		}
		for range 5 {
			rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
			if got := rules.Decide(&in, cands, nil); !reflect.DeepEqual(got, want) {
				t.Fatalf("iteration %d: order changed the decision:\n got %+v\nwant %+v", iter, got, want)
			}
		}
	}
}
