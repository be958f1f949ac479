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
