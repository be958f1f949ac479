package attribution

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// benchCandidates builds n candidates as an index would return them for one install: a
// mix of device-id clicks and impressions at various ages (some outside their windows),
// and clicks sharing the install's IP from assorted user agents (a carrier NAT), with the
// most recent ones invalid.
func benchCandidates(n int) []unmogrowp.Touchpoint {
	uas := []string{uaPixel8, uaIPhone171, uaFBIOS,
		"Dalvik/2.1.0 (Linux; U; Android 13; SM-S918B Build/TP1A.220624.014)",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"}
	out := make([]unmogrowp.Touchpoint, 0, n)
	for i := range n {
		age := time.Duration(i+1) * 97 * time.Minute
		id := fmt.Sprintf("tp_%04d", i)
		switch i % 3 {
		case 0:
			out = append(out, click(id, age, byDevice))
		case 1:
			out = append(out, click(id, age, fromIP(installIP), withUA(uas[i%len(uas)])))
		default:
			out = append(out, impression(id, age, byDevice))
		}
	}
	if n >= 10 {
		out[0].Time = t0.Add(-3 * time.Second) // injection
		out[3].IP = "203.0.113.77"             // blocked
	}
	return out
}

// benchDatacenters is a datacenter list the size of the cloud providers' together: 100,000
// IPv4 /24s in 3.0.0.0-16.255.255.255, where no benchmark address is.
func benchDatacenters() *unmogrowp.IPRanges {
	prefixes := make([]netip.Prefix, 0, 100_000)
	for i := range 100_000 {
		x := uint32(3<<24) + uint32(i)*9<<8
		prefixes = append(prefixes, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), 0}), 24))
	}
	return unmogrowp.NewIPRanges(prefixes)
}

// BenchmarkDecide decides with every rule on: the blocklist, 100,000 datacenter prefixes,
// ctit_anomaly and click_flood.
func BenchmarkDecide(b *testing.B) {
	s := unmogrowp.DefaultAppSettings()
	s.IPBlocklist = []string{"203.0.113.0/24", "198.18.0.0/15", "2001:db8:dead::/48"}
	s.MaxCTITHours, s.ClickFloodThreshold = 720, 50
	rules := NewRules(s).WithDatacenters(benchDatacenters())
	in := baseInstall()
	in.InstallReferrer = "" // the common case: no referrer match
	for _, n := range []int{1, 10, 100} {
		cands := benchCandidates(n)
		b.Run(fmt.Sprintf("candidates=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if a := rules.Decide(&in, cands, nil); a.MatchType == "" {
					b.Fatal("no decision")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
	// Click spam: the most a hot state returns under the install's keys (three device ids
	// and its fingerprint), every one too recent to count.
	b.Run(fmt.Sprintf("click-spam=%d", 4*unmogrowp.MaxCandidatesPerKey), func(b *testing.B) {
		cands := make([]unmogrowp.Touchpoint, 4*unmogrowp.MaxCandidatesPerKey)
		for i := range cands {
			cands[i] = click(fmt.Sprintf("tp_%04d", i), time.Duration(i%9000)*time.Millisecond, byDevice, fromIP(installIP), withUA(uaPixel8))
		}
		b.ReportAllocs()
		for b.Loop() {
			if a := rules.Decide(&in, cands, nil); len(a.Rejected) != len(cands) {
				b.Fatalf("%d rejected, want %d", len(a.Rejected), len(cands))
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	})
	b.Run("candidates=10/with-NewRules", func(b *testing.B) {
		cands := benchCandidates(10)
		dcs := benchDatacenters()
		b.ReportAllocs()
		for b.Loop() {
			if a := NewRules(s).WithDatacenters(dcs).Decide(&in, cands, nil); a.MatchType == "" {
				b.Fatal("no decision")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	})
}

func BenchmarkParseUserAgent(b *testing.B) {
	uas := []string{uaPixel8, uaIPhone171, uaFBIOS, "MyApp/1.0 CFNetwork/1474 Darwin/23.0.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ParseUserAgent(uas[i%len(uas)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uas/s")
}
