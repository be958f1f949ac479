package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/internal/hotstatetest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/pipeline"
)

// defaultSettings answers every app with the default settings.
type defaultSettings struct{}

func (defaultSettings) App(_ context.Context, id string) (*unmogrowp.App, error) {
	return &unmogrowp.App{ID: id, Settings: unmogrowp.DefaultAppSettings()}, nil
}

func (defaultSettings) Links(context.Context, string) ([]*unmogrowp.Link, error) {
	return []*unmogrowp.Link{}, nil
}

// BenchmarkAttributor times the attribution stage alone (Prepare, then Stored) on batches
// of 5000 log records shaped like production: against an in-process hot state holding
// 300,000 realistic touchpoints, each batch has 1000 new touchpoints, 1000 installs (half
// of them from a device or fingerprint that clicked, some reinstalls) and 3000 sessions and
// purchases of installed devices. It reports records/s, events/s (the events among the
// records) and installs decided per second.
func BenchmarkAttributor(b *testing.B) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const stored, batches = 300_000, 20
	all := hotstatetest.RealisticTouchpoints(stored+batches*1000, 11, now)
	hot := inmem.New(inmem.Options{Retention: 31 * 24 * time.Hour})
	defer hot.Close()
	if err := hot.Apply(ctx, all[:stored], nil); err != nil {
		b.Fatal(err)
	}
	// The store answers only for a batch read again, which this benchmark never does.
	stage := pipeline.NewAttributor(defaultSettings{}, hot, newEnv(b).store, pipeline.AttributorOptions{Logger: quiet()})

	var offset int64
	mk := func(k int) unmogrowp.Batch {
		var bt unmogrowp.Batch
		bt.Touchpoints = all[stored+k*1000 : stored+(k+1)*1000]
		for i := range 1000 {
			offset++
			src := all[(k*7919+i*104729)%len(all[:stored+k*1000])]
			e := unmogrowp.Event{EventID: fmt.Sprintf("i%d-%d", k, i), AppID: src.AppID, EventType: unmogrowp.EventInstall,
				DeviceID: fmt.Sprintf("dev-%d", (k*1000+i)%15000), Timestamp: src.Time.Add(time.Duration(i%90) * time.Minute),
				ReceivedAt: now, Partition: 0, Offset: offset}
			switch i % 4 {
			case 0:
				e.GAID, e.IDFA = src.GAID, src.IDFA
			case 1:
				e.IP = src.IP
				d := attribution.ParseUserAgent(src.UserAgent)
				e.Platform, e.OSVersion, e.DeviceModel = d.Platform, d.OSVersion, d.Model
			}
			bt.Events = append(bt.Events, e)
			for j := range 3 {
				offset++
				ev := e
				ev.EventID, ev.EventType, ev.Offset = fmt.Sprintf("%s-%d", e.EventID, j), "session", offset
				bt.Events = append(bt.Events, ev)
			}
		}
		for i := range bt.Touchpoints {
			offset++
			bt.Touchpoints[i].Offset = offset
		}
		return bt
	}
	work := make([]unmogrowp.Batch, batches)
	for k := range work {
		work[k] = mk(k)
	}
	var records, events, installs, attributed int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bt := work[i%batches]
		bt.Installs = bt.Installs[:0]
		if err := stage.Prepare(ctx, &bt); err != nil {
			b.Fatal(err)
		}
		if err := stage.Stored(ctx, &bt); err != nil {
			b.Fatal(err)
		}
		records += len(bt.Events) + len(bt.Touchpoints)
		events += len(bt.Events)
		installs += len(bt.Installs)
		for _, in := range bt.Installs {
			if in.Attributed {
				attributed++
			}
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(installs)/b.Elapsed().Seconds(), "installs/s")
	b.ReportMetric(float64(attributed)/float64(max(installs, 1)), "attributed-share")
}

