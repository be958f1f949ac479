package storetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// RealisticEvents returns n events shaped like production traffic: several apps and
// platforms, device ids, a few custom properties, revenue on purchases; about 400 bytes
// each in the log's encoding. The same seed gives the same events; benchmarks of
// every store and of the pipeline share it.
func RealisticEvents(n int, seed uint64) []unmogrowp.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	apps := []string{"com.example.puzzle", "com.example.runner", "io.acme.shop", "io.acme.news", "net.studio.rpg"}
	types := []string{"session", "session", "session", "level_complete", "ad_view", "purchase", "install"}
	sources := []string{"", "", "facebook_ads", "googleadwords_int", "tiktok_int", "unityads_int"}
	countries := []string{"US", "DE", "BR", "IN", "JP", "FR", "GB"}
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
	}
	events := make([]unmogrowp.Event, n)
	for i := range events {
		ts := start.Add(time.Duration(i) * 3 * time.Millisecond).Add(time.Duration(r.IntN(1e6)) * time.Microsecond)
		e := unmogrowp.Event{
			EventID:     uuid(),
			AppID:       apps[r.IntN(len(apps))],
			EventType:   types[r.IntN(len(types))],
			DeviceID:    uuid(),
			UserID:      fmt.Sprintf("u%07d", r.IntN(5_000_000)),
			SessionID:   uuid(),
			Timestamp:   ts,
			ReceivedAt:  ts.Add(time.Duration(200+r.IntN(2000)) * time.Millisecond),
			AppVersion:  fmt.Sprintf("4.%d.%d", r.IntN(10), r.IntN(20)),
			Country:     countries[r.IntN(len(countries))],
			Language:    "en-US",
			IP:          fmt.Sprintf("203.0.%d.%d", r.IntN(256), r.IntN(256)),
			EventData:   fmt.Appendf(nil, `{"level":%d,"score":%d,"mode":"classic","ab":"variant_%c"}`, r.IntN(200), r.IntN(100000), 'a'+r.IntN(3)),
			MediaSource: sources[r.IntN(len(sources))],
		}
		if e.MediaSource != "" {
			e.Campaign = fmt.Sprintf("spring_sale_%02d", r.IntN(30))
		}
		if r.IntN(2) == 0 {
			e.Platform, e.OSVersion, e.DeviceModel = unmogrowp.PlatformIOS, "17.5", "iPhone15,3"
			e.IDFV, e.ATTStatus = uuid(), "authorized"
			e.UserAgent = "PuzzleApp/4.2 CFNetwork/1494.0.7 Darwin/23.4.0"
		} else {
			e.Platform, e.OSVersion, e.DeviceModel = unmogrowp.PlatformAndroid, "14", "SM-S918B"
			e.GAID = uuid()
			e.UserAgent = "Dalvik/2.1.0 (Linux; U; Android 14; SM-S918B Build/UP1A)"
		}
		if e.EventType == "purchase" {
			e.Revenue, e.HasRevenue, e.Currency = float64(r.IntN(10000))/100, true, "USD"
		}
		if e.EventType == "install" {
			e.Attribution = []byte(`{"click_id":"c-8842","af_status":"Non-organic"}`)
			e.InstallBeginAt = ts.Add(-time.Minute)
		}
		events[i] = e
	}
	return events
}

