package storetest

import (
	"fmt"
	"math/rand/v2"
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