// BenchmarkPrepareEvents times Prepare and Stored on batches shaped like the split
// consumer's load: 50,000 sessions and purchases (no installs) of 20,000 installed devices
// drawn Zipf-distributed, against a hot state that reads a batch's devices at once (a
// pipeline.DevicesReader, as package redis's is, here over the in-process one): the walk's
// CPU time an event (cpu-µs/event) and its allocations, without Redis.
func BenchmarkPrepareEvents(b *testing.B) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const devices, events = 20_000, 50_000
	hot := inmem.New(inmem.Options{Retention: 31 * 24 * time.Hour})
	defer hot.Close()
	installs := make([]unmogrowp.Install, devices)
	for i := range installs {
		installs[i] = unmogrowp.Install{Offset: int64(i), Attribution: unmogrowp.Attribution{AppID: "app1",
			DeviceID: fmt.Sprintf("dev-%d", i), InstallTime: now.Add(-time.Hour), InstallEventID: fmt.Sprintf("i%d", i)}}
	}
	if err := hot.Apply(ctx, nil, installs); err != nil {
		b.Fatal(err)
	}
	hs, _ := hotState(hot, true)
	stage := pipeline.NewAttributor(defaultSettings{}, hs, newEnv(b).store, pipeline.AttributorOptions{Logger: quiet()})
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, devices-1)
	var bt unmogrowp.Batch
	for i := range events {
		typ := "session"
		if i%16 == 0 {
			typ = "purchase"
		}
		bt.Events = append(bt.Events, unmogrowp.Event{EventID: fmt.Sprintf("e%d", i), AppID: "app1", EventType: typ,
			DeviceID: fmt.Sprintf("dev-%d", zipf.Uint64()), Timestamp: now.Add(time.Duration(i) * time.Millisecond),
			ReceivedAt: now, Offset: int64(devices + i)})
	}
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		bt.Installs = bt.Installs[:0]
		cpu0 := testenv.ProcessCPU()
		if err := stage.Prepare(ctx, &bt); err != nil {
			b.Fatal(err)
		}
		if err := stage.Stored(ctx, &bt); err != nil {
			b.Fatal(err)
		}
		cpu += testenv.ProcessCPU() - cpu0
		if len(bt.Installs) != 0 {
			b.Fatalf("%d installs decided among sessions of installed devices", len(bt.Installs))
		}
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*events), "cpu-µs/event")
}

// mixedLog makes batches shaped like `unmogrowp-bench loadgen`'s default traffic (items 90%
// events, 6% touchpoints sent by a network, 4% clicks on a link) for one app: 100,000
// devices drawn Zipf-distributed (s 1.1, the head flattened over about 100 devices), each
// with its platform's advertising id, its IP address (in a network's touchpoints) and,
// per item, one of its platform's three OS versions and models; 5% of the events are
// installs. A device's installs are
// thus mostly reinstalls and re-attributions, and a batch's installs share keys: the hot
// devices' ids and, above all, the fingerprints: an SDK's events carry the address they
// were sent from (the load tool's, 127.0.0.1) as do the clicks on a link, so every install
// shares one of six fingerprint keys (platform and OS version) with every link click, each
// key with MaxCandidatesPerKey touchpoints in the hot state and the batch's own clicks.
// Times are in whole seconds and move on with the records at 30,000 a second, so most
// candidates are too recent to win (click_injection).
type mixedLog struct {
	rng    *rand.Rand
	zipf   *rand.Zipf
	offset int64
	seq    int
	clock  time.Time
}

