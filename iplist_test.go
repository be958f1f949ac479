package unmogrowp_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

func TestParseIPList(t *testing.T) {
	f := func(name, kind string, want ...string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "iplists", name))
			if err != nil {
				t.Fatal(err)
			}
			k, got, err := unmogrowp.ParseIPList(data)
			if err != nil {
				t.Fatal(err)
			}
			var gs []string
			for _, p := range got {
				gs = append(gs, p.String())
			}
			if k != kind || !slices.Equal(gs, want) {
				t.Fatalf("got %s %v, want %s %v", k, gs, kind, want)
			}
		})
	}
	f("ip-ranges.json", "aws", "3.5.140.0/22", "13.34.37.64/27", "2600:1f14::/35", "2a05:d07a:a000::/40")
	f("cloud.json", "gcp", "34.1.208.0/20", "35.185.128.0/19", "2600:1900:4000::/44")
	f("ServiceTags_Public_20251103.json", "azure", "13.66.60.119/32", "20.36.32.0/19", "2603:1000:4::/47")
	f("plain.txt", "plain", "10.0.0.0/8", "192.0.2.7/32", "198.51.100.0/24", "2001:db8::/32")
}

func TestParseIPListRefuses(t *testing.T) {
	for name, data := range map[string]string{
		"a bad line":         "10.0.0.0/8\nnot an address\n",
		"a bad aws prefix":   `{"syncToken":"1","prefixes":[{"ip_prefix":"10.0.0.0/33"}]}`,
		"unknown json":       `{"hello":"world"}`,
		"broken json":        `{"prefixes":[`,
		"a bad azure prefix": `{"changeNumber":1,"values":[{"properties":{"addressPrefixes":["x"]}}]}`,
	} {
		if _, _, err := unmogrowp.ParseIPList([]byte(data)); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("%s: err %v, want EINVALID", name, err)
		}
	}
}

func FuzzParseIPList(f *testing.F) {
	for _, name := range []string{"ip-ranges.json", "cloud.json", "ServiceTags_Public_20251103.json", "plain.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", "iplists", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, prefixes, err := unmogrowp.ParseIPList(data)
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("error not EINVALID: %v", err)
			}
			return
		}
		set := unmogrowp.NewIPRanges(prefixes)
		for _, p := range prefixes {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("prefix %v not valid and masked", p)
			}
			if !set.Contains(p.Addr()) {
				t.Fatalf("set lacks its own prefix %v", p)
			}
		}
	})
}

// randomPrefixes returns n IPv4 prefixes of 12 to 28 bits and n/4 IPv6 ones, as a cloud
// provider's lists hold them.
func randomPrefixes(n int) []netip.Prefix {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]netip.Prefix, 0, n+n/4)
	for range n {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], r.Uint32())
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(b), 12+r.IntN(17)).Masked())
	}
	for range n / 4 {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:], 0x2600<<48|r.Uint64()>>16)
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(b), 32+r.IntN(33)).Masked())
	}
	return out
}

func TestIPRangesAgreesWithPrefixes(t *testing.T) {
	prefixes := randomPrefixes(2000)
	set := unmogrowp.NewIPRanges(prefixes)
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], r.Uint32())
		a := netip.AddrFrom4(b)
		if i := r.IntN(len(prefixes)); r.IntN(2) == 0 {
			a = prefixes[i].Addr() // inside, at a prefix's start
		}
		want := slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(a) })
		if got := set.Contains(a); got != want {
			t.Fatalf("Contains(%v) = %v, want %v", a, got, want)
		}
	}
}

// BenchmarkIPRangesContains looks addresses up in 100,000 prefixes (plus 25,000 IPv6):
// the datacenter_ip rule's cost per touchpoint, which must stay under a microsecond.
func BenchmarkIPRangesContains(b *testing.B) {
	set := unmogrowp.NewIPRanges(randomPrefixes(100_000))
	r := rand.New(rand.NewPCG(5, 6))
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], r.Uint32())
		addrs[i] = netip.AddrFrom4(a)
		if i%4 == 0 {
			var a6 [16]byte
			binary.BigEndian.PutUint64(a6[:], 0x2600<<48|r.Uint64()>>16)
			addrs[i] = netip.AddrFrom16(a6)
		}
	}
	b.ReportAllocs()
	i, hits := 0, 0
	for b.Loop() {
		if set.Contains(addrs[i%len(addrs)]) {
			hits++
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	_ = hits
}
