package storetest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// FixtureApps are the apps of GenerateFixture, biggest first: they get about 50%, 25%, 15%
// and 10% of the events.
var FixtureApps = []string{"com.example.puzzle", "io.acme.shop", "net.studio.rpg", "io.acme.news"}

// FixtureStart is the first event time of GenerateFixture; its events span FixtureSpan.
var FixtureStart = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// FixtureSpan is how long GenerateFixture's event times span from FixtureStart.
const FixtureSpan = 30 * 24 * time.Hour

// fixtureDevice is a device of GenerateFixture and the attribution it has.
type fixtureDevice struct {
	id, platform, os, model, ip, ua string
	country                         string
	source, campaign                string
	installTime                     time.Time
}

// fixtureSources are the paid media sources of GenerateFixture, with their share of the
// attributed installs in percent.
var fixtureSources = []struct {
	name  string
	share int
}{{"facebook_ads", 35}, {"googleadwords_int", 30}, {"tiktok_int", 20}, {"unityads_int", 15}}

// GenerateFixture streams n events of realistic traffic over FixtureSpan, with the
// touchpoints and install decisions that go with them, to fn in batches of batchEvents
// events, in event-time order (the touchpoint that won an install is a little older than
// the batch it comes in, as in the pipeline). fn must not keep the batch: its slices are
// reused. It stops at fn's first error and returns it. The same n and seed give the same
// data.
//
// The shape: four apps (FixtureApps) with Zipf-like shares; about 2% of the events are
// the install events of new devices, 40% of which are attributed to a click of one of
// four media sources (the rest organic, 5% of those with a rejected touchpoint); every
// other event comes from a device already installed, picked with a Zipf distribution
// that favours recently installed devices (so retention decays with time); 1% of those are
// install events again (reinstalls, and re-attributions to a new click); event types are
// mostly sessions, with level_complete, ad_view, tutorial_step and purchases (with
// revenue, USD); each event carries its device's media source and campaign ("organic" for
// organic devices). About 12 touchpoints per 100 events are clicks and impressions of
// the paid sources that led to nothing.
func GenerateFixture(n int, seed uint64, batchEvents int, fn func(unmogrowp.Batch) error) error {
	if batchEvents <= 0 {
		batchEvents = 10_000
	}
	r := rand.New(rand.NewPCG(seed, 4))
	zipf := rand.NewZipf(r, 1.1, 100, 1<<30)
	devices := make([][]*fixtureDevice, len(FixtureApps))
	countries := []string{"US", "US", "DE", "BR", "IN", "JP", "FR", "GB"}
	types := []string{
		"session", "session", "session", "session", "session", "session",
		"level_complete", "level_complete", "ad_view", "ad_view", "tutorial_step", "purchase",
	}
	var b unmogrowp.Batch
	var offset int64
	var seq uint64
	pos := func() (int32, int64) {
		offset++
		return int32(offset % 4), offset
	}
	id := func(prefix string) string {
		seq++
		return fmt.Sprintf("%s%016x%08x", prefix, seq, r.Uint32())
	}
	pickSource := func() (string, string) {
		k := r.IntN(100)
		for _, s := range fixtureSources {
			if k < s.share {
				return s.name, fmt.Sprintf("%s_campaign_%d", s.name[:4], r.IntN(8))
			}
			k -= s.share
		}
		panic("unreachable")
	}
	touch := func(app string, typ string, t time.Time, source, campaign string, d *fixtureDevice) *unmogrowp.Touchpoint {
		p, o := pos()
		tp := unmogrowp.Touchpoint{
			Partition: p, Offset: o, ID: id("tp"), AppID: app, Type: typ,
			LinkID: fmt.Sprintf("lnk_%s_%d", source[:4], r.IntN(50)), MediaSource: source, Campaign: campaign,
			Adset: fmt.Sprintf("adset_%d", r.IntN(20)), Ad: fmt.Sprintf("ad_%d", r.IntN(100)),
			SiteID: fmt.Sprintf("site_%d", r.IntN(500)), ClickID: id("nc"),
			Time: t, ReceivedAt: t.Add(200 * time.Millisecond),
			IP:        fmt.Sprintf("198.51.%d.%d", r.IntN(256), r.IntN(256)),
			UserAgent: "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Mobile Safari/537.36",
		}
		if d != nil {
			tp.IP, tp.UserAgent, tp.DeviceID = d.ip, d.ua, d.id
		}
		b.Touchpoints = append(b.Touchpoints, tp)
		return &b.Touchpoints[len(b.Touchpoints)-1]
	}
	step := FixtureSpan / time.Duration(max(n, 1))
	for i := range n {
		t := FixtureStart.Add(step * time.Duration(i)).Add(time.Duration(r.IntN(1000)) * time.Microsecond)
		a := 0
		switch k := r.IntN(100); {
		case k < 50:
			a = 0
		case k < 75:
			a = 1
		case k < 90:
			a = 2
		default:
			a = 3
		}
		app := FixtureApps[a]
		var d *fixtureDevice
		evType := types[r.IntN(len(types))]
		var in *unmogrowp.Install
		if len(devices[a]) == 0 || r.IntN(100) < 2 {
			// A new device and its install.
			d = &fixtureDevice{id: id("dev"), country: countries[r.IntN(len(countries))], installTime: t,
				ip: fmt.Sprintf("203.0.%d.%d", r.IntN(256), r.IntN(256))}
			switch k := r.IntN(20); {
			case k < 9:
				d.platform, d.os, d.model = unmogrowp.PlatformIOS, "17.5", "iPhone15,3"
				d.ua = "PuzzleApp/4.2 CFNetwork/1494.0.7 Darwin/23.4.0"
			case k < 19:
				d.platform, d.os, d.model = unmogrowp.PlatformAndroid, "14", "SM-S918B"
				d.ua = "Dalvik/2.1.0 (Linux; U; Android 14; SM-S918B Build/UP1A)"
			default:
				d.platform, d.os, d.ua = unmogrowp.PlatformWeb, "", "Mozilla/5.0 (X11; Linux x86_64)"
			}
			devices[a] = append(devices[a], d)
			evType = unmogrowp.EventInstall
			in = &unmogrowp.Install{Attribution: unmogrowp.Attribution{
				MatchType: unmogrowp.MatchOrganic, MediaSource: unmogrowp.MediaSourceOrganic,
			}, FirstInstallTime: t}
			if r.IntN(100) < 40 {
				src, camp := pickSource()
				tt := t.Add(-time.Duration(30+r.IntN(86400)) * time.Second).Truncate(time.Microsecond)
				tp := touch(app, unmogrowp.TouchClick, tt, src, camp, d)
				in.Attributed, in.MatchType, in.TouchType = true, unmogrowp.MatchDeviceID, unmogrowp.TouchClick
				in.TouchpointID, in.TouchTime, in.MediaSource, in.Campaign = tp.ID, tt, src, camp
				in.Adset, in.Ad, in.SiteID, in.ClickID = tp.Adset, tp.Ad, tp.SiteID, tp.ClickID
			} else if r.IntN(100) < 5 {
				src, camp := pickSource()
				tp := touch(app, unmogrowp.TouchClick, t.Add(-2*time.Second).Truncate(time.Microsecond), src, camp, d)
				reason := unmogrowp.RejectClickInjection
				if r.IntN(10) < 3 {
					reason = unmogrowp.RejectBlockedIP
				}
				in.Rejected = []unmogrowp.Rejection{{TouchpointID: tp.ID, MediaSource: src, Reason: reason}}
				in.MatchType, in.MediaSource = unmogrowp.MatchRejected, unmogrowp.MediaSourceRejected
				if r.IntN(2) == 0 {
					// A second source's click rejected too: the install still counts once.
					src2, camp2 := pickSource()
					tp2 := touch(app, unmogrowp.TouchClick, t.Add(-3*time.Second).Truncate(time.Microsecond), src2, camp2, d)
					in.Rejected = append(in.Rejected, unmogrowp.Rejection{TouchpointID: tp2.ID, MediaSource: src2, Reason: unmogrowp.RejectClickInjection})
				}
			}
			d.source, d.campaign = in.MediaSource, in.Campaign
		} else {
			devs := devices[a]
			d = devs[len(devs)-1-int(zipf.Uint64()%uint64(len(devs)))]
			if r.IntN(100) == 0 {
				// An install event again: a reinstall, or a re-attribution to a new click.
				evType = unmogrowp.EventInstall
				in = &unmogrowp.Install{Attribution: unmogrowp.Attribution{
					MatchType: unmogrowp.MatchOrganic, MediaSource: d.source, Campaign: d.campaign,
					Attributed: d.source != unmogrowp.MediaSourceOrganic, IsReinstall: true,
				}, FirstInstallTime: d.installTime}
				if in.Attributed {
					in.MatchType = unmogrowp.MatchDeviceID
				}
				if r.IntN(4) == 0 {
					src, camp := pickSource()
					tt := t.Add(-time.Duration(30+r.IntN(3600)) * time.Second).Truncate(time.Microsecond)
					tp := touch(app, unmogrowp.TouchClick, tt, src, camp, d)
					in.IsReinstall, in.IsReattribution, in.Attributed = false, true, true
					in.MatchType, in.TouchType, in.TouchpointID, in.TouchTime = unmogrowp.MatchDeviceID, unmogrowp.TouchClick, tp.ID, tt
					in.MediaSource, in.Campaign = src, camp
					d.source, d.campaign = src, camp
				}
			}
		}
		p, o := pos()
		e := unmogrowp.Event{
			Partition: p, Offset: o, EventID: id("ev"), AppID: app, EventType: evType,
			DeviceID: d.id, SessionID: fmt.Sprintf("s%x", r.Uint32()), Timestamp: t,
			ReceivedAt: t.Add(time.Duration(200+r.IntN(2000)) * time.Millisecond),
			Platform:   d.platform, OSVersion: d.os, AppVersion: fmt.Sprintf("4.%d.%d", r.IntN(10), r.IntN(20)),
			DeviceModel: d.model, Country: d.country, Language: "en-US", IP: d.ip, UserAgent: d.ua,
			MediaSource: d.source, Campaign: d.campaign,
		}
		switch evType {
		case "purchase":
			e.Revenue, e.HasRevenue, e.Currency = float64(99+r.IntN(5000))/100, true, "USD"
			e.EventData = fmt.Appendf(nil, `{"sku":"gem_pack_%d"}`, r.IntN(5))
		case "level_complete":
			e.EventData = fmt.Appendf(nil, `{"level":%d,"score":%d}`, r.IntN(200), r.IntN(100000))
		}
		b.Events = append(b.Events, e)
		if in != nil {
			in.Partition, in.Offset = p, o
			in.AppID, in.DeviceID, in.InstallEventID, in.InstallTime = app, d.id, e.EventID, t
			if in.TouchTime.IsZero() {
				in.CTITSeconds = 0
			} else {
				in.CTITSeconds = int64(t.Sub(in.TouchTime) / time.Second)
			}
			b.Installs = append(b.Installs, *in)
		}
		if r.IntN(100) < 12 {
			// A click or an impression that led to nothing (yet).
			src, camp := pickSource()
			typ := unmogrowp.TouchClick
			if r.IntN(5) == 0 {
				typ = unmogrowp.TouchImpression
			}
			touch(app, typ, t, src, camp, nil)
		}
		if len(b.Events) >= batchEvents || i == n-1 {
			if err := fn(b); err != nil {
				return err
			}
			b.Events, b.Touchpoints, b.Installs = b.Events[:0], b.Touchpoints[:0], b.Installs[:0]
		}
	}
	return nil
}
