package attribution

import (
	"net/netip"
	"strings"
	"sync"

	"github.com/unmogrowp/unmogrowp"
)

// Fingerprint is what probabilistic matching compares (ATTRIBUTION.md): the IP address
// (an IPv6 address only by its /64), the platform, the OS version truncated to
// major.minor, and the device model, which counts only when both sides know it.
type Fingerprint struct {
	IP        netip.Addr // an IPv4 address, or the first address of an IPv6 /64; invalid when unknown
	Platform  string
	OSVersion string // "major.minor"
	Model     string // "" when unknown
}

// OK reports whether f can match at all: a side that lacks the IP, the platform or the OS
// version has no fingerprint.
func (f Fingerprint) OK() bool {
	return f.IP.IsValid() && f.Platform != "" && f.OSVersion != ""
}

// Matches reports whether f and g are the same device as far as fingerprints tell: both
// OK, same IP (or IPv6 /64), platform and OS version, and the same model when both know it
// (compared without regard to case).
func (f Fingerprint) Matches(g Fingerprint) bool {
	return f.OK() && g.OK() && f.IP == g.IP && f.Platform == g.Platform &&
		f.OSVersion == g.OSVersion && (f.Model == "" || g.Model == "" || strings.EqualFold(f.Model, g.Model))
}

// Key is the index key of f: "203.0.113.7|ios|17.1" or "2001:db8:1:2::/64|android|14.0",
// "" when f is not OK. It leaves the model out (the model counts only when both sides know
// it), so equal keys are necessary for Matches but not sufficient.
func (f Fingerprint) Key() string {
	if !f.OK() {
		return ""
	}
	ip := f.IP.String()
	if f.IP.Is6() {
		ip += "/64"
	}
	return ip + "|" + f.Platform + "|" + f.OSVersion
}

// InstallFingerprint is the fingerprint of an install: its IP, and its own platform,
// os_version and device_model, each falling back to what its user agent says when absent
// (the OS version and model only when the user agent's platform agrees).
func InstallFingerprint(e *unmogrowp.Event) Fingerprint {
	return installFingerprint(e, parseIP(e.IP))
}

// installFingerprint is InstallFingerprint with e's IP already parsed by parseIP.
func installFingerprint(e *unmogrowp.Event, ip netip.Addr) Fingerprint {
	f := Fingerprint{IP: prefix64(ip)}
	platform, _ := unmogrowp.NormalizePlatform(strings.TrimSpace(e.Platform))
	f.Platform = platform
	f.OSVersion = normalizeOSVersion(e.OSVersion)
	f.Model = strings.TrimSpace(e.DeviceModel)
	if (f.Platform == "" || f.OSVersion == "" || f.Model == "") && e.UserAgent != "" {
		d := ParseUserAgent(e.UserAgent)
		if f.Platform == "" {
			f.Platform = d.Platform
		}
		if f.Platform == d.Platform {
			if f.OSVersion == "" {
				f.OSVersion = d.OSVersion
			}
			if f.Model == "" {
				f.Model = d.Model
			}
		}
	}
	return f
}

// TouchpointFingerprint is the fingerprint of a touchpoint: its IP and what its user agent
// says.
func TouchpointFingerprint(tp *unmogrowp.Touchpoint) Fingerprint {
	return touchFingerprint(fingerprintIP(tp.IP), tp.UserAgent)
}

// touchFingerprint is the fingerprint of a touchpoint from ip, already parsed by
// fingerprintIP, and ua.
func touchFingerprint(ip netip.Addr, ua string) Fingerprint {
	if !ip.IsValid() {
		return Fingerprint{}
	}
	d := parsedUAs.parse(ua)
	return Fingerprint{IP: ip, Platform: d.Platform, OSVersion: d.OSVersion, Model: d.Model}
}

// parsedUAs remembers what ParseUserAgent said about the user agents of recent
// touchpoints: an install compares the fingerprint of each of its candidates, and clicks
// share a few thousand user agents.
var parsedUAs = uaCache{m: make(map[string]Device)}

// maxParsedUAs bounds uaCache: a flood of distinct user agents empties it rather than
// growing it.
const maxParsedUAs = 8192

// uaCache is a bounded, concurrency-safe memo of ParseUserAgent.
type uaCache struct {
	mu sync.Mutex
	m  map[string]Device
}

func (c *uaCache) parse(ua string) Device {
	c.mu.Lock()
	d, ok := c.m[ua]
	c.mu.Unlock()
	if ok {
		return d
	}
	ua = strings.Clone(ua) // the cache outlives the record ua was decoded from
	d = ParseUserAgent(ua)
	c.mu.Lock()
	if len(c.m) >= maxParsedUAs {
		clear(c.m)
	}
	c.m[ua] = d
	c.mu.Unlock()
	return d
}

// fingerprintIP parses an IP address as fingerprints compare it: an IPv4-mapped IPv6
// address as IPv4, an IPv6 address as the first address of its /64, without zone. It
// returns the invalid Addr for anything that does not parse.
func fingerprintIP(s string) netip.Addr {
	return prefix64(parseIP(s))
}

// prefix64 is a parsed address as fingerprints compare it: an IPv6 address as the first
// address of its /64.
func prefix64(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	return a
}

// parseIP parses an IP address, unmapping IPv4-mapped IPv6 and dropping any zone.
func parseIP(s string) netip.Addr {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}
