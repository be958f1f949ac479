package attribution

import (
	"net/netip"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// clouds is a datacenter list: 192.0.2.0/24 (where touch() clicks come from), an IPv6
// /32, and one single address.
var clouds = unmogrowp.NewIPRanges([]netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("203.0.113.9/32"),
})

const (
	datacenter = unmogrowp.RejectDatacenterIP
	ctitAnom   = unmogrowp.RejectCTITAnomaly
	flood      = unmogrowp.RejectClickFlood
)

func TestDecideDatacenterIP(t *testing.T) {
	off := func(s *unmogrowp.AppSettings) { s.BlockDatacenterIPs = false }
	runDecide(t, []decideCase{
		{name: "a click from a datacenter is rejected", datacenters: clouds,
			candidates: tps(click("c1", time.Hour, byDevice), click("c2", 2*time.Hour, byDevice, fromIP("198.51.100.1"))),
			want:       want{match: deviceID, tp: "c2", rejected: []unmogrowp.Rejection{rej("c1", datacenter)}}},
		{name: "an ipv6 click from a datacenter's range", datacenters: clouds,
			candidates: tps(click("c1", time.Hour, byDevice, fromIP("2001:db8:5::1"))),
			want:       want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", datacenter)}}},
		{name: "an install from a datacenter rejects every candidate", datacenters: clouds,
			install:    func(e *unmogrowp.Event) { e.IP = "203.0.113.9" },
			candidates: tps(click("c1", time.Hour, byDevice, fromIP("198.51.100.1")), impression("i1", time.Hour, byDevice, fromIP("198.51.100.1"))),
			want:       want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", datacenter), rej("i1", datacenter)}}},
		{name: "an install from a datacenter without candidates is organic", datacenters: clouds,
			install: func(e *unmogrowp.Event) { e.IP = "203.0.113.9" }, want: want{match: organic}},
		{name: "block_datacenter_ips off", datacenters: clouds, settings: off,
			candidates: tps(click("c1", time.Hour, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "no list loaded matches nothing",
			candidates: tps(click("c1", time.Hour, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "blocked_ip comes before datacenter_ip", datacenters: clouds,
			settings:   func(s *unmogrowp.AppSettings) { s.IPBlocklist = []string{"192.0.2.1"} },
			candidates: tps(click("c1", time.Hour, byDevice)), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", blockedIP)}}},
		{name: "click_injection comes before datacenter_ip", datacenters: clouds,
			candidates: tps(click("c1", time.Second, byDevice)), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", injection)}}},
	})
}

func TestDecideCTITAnomaly(t *testing.T) {
	maxHours := func(h int) func(*unmogrowp.AppSettings) {
		return func(s *unmogrowp.AppSettings) { s.MaxCTITHours = h }
	}
	runDecide(t, []decideCase{
		{name: "ctit exactly max is valid", settings: maxHours(48),
			candidates: tps(click("c1", 48*time.Hour, byDevice)), want: want{match: deviceID, tp: "c1"}},
		{name: "ctit a second above max is an anomaly", settings: maxHours(48),
			candidates: tps(click("c1", 48*time.Hour+time.Second, byDevice), click("c2", 49*time.Hour, fromIP(installIP), withUA(uaPixel8))),
			want:       want{match: rejectedM, rejected: []unmogrowp.Rejection{rej("c1", ctitAnom)}}},
		{name: "the anomaly falls through to a valid lower level", settings: maxHours(1),
			candidates: tps(click("c1", 2*time.Hour, byDevice), click("c2", 30*time.Minute, byFP)),
			want:       want{match: fingerpr, tp: "c2", rejected: []unmogrowp.Rejection{rej("c1", ctitAnom)}}},
		{name: "off by default", candidates: tps(click("c1", 7*day, byDevice)), want: want{match: deviceID, tp: "c1"}},
	})
}

func TestDecideClickFlood(t *testing.T) {
	threshold := func(n int) func(*unmogrowp.AppSettings) {
		return func(s *unmogrowp.AppSettings) { s.ClickFloodThreshold = n }
	}
	site := func(m, s string) tpOpt {
		return func(tp *unmogrowp.Touchpoint) { tp.MediaSource, tp.SiteID = m, s }
	}
	// Three clicks of net/site1 from the install's IP (one with another user agent), the
	// newest matching the fingerprint.
	floodOf := func(extra ...unmogrowp.Touchpoint) []unmogrowp.Touchpoint {
		return append(tps(
			click("f1", time.Hour, byFP, site("net", "site1")),
			click("f2", 2*time.Hour, fromIP(installIP), withUA(uaIPhone171), site("net", "site1")),
			click("f3", 3*day, fromIP(installIP), site("net", "site1")),
		), extra...)
	}
	floodRej := func(id string) unmogrowp.Rejection {
		return unmogrowp.Rejection{TouchpointID: id, MediaSource: "net", Reason: flood}
	}
	runDecide(t, []decideCase{
		{name: "more clicks than the threshold: rejected", settings: threshold(2),
			candidates: floodOf(), want: want{match: rejectedM, rejected: []unmogrowp.Rejection{floodRej("f1")}}},
		{name: "exactly the threshold: valid", settings: threshold(3),
			candidates: floodOf(), want: want{match: fingerpr, tp: "f1"}},
		{name: "a duplicate candidate counts once", settings: threshold(3),
			candidates: floodOf(click("f1", time.Hour, byFP, site("net", "site1"))), want: want{match: fingerpr, tp: "f1"}},
		{name: "clicks outside the click window do not count", settings: threshold(2),
			candidates: floodOf(click("f4", 8*day, fromIP(installIP), site("net", "site1"))),
			want:       want{match: rejectedM, rejected: []unmogrowp.Rejection{floodRej("f1")}}},
		{name: "another site's clicks do not count", settings: threshold(3),
			candidates: floodOf(click("g1", 4*time.Hour, fromIP(installIP), site("net", "site2"))), want: want{match: fingerpr, tp: "f1"}},
		{name: "another source's fingerprint click wins when the flooder is rejected", settings: threshold(2),
			candidates: floodOf(click("g1", 4*time.Hour, byFP, site("other", "s"))),
			want:       want{match: fingerpr, tp: "g1", rejected: []unmogrowp.Rejection{floodRej("f1")}}},
		{name: "a device id match is not fingerprint-only", settings: threshold(2),
			candidates: floodOf(click("d1", 5*time.Hour, byDevice, byFP, site("net", "site1"))),
			want:       want{match: deviceID, tp: "d1", rejected: []unmogrowp.Rejection{floodRej("f1")}}},
		{name: "off: the flooder wins", candidates: floodOf(), want: want{match: fingerpr, tp: "f1"}},
	})
}

func TestIPRangesContains(t *testing.T) {
	set := unmogrowp.NewIPRanges([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16"), // nested
		netip.MustParsePrefix("192.0.2.0/25"), netip.MustParsePrefix("192.0.2.128/25"), // adjacent
		netip.MustParsePrefix("198.51.100.7/32"),
		netip.MustParsePrefix("2001:db8::/48"), netip.MustParsePrefix("2001:db8::/64"),
		netip.MustParsePrefix("2001:db9::1/128"), netip.MustParsePrefix("::ffff:203.0.113.0/120"),
	})
	for addr, want := range map[string]bool{
		"10.0.0.0": true, "10.255.255.255": true, "11.0.0.0": false, "9.255.255.255": false,
		"192.0.2.0": true, "192.0.2.127": true, "192.0.2.128": true, "192.0.2.255": true, "192.0.3.0": false,
		"198.51.100.7": true, "198.51.100.6": false, "198.51.100.8": false,
		"2001:db8::": true, "2001:db8:0:ffff:ffff:ffff:ffff:ffff": true, "2001:db8:1::": false,
		"2001:db9::1": true, "2001:db9::2": false, "2001:db9::": false,
		"203.0.113.5": true, "::ffff:203.0.113.5": true, "::ffff:10.2.3.4": true, "203.0.114.0": false,
		"0.0.0.0": false, "::": false,
	} {
		if got := set.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", addr, got, want)
		}
	}
	if set.Contains(netip.Addr{}) || (*unmogrowp.IPRanges)(nil).Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Error("an invalid address or a nil set contains something")
	}
	if set.Len() != 9 {
		t.Errorf("Len %d, want 9", set.Len())
	}
}