// mixedPlatforms are each platform's OS versions and models, with a browser's user agent.
var mixedPlatforms = [2][3]struct{ os, model, ua string }{
	{
		{"17.1.2", "iPhone15,2", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"},
		{"18.0", "iPhone16,1", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"},
		{"16.6", "iPhone14,5", "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"},
	},
	{
		{"14", "Pixel 8", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"},
		{"13", "SM-S911B", "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36"},
		{"12", "Redmi Note 11", "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"},
	},
}

func newMixedLog(now time.Time) *mixedLog {
	rng := rand.New(rand.NewPCG(26, 3))
	return &mixedLog{rng: rng, zipf: rand.NewZipf(rng, 1.1, 100, 50_000-1), clock: now.Add(-time.Hour)}
}

// batch returns the next batch of n records, in log order at consecutive offsets.
func (m *mixedLog) batch(n int) unmogrowp.Batch {
	var bt unmogrowp.Batch
	m.clock = m.clock.Add(time.Second * time.Duration(n) / 30_000)
	at := m.clock.Truncate(time.Second)
	for range n {
		m.offset++
		m.seq++
		rank := m.zipf.Uint64()
		parity := m.rng.IntN(2)
		dev := 2*rank + uint64(parity)
		p := mixedPlatforms[parity][m.rng.IntN(3)]
		h := (dev + 1) * 0x9E3779B97F4A7C15
		ip := fmt.Sprintf("%d.%d.%d.%d", 151+(h>>8)%40, 100+(h>>16)%156, 100+(h>>24)%156, 100+(h>>32)%156)
		var idfa, gaid string
		platform := unmogrowp.PlatformIOS
		if parity == 0 {
			idfa = fmt.Sprintf("6D92078A-8246-4BA4-AE5B-%012d", dev)
		} else {
			gaid, platform = fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", dev), unmogrowp.PlatformAndroid
		}
		switch x := m.rng.IntN(100); {
		case x < 10:
			tp := unmogrowp.Touchpoint{ID: fmt.Sprintf("tp-%d", m.seq), AppID: "app1", Type: unmogrowp.TouchClick,
				MediaSource: []string{"facebook_ads", "googleadwords_int", "tiktok_int", "unityads_int"}[m.rng.IntN(4)],
				Campaign:    fmt.Sprintf("c%d", m.rng.IntN(8)), SiteID: fmt.Sprintf("site_%d", m.rng.IntN(500)),
				Time: at, ReceivedAt: m.clock, IP: ip, UserAgent: p.ua, IDFA: idfa, GAID: gaid, Offset: m.offset}
			if x < 6 && m.rng.IntN(10) < 3 {
				tp.Type = unmogrowp.TouchImpression
			}
			if x >= 6 { // a click on a link: the load tool's address
				tp.IP, tp.MediaSource = "127.0.0.1", "link"
			}
			bt.Touchpoints = append(bt.Touchpoints, tp)
		default:
			typ := "session"
			if m.rng.IntN(100) < 5 {
				typ = unmogrowp.EventInstall
			}
			bt.Events = append(bt.Events, unmogrowp.Event{EventID: fmt.Sprintf("e-%d", m.seq), AppID: "app1", EventType: typ,
				DeviceID: fmt.Sprintf("d%010d", dev), Timestamp: at, ReceivedAt: m.clock, Platform: platform,
				OSVersion: p.os, DeviceModel: p.model, IDFA: idfa, GAID: gaid, IP: "127.0.0.1", UserAgent: "unmogrowp-loadgen",
				Offset: m.offset})
		}
	}
	return bt
}

// BenchmarkPrepareMixed times Prepare and Stored (the attribution stage, with postbacks
// on, as `serve` runs it) on batches of 20,480 records (`serve`'s batch) of mixedLog's
// traffic, against the in-process hot state, after 30 batches (614,400 records, the first
// 20 s of a fresh server at 30,000 items/s) have filled it: the CPU time per decided
// install (cpu-µs/install, the whole stage's CPU over the installs decided) and per event
// (cpu-µs/event), and the installs decided per batch. About 920 installs a batch, each
// among some 100 of the hot state's touchpoints and 68 of the batch's own (a `serve`
// under `unmogrowp-bench loadgen --batch 100 -c 64 --rate 30000` read 115 and 66).
func BenchmarkPrepareMixed(b *testing.B) {
	ctx := context.Background()
	const batch, warm = 20_480, 30
	hot := inmem.New(inmem.Options{Retention: 31 * 24 * time.Hour})
	defer hot.Close()
	postbacks := pipeline.NewPostbacks(benchPostbacks{}, inmem.NewOutbox(), pipeline.PostbacksOptions{Logger: quiet()})
	stage := pipeline.NewAttributor(defaultSettings{}, hot, newEnv(b).store, pipeline.AttributorOptions{Logger: quiet(), Postbacks: postbacks})
	log := newMixedLog(time.Now().UTC())
	run := func(bt *unmogrowp.Batch) {
		if err := stage.Prepare(ctx, bt); err != nil {
			b.Fatal(err)
		}
		if err := stage.Stored(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	for range warm {
		bt := log.batch(batch)
		run(&bt)
	}
	var cpu time.Duration
	var events, installs int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bt := log.batch(batch)
		b.StartTimer()
		cpu0 := testenv.ProcessCPU()
		run(&bt)
		cpu += testenv.ProcessCPU() - cpu0
		events += len(bt.Events)
		for j := range bt.Events {
			if bt.Events[j].EventType == unmogrowp.EventInstall {
				installs++
			}
		}
	}
	if installs == 0 {
		b.Fatal("no install decided")
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(installs), "cpu-µs/install")
	b.ReportMetric(float64(cpu.Microseconds())/float64(events), "cpu-µs/event")
	b.ReportMetric(float64(installs)/float64(b.N), "installs/batch")
}
