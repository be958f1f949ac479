package inmem_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/internal/hotstatetest"
)

const benchBatch = 1000

// BenchmarkApply measures Apply with realistic batches of 1000: new touchpoints (their
// keys' user agent parsing included), and installs of new devices and of known ones.
func BenchmarkApply(b *testing.B) {
	now := time.Now()
	b.Run("touchpoints", func(b *testing.B) {
		s := inmem.New(inmem.Options{Logger: quiet()})
		defer s.Close()
		gen := hotstatetest.NewGenerator(1, 670_000, 1_000_000, now)
		for b.Loop() {
			b.StopTimer()
			batch := gen.Touchpoints(benchBatch)
			b.StartTimer()
			if err := s.Apply(ctx, batch, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "touchpoints/s")
	})
	b.Run("installs-new", func(b *testing.B) {
		s := inmem.New(inmem.Options{Logger: quiet()})
		defer s.Close()
		gen := hotstatetest.NewGenerator(2, 1, 0, now)
		for b.Loop() {
			b.StopTimer()
			batch := gen.Installs(benchBatch)
			b.StartTimer()
			if err := s.Apply(ctx, nil, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "installs/s")
	})
	b.Run("installs-update", func(b *testing.B) {
		s := inmem.New(inmem.Options{Logger: quiet()})
		defer s.Close()
		ins := hotstatetest.RealisticInstalls(100_000, 3, now)
		if err := s.Apply(ctx, nil, ins); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			b.StopTimer()
			batch := ins[i%len(ins) : i%len(ins)+benchBatch]
			for j := range batch {
				batch[j].Offset += int64(len(ins))
				batch[j].IsReinstall = !batch[j].IsReinstall
			}
			i += benchBatch
			b.StartTimer()
			if err := s.Apply(ctx, nil, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "installs/s")
	})
}

// BenchmarkCandidates measures lookups in a state of 1,000,000 realistic touchpoints.
func BenchmarkCandidates(b *testing.B) {
	s := inmem.New(inmem.Options{Logger: quiet()})
	defer s.Close()
	gen := hotstatetest.NewGenerator(4, 670_000, 1_000_000, time.Now())
	var sample []unmogrowp.Touchpoint
	for range 1000 {
		batch := gen.Touchpoints(benchBatch)
		if err := s.Apply(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		sample = append(sample, batch[:10]...)
	}
	apps, keys := hotstatetest.LookupKeys(sample, 10_000)
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		got, err := s.Candidates(ctx, apps[i%len(apps)], keys[i%len(keys)])
		if err != nil {
			b.Fatal(err)
		}
		found += len(got)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	b.ReportMetric(float64(found)/float64(b.N), "candidates/lookup")
}

// BenchmarkDevice measures Device lookups among 1,000,000 devices.
func BenchmarkDevice(b *testing.B) {
	s, sample := devicesState(b, 1000, nil)
	benchLookups(b, sample, s.Device)
}

// devicesState returns a state of batches × benchBatch realistic installs, each batch
// changed by change (when not nil) before it is applied, and ten installs of each batch
// to look up. It is closed when b ends.
func devicesState(b *testing.B, batches int, change func([]unmogrowp.Install)) (*inmem.State, []unmogrowp.Install) {
	s := inmem.New(inmem.Options{Logger: quiet()})
	b.Cleanup(func() { s.Close() })
	gen := hotstatetest.NewGenerator(5, 1, 0, time.Now())
	var sample []unmogrowp.Install
	for range batches {
		batch := gen.Installs(benchBatch)
		if change != nil {
			change(batch)
		}
		if err := s.Apply(ctx, nil, batch); err != nil {
			b.Fatal(err)
		}
		sample = append(sample, batch[:10]...)
	}
	return s, sample
}

// benchLookups looks the sample's devices up with read, in turn, and reports lookups/s.
func benchLookups(b *testing.B, sample []unmogrowp.Install, read func(ctx context.Context, appID, deviceID string) (unmogrowp.Install, bool, error)) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in := &sample[i%len(sample)]
		if _, ok, err := read(ctx, in.AppID, in.DeviceID); err != nil || !ok {
			b.Fatal(ok, err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkSeen measures Seen raising the activity of devices active again: 1000 of
// 100,000 devices with an activity per call, each a minute later than its last event and
// with the ids it had (the common case of a returning device). It reports devices/s.
func BenchmarkSeen(b *testing.B) {
	s := inmem.New(inmem.Options{Logger: quiet()})
	defer s.Close()
	ins := hotstatetest.RealisticInstalls(100_000, 9, time.Now())
	acts := make([]unmogrowp.DeviceActivity, len(ins))
	for i := range ins {
		ins[i].Activity = unmogrowp.Activity{LastEventTime: ins[i].InstallTime.Add(time.Hour), GAID: ins[i].DeviceID + "-gaid"}
		acts[i] = unmogrowp.DeviceActivity{AppID: ins[i].AppID, DeviceID: ins[i].DeviceID, Activity: ins[i].Activity}
	}
	if err := s.Apply(ctx, nil, ins); err != nil {
		b.Fatal(err)
	}
	const per = 1000
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		batch := acts[i%len(acts) : i%len(acts)+per]
		for k := range batch {
			batch[k].LastEventTime = batch[k].LastEventTime.Add(time.Minute)
		}
		if err := s.Seen(ctx, batch); err != nil {
			b.Fatal(err)
		}
		i += per
	}
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "devices/s")
}

// BenchmarkMemory applies 1,000,000 realistic touchpoints and the decisions of 1,000,000
// devices (INMEM_MEMORY_N of each when set) and reports the heap they take, per
// touchpoint and per device. Run it once:
//
//	go test -run '^$' -bench Memory -benchtime 1x ./inmem/
func BenchmarkMemory(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("INMEM_MEMORY_N")); err == nil && v > 0 {
		n = v / benchBatch * benchBatch
	}
	for b.Loop() {
		gen := hotstatetest.NewGenerator(6, n*2/3, n, time.Now())
		before := heap()
		s := inmem.New(inmem.Options{Logger: quiet()})
		for range n / benchBatch {
			if err := s.Apply(ctx, gen.Touchpoints(benchBatch), nil); err != nil {
				b.Fatal(err)
			}
		}
		mid := heap()
		for range n / benchBatch {
			if err := s.Apply(ctx, nil, gen.Installs(benchBatch)); err != nil {
				b.Fatal(err)
			}
		}
		after := heap()
		st := s.Stats()
		b.ReportMetric(float64(mid-before)/float64(st.Touchpoints), "B/touchpoint")
		b.ReportMetric(float64(st.TouchpointBytes)/float64(st.Touchpoints), "arena-B/touchpoint")
		b.ReportMetric(float64(after-mid)/float64(st.Devices), "B/device")
		b.ReportMetric(float64(st.DeviceBytes)/float64(st.Devices), "arena-B/device")
		b.ReportMetric(float64(st.Touchpoints), "touchpoints")
		b.ReportMetric(float64(st.Devices), "devices")
		runtime.KeepAlive(gen)
		s.Close()
	}
}

// heap returns the bytes of live heap objects after a full collection.
func heap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkKeys measures attribution.TouchpointKeys, the part of Apply that parses user
// agents, for comparison.
func BenchmarkKeys(b *testing.B) {
	tps := hotstatetest.RealisticTouchpoints(10_000, 7, time.Now())
	i := 0
	for b.Loop() {
		_ = attribution.TouchpointKeys(&tps[i%len(tps)]).Strings()
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "touchpoints/s")
}

// BenchmarkDeviceSpammed is BenchmarkDevice on devices that click spam reached, each
// decision with MaxCandidatesPerKey rejected touchpoints (an install on a device with that
// many spam clicks in its lookback window): Device, which decodes them, and Decision,
// which the pipeline reads devices with and which reads past them.
func BenchmarkDeviceSpammed(b *testing.B) {
	s, sample := devicesState(b, 100, func(batch []unmogrowp.Install) {
		for i := range batch {
			batch[i].Rejected = make([]unmogrowp.Rejection, unmogrowp.MaxCandidatesPerKey)
			for j := range batch[i].Rejected {
				batch[i].Rejected[j] = unmogrowp.Rejection{TouchpointID: fmt.Sprintf("%032x", i<<20|j),
					MediaSource: "spam_int", Reason: unmogrowp.RejectClickInjection}
			}
		}
	})
	for _, read := range []struct {
		name string
		f    func(ctx context.Context, appID, deviceID string) (unmogrowp.Install, bool, error)
	}{{"Device", s.Device}, {"Decision", s.Decision}} {
		b.Run(read.name, func(b *testing.B) { benchLookups(b, sample, read.f) })
	}
}