// RealisticTouchpoints returns n touchpoints shaped like production traffic: mostly clicks
// from tracking links of several networks, a fifth impressions, the clicking device's IP
// and user agent, an advertising id on half of them, sub parameters and deep link values
// on some; about 350 bytes each in the log's encoding. Touch times advance 3ms per
// touchpoint from the start of RealisticEvents. The same seed gives the same touchpoints.
func RealisticTouchpoints(n int, seed uint64) []unmogrowp.Touchpoint {
	r := rand.New(rand.NewPCG(seed, 2))
	apps := []string{"com.example.puzzle", "com.example.runner", "io.acme.shop", "io.acme.news", "net.studio.rpg"}
	sources := []string{"facebook_ads", "googleadwords_int", "tiktok_int", "unityads_int", "applovin_int", "ironsource_int"}
	channels := []string{"", "instagram", "youtube", "search", "display"}
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
	}
	tps := make([]unmogrowp.Touchpoint, n)
	for i := range tps {
		ts := start.Add(time.Duration(i) * 3 * time.Millisecond).Add(time.Duration(r.IntN(1e6)) * time.Microsecond)
		src := r.IntN(len(sources))
		tp := unmogrowp.Touchpoint{
			ID:          hex(32),
			AppID:       apps[r.IntN(len(apps))],
			Type:        unmogrowp.TouchClick,
			LinkID:      fmt.Sprintf("lnk_%s", hex(10)),
			MediaSource: sources[src],
			Campaign:    fmt.Sprintf("spring_sale_%02d", r.IntN(30)),
			Adset:       fmt.Sprintf("adset_%03d", r.IntN(200)),
			Ad:          fmt.Sprintf("creative_%04d", r.IntN(2000)),
			SiteID:      fmt.Sprintf("site_%d", r.IntN(5000)),
			Channel:     channels[r.IntN(len(channels))],
			ClickID:     fmt.Sprintf("%s_%s", sources[src][:4], hex(24)),
			Time:        ts,
			ReceivedAt:  ts.Add(time.Duration(50+r.IntN(500)) * time.Millisecond),
			IP:          fmt.Sprintf("198.51.%d.%d", r.IntN(256), r.IntN(256)),
		}
		if r.IntN(5) == 0 {
			tp.Type = unmogrowp.TouchImpression
		}
		if r.IntN(2) == 0 {
			tp.UserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
			if r.IntN(3) == 0 {
				tp.IDFA = strings.ToUpper(uuid())
			}
		} else {
			tp.UserAgent = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
			if r.IntN(3) != 0 {
				tp.GAID = uuid()
			}
		}
		if r.IntN(4) == 0 {
			tp.DeepLinkValue = fmt.Sprintf("product/%d", r.IntN(10000))
		}
		if r.IntN(3) == 0 {
			tp.Sub[0], tp.Sub[1] = fmt.Sprintf("pub_%d", r.IntN(1000)), hex(8)
		}
		tps[i] = tp
	}
	return tps
}

// RealisticInstalls returns the install decisions of the install events among events, one
// per install event and in their order, each at its event's log position: a third
// attributed to one of the touchpoints (copying its fields), the rest organic; a few
// reinstalls and re-attributions, and a few with rejected touchpoints. The same seed gives
// the same decisions.
func RealisticInstalls(events []unmogrowp.Event, touchpoints []unmogrowp.Touchpoint, seed uint64) []unmogrowp.Install {
	r := rand.New(rand.NewPCG(seed, 3))
	matches := []string{unmogrowp.MatchReferrer, unmogrowp.MatchDeviceID, unmogrowp.MatchDeviceID, unmogrowp.MatchFingerprint, unmogrowp.MatchViewThroughDeviceID}
	var installs []unmogrowp.Install
	for i := range events {
		e := &events[i]
		if e.EventType != unmogrowp.EventInstall {
			continue
		}
		in := unmogrowp.Install{
			Partition: e.Partition,
			Offset:    e.Offset,
			Attribution: unmogrowp.Attribution{
				AppID:          e.AppID,
				DeviceID:       e.DeviceID,
				InstallEventID: e.EventID,
				InstallTime:    e.Timestamp,
				MatchType:      unmogrowp.MatchOrganic,
				MediaSource:    unmogrowp.MediaSourceOrganic,
			},
			FirstInstallTime: e.Timestamp,
		}
		if len(touchpoints) > 0 && r.IntN(3) == 0 {
			tp := &touchpoints[r.IntN(len(touchpoints))]
			in.Attributed, in.MatchType, in.TouchType = true, matches[r.IntN(len(matches))], tp.Type
			in.TouchpointID, in.TouchTime = tp.ID, e.Timestamp.Add(-time.Duration(10+r.IntN(86400))*time.Second)
			in.MediaSource, in.Campaign, in.Adset, in.Ad = tp.MediaSource, tp.Campaign, tp.Adset, tp.Ad
			in.SiteID, in.Channel, in.ClickID, in.DeepLinkValue = tp.SiteID, tp.Channel, tp.ClickID, tp.DeepLinkValue
			in.CTITSeconds = int64(e.Timestamp.Sub(in.TouchTime) / time.Second)
		}
		switch k := r.IntN(50); {
		case k < 2:
			in.IsReinstall, in.FirstInstallTime = true, e.Timestamp.Add(-time.Duration(1+r.IntN(60))*24*time.Hour)
		case k < 3 && in.Attributed:
			in.IsReattribution, in.FirstInstallTime = true, e.Timestamp.Add(-time.Duration(1+r.IntN(60))*24*time.Hour)
		case k < 5 && len(touchpoints) > 0:
			tp := &touchpoints[r.IntN(len(touchpoints))]
			in.Rejected = []unmogrowp.Rejection{{TouchpointID: tp.ID, MediaSource: tp.MediaSource, Reason: unmogrowp.RejectClickInjection}}
		}
		installs = append(installs, in)
	}
	return installs
}
