package redis_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/hotstatetest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

const benchBatch = 1000

// BenchmarkApply measures Apply with realistic batches of 1000: new touchpoints (their
// keys' user agent parsing included) and installs of new devices.
func BenchmarkApply(b *testing.B) {
	addr := server(b)
	now := time.Now()
	b.Run("touchpoints", func(b *testing.B) {
		h := openHotState(b, options(addr, newPrefix(b, addr)))
		defer h.Close()
		gen := hotstatetest.NewGenerator(1, 670_000, 1_000_000, now)
		for b.Loop() {
			b.StopTimer()
			batch := gen.Touchpoints(benchBatch)
			b.StartTimer()
			if err := h.Apply(ctx, batch, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "touchpoints/s")
	})
	b.Run("installs", func(b *testing.B) {
		h := openHotState(b, options(addr, newPrefix(b, addr)))
		defer h.Close()
		gen := hotstatetest.NewGenerator(2, 1, 0, now)
		for b.Loop() {
			b.StopTimer()
			batch := gen.Installs(benchBatch)
			b.StartTimer()
			if err := h.Apply(ctx, nil, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "installs/s")
	})
}

// BenchmarkCandidates measures lookups among 100,000 realistic touchpoints: one caller at
// a time (the latency of a round trip), and 16 at once (what one Redis serves).
func BenchmarkCandidates(b *testing.B) {
	addr := server(b)
	h := openHotState(b, options(addr, newPrefix(b, addr)))
	defer h.Close()
	gen := hotstatetest.NewGenerator(4, 67_000, 100_000, time.Now())
	var sample []unmogrowp.Touchpoint
	for range 100 {
		batch := gen.Touchpoints(benchBatch)
		if err := h.Apply(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		sample = append(sample, batch[:100]...)
	}
	apps, keys := hotstatetest.LookupKeys(sample, 10_000)
	b.Run("serial", func(b *testing.B) {
		found, i := 0, 0
		for b.Loop() {
			got, err := h.Candidates(ctx, apps[i%len(apps)], keys[i%len(keys)])
			if err != nil {
				b.Fatal(err)
			}
			found += len(got)
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		b.ReportMetric(float64(found)/float64(b.N), "candidates/lookup")
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(next.Add(1))
				if _, err := h.Candidates(ctx, apps[i%len(apps)], keys[i%len(keys)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
}

// BenchmarkDevice measures Device lookups among 10,000 devices.
func BenchmarkDevice(b *testing.B) {
	addr := server(b)
	h := openHotState(b, options(addr, newPrefix(b, addr)))
	defer h.Close()
	ins := hotstatetest.RealisticInstalls(10_000, 5, time.Now())
	for i := 0; i < len(ins); i += benchBatch {
		if err := h.Apply(ctx, nil, ins[i:i+benchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		in := &ins[i%len(ins)]
		if _, ok, err := h.Device(ctx, in.AppID, in.DeviceID); err != nil || !ok {
			b.Fatal(ok, err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkDevices measures Devices reading 5,000 devices a call, of which 10,000 have a
// decision and activity stored, half of each call's without one: the process's CPU time a
// device read (cpu-µs/device, what a consumer spends) and its allocations.
func BenchmarkDevices(b *testing.B) {
	addr := server(b)
	h := openHotState(b, options(addr, newPrefix(b, addr)))
	defer h.Close()
	ins := hotstatetest.RealisticInstalls(10_000, 1, time.Now())
	for i := range ins {
		ins[i].Activity = unmogrowp.Activity{LastEventTime: time.Now(), GAID: fmt.Sprintf("gaid-%d", i)}
	}
	for i := 0; i < len(ins); i += benchBatch {
		if err := h.Apply(ctx, nil, ins[i:i+benchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	const n = 5000
	ids := make([]string, n)
	b.ReportAllocs()
	var cpu time.Duration
	k := 0
	for b.Loop() {
		for j := range ids {
			if j%2 == 0 {
				ids[j] = ins[(k+j)%len(ins)].DeviceID
			} else {
				ids[j] = fmt.Sprintf("absent-%d", k+j)
			}
		}
		k += n
		cpu0 := testenv.ProcessCPU()
		_, found, err := h.Devices(ctx, ins[0].AppID, ids)
		cpu += testenv.ProcessCPU() - cpu0
		if err != nil || !found[0] || found[1] {
			b.Fatal(err, found[:2])
		}
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*n), "cpu-µs/device")
}

// BenchmarkClaim measures Claim with batches of 1000 new event ids of five apps, and with
// the same batches replayed: the process's CPU time a claim (cpu-µs/claim: the client's
// side, what a consumer spends), its allocations, and the time Redis spent inside commands
// a claim (redis-µs/claim, from INFO commandstats: give the benchmark a Redis of its own).
func BenchmarkClaim(b *testing.B) {
	addr := server(b)
	mk := func(n int) []unmogrowp.Claim {
		cl := make([]unmogrowp.Claim, benchBatch)
		for i := range cl {
			at := n*benchBatch + i
			cl[i] = unmogrowp.Claim{AppID: fmt.Sprintf("app_%d", at%5), EventID: fmt.Sprintf("%032x", at*7919),
				Offset: int64(at), Time: time.Now()}
		}
		return cl
	}
	for _, replay := range []bool{false, true} {
		name := map[bool]string{false: "new", true: "replayed"}[replay]
		b.Run(name, func(b *testing.B) {
			d := openDedup(b, options(addr, newPrefix(b, addr)))
			defer d.Close()
			b.ReportAllocs()
			n := 0
			var cpu time.Duration
			var usec int64
			for b.Loop() {
				b.StopTimer()
				batch := mk(n)
				if replay {
					if _, err := d.Claim(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				n++
				before, cpu0 := commandUsec(b, addr), testenv.ProcessCPU()
				b.StartTimer()
				if _, err := d.Claim(ctx, batch); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += testenv.ProcessCPU() - cpu0
				usec += commandUsec(b, addr) - before
				b.StartTimer()
			}
			claims := float64(b.N * benchBatch)
			b.ReportMetric(claims/b.Elapsed().Seconds(), "claims/s")
			b.ReportMetric(float64(cpu.Microseconds())/claims, "cpu-µs/claim")
			b.ReportMetric(float64(usec)/claims, "redis-µs/claim")
		})
	}
}

// commandUsec returns the time the Redis server at addr has spent inside commands (the
// sum of INFO commandstats' usec), other clients' commands included.
func commandUsec(b *testing.B, addr string) int64 {
	b.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	defer client.Close()
	info, err := client.Info(ctx, "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum int64
	for _, l := range strings.Split(info, "\n") {
		_, stats, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || !strings.HasPrefix(l, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(stats, ",") {
			if v, ok := strings.CutPrefix(kv, "usec="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// BenchmarkAllow measures rate-limit checks, one caller at a time.
func BenchmarkAllow(b *testing.B) {
	addr := server(b)
	r := openLimiter(b, options(addr, newPrefix(b, addr)))
	defer r.Close()
	for b.Loop() {
		if _, err := r.Allow(ctx, "app1", 1, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkMemory stores 100,000 realistic touchpoints, the decisions of as many devices
// and as many dedup claims, then sums MEMORY USAGE over the keys of each kind (exact per
// key, unlike the server's total, which other tests move): the Redis memory each costs.
// Every key holds the prefix, here B/prefix bytes long (DefaultPrefix is 10).
func BenchmarkMemory(b *testing.B) {
	addr := server(b)
	const n = 100_000
	for b.Loop() {
		prefix := newPrefix(b, addr)
		h := openHotState(b, options(addr, prefix))
		gen := hotstatetest.NewGenerator(6, n*2/3, n, time.Now())
		for range n / benchBatch {
			if err := h.Apply(ctx, gen.Touchpoints(benchBatch), gen.Installs(benchBatch)); err != nil {
				b.Fatal(err)
			}
		}
		h.Close()
		d := openDedup(b, options(addr, prefix))
		for i := 0; i < n; i += benchBatch {
			cl := make([]unmogrowp.Claim, benchBatch)
			for j := range cl {
				cl[j] = unmogrowp.Claim{AppID: "app_1", EventID: fmt.Sprintf("%032x", i+j), Offset: int64(i + j), Time: time.Now()}
			}
			if _, err := d.Claim(ctx, cl); err != nil {
				b.Fatal(err)
			}
		}
		d.Close()
		client := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
		bytes := map[string]int64{}
		keys := keysUnder(b, addr, prefix)
		for i := 0; i < len(keys); i += 1000 {
			p := client.Pipeline()
			batch := keys[i:min(i+1000, len(keys))]
			cmds := make([]*goredis.IntCmd, len(batch))
			for j, k := range batch {
				cmds[j] = p.MemoryUsage(ctx, k, 0)
			}
			if _, err := p.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			for j, k := range batch {
				kind, _, _ := strings.Cut(strings.TrimPrefix(k, prefix), ":")
				bytes[kind] += cmds[j].Val()
			}
		}
		client.Close()
		b.ReportMetric(float64(bytes["tp"]+bytes["k"])/n, "B/touchpoint")
		b.ReportMetric(float64(bytes["k"])/n, "B/touchpoint-index")
		b.ReportMetric(float64(bytes["dev"])/n, "B/device")
		b.ReportMetric(float64(bytes["d"])/n, "B/claim")
		b.ReportMetric(float64(len(prefix)), "B/prefix")
	}
}
