package attribution

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Prior is a device's previous install decision, for a later install of the same device.
type Prior struct {
	// FirstInstallTime is the time of the install that last counted as a new install
	// (neither a reinstall nor a re-attribution): the re-attribution window counts from it.
	// Zero means Attribution.InstallTime.
	FirstInstallTime time.Time

	// Attribution is the device's current decision; its InstallTime is the previous
	// install's.
	Attribution unmogrowp.Attribution
}

// NextPrior is the Prior for the device's next install, after decision a was made with
// prior p (nil for the device's first install).
func NextPrior(p *Prior, a unmogrowp.Attribution) Prior {
	if p != nil && (a.IsReinstall || a.IsReattribution) {
		return Prior{FirstInstallTime: p.first(), Attribution: a}
	}
	return Prior{FirstInstallTime: a.InstallTime, Attribution: a}
}

func (p *Prior) first() time.Time {
	if p.FirstInstallTime.IsZero() {
		return p.Attribution.InstallTime
	}
	return p.FirstInstallTime
}

// Rules are an app's settings prepared for deciding: build them once per settings change
// with NewRules and share them; they are read-only and safe for concurrent use.
type Rules struct {
	clickWindow       time.Duration
	viewWindow        time.Duration
	fingerprintWindow time.Duration
	viewFPWindow      time.Duration // min(view, fingerprint)
	fingerprint       bool
	reattribution     time.Duration
	inactivity        time.Duration // 0: no re-engagement
	minCTIT           time.Duration
	maxCTIT           time.Duration // 0: no ctit_anomaly
	floodThreshold    int           // 0: no click_flood
	blockDatacenters  bool
	datacenters       unmogrowp.IPSet // nil: none loaded
	blocked           []netip.Prefix
	links             map[string]windows // by link id: links with a window of their own
}

// windows are the lookback windows that apply to a touchpoint.
type windows struct {
	click, view, viewFP time.Duration // viewFP: min(view, fingerprint)
}

// NewRules prepares settings for Decide, with the app's links whose windows override the
// app's (Link.ClickLookbackDays, ViewLookbackHours) for their touchpoints; links without
// windows of their own may be given or not, alike. Settings and links are taken as
// validated (AppSettings.Validate, Link.Validate); an ip_blocklist entry that is neither a
// CIDR nor an IP address is ignored.
func NewRules(s unmogrowp.AppSettings, links ...*unmogrowp.Link) *Rules {
	r := &Rules{
		clickWindow:       time.Duration(s.ClickLookbackDays) * 24 * time.Hour,
		viewWindow:        time.Duration(s.ViewLookbackHours) * time.Hour,
		fingerprintWindow: time.Duration(s.FingerprintWindowHours) * time.Hour,
		fingerprint:       s.FingerprintEnabled,
		reattribution:     time.Duration(s.ReattributionWindowDays) * 24 * time.Hour,
		inactivity:        time.Duration(s.InactivityDays) * 24 * time.Hour,
		minCTIT:           time.Duration(s.MinCTITSeconds) * time.Second,
		maxCTIT:           time.Duration(s.MaxCTITHours) * time.Hour,
		floodThreshold:    s.ClickFloodThreshold,
		blockDatacenters:  s.BlockDatacenterIPs,
	}
	r.viewFPWindow = min(r.viewWindow, r.fingerprintWindow)
	for _, l := range links {
		if l.ClickLookbackDays == 0 && l.ViewLookbackHours == 0 {
			continue
		}
		w := windows{click: r.clickWindow, view: r.viewWindow}
		if l.ClickLookbackDays > 0 {
			w.click = time.Duration(l.ClickLookbackDays) * 24 * time.Hour
		}
		if l.ViewLookbackHours > 0 {
			w.view = time.Duration(l.ViewLookbackHours) * time.Hour
		}
		w.viewFP = min(w.view, r.fingerprintWindow)
		if r.links == nil {
			r.links = map[string]windows{}
		}
		r.links[l.ID] = w
	}
	for _, c := range s.IPBlocklist {
		if p, ok := parseBlock(c); ok {
			r.blocked = append(r.blocked, p)
		}
	}
	return r
}

// WithDatacenters returns a copy of r whose datacenter_ip rule rejects the addresses of
// set (typically an unmogrowp.IPListWatcher, which follows the imported lists), when the
// app has block_datacenter_ips. Without it the rule matches nothing.
func (r *Rules) WithDatacenters(set unmogrowp.IPSet) *Rules {
	c := *r
	c.datacenters = set
	return &c
}

// parseBlock parses a blocklist entry, a CIDR or a single address, in the form parseIP
// compares: IPv4-mapped IPv6 as IPv4.
func parseBlock(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a := parseIP(s)
		if !a.IsValid() {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return p.Masked(), true
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// Lookback is the age past which no touchpoint can be a candidate under these settings:
// how long a touchpoint index must keep touchpoints.
func (r *Rules) Lookback() time.Duration {
	d := max(r.clickWindow, r.viewWindow, r.fingerprintWindow)
	for _, w := range r.links {
		d = max(d, w.click, w.view)
	}
	return d
}

// FingerprintEnabled reports whether these settings match probabilistically: when not, an
// install's fingerprint key need not be looked up.
func (r *Rules) FingerprintEnabled() bool { return r.fingerprint }

// Decide decides the attribution of install with the app's settings; see Rules.Decide.
// Build Rules once with NewRules when deciding many installs of one app.
func Decide(install *unmogrowp.Event, candidates []unmogrowp.Touchpoint, s unmogrowp.AppSettings, prior *Prior) unmogrowp.Attribution {
	return NewRules(s).Decide(install, candidates, prior)
}

// Waterfall levels, in order of precedence.
const (
	levelReferrer = iota
	levelDeviceID
	levelFingerprint
	levelViewDeviceID
	levelViewFingerprint
	numLevels
)

var matchTypes = [numLevels]string{
	unmogrowp.MatchReferrer, unmogrowp.MatchDeviceID, unmogrowp.MatchFingerprint,
	unmogrowp.MatchViewThroughDeviceID, unmogrowp.MatchViewThroughFingerprint,
}

// installSide is what the levels compare on the install's side, computed once.
type installSide struct {
	time        time.Time
	beginAt     time.Time
	referrerID  string
	ids         deviceIDs
	fingerprint Fingerprint
	datacenter  bool // the install's IP is a datacenter's
}

type rejected struct {
	tp     *unmogrowp.Touchpoint
	level  int
	reason string
}

// Decide decides the attribution of install, the install event of its device, among
// candidates: any touchpoints, typically those a touchpoint index found under
// CandidateKeys(install). Candidates of another app, of an unknown type, or touched after
// the install time are ignored. prior is the device's current decision when this is a
// later install, nil for its first. Decide is pure and deterministic: the same arguments
// give the same result whatever the order of candidates. It does not retain or modify its
// arguments.
func (r *Rules) Decide(install *unmogrowp.Event, candidates []unmogrowp.Touchpoint, prior *Prior) unmogrowp.Attribution {
	return r.DecideRefs(install, refs(candidates), nil, prior)
}

// DecideRefs is Decide among the touchpoints candidates point to: the same decision as
// Decide on those touchpoints, for a caller that holds its candidates in one place and
// decides many installs among overlapping sets of them, without a copy per install.
// fingerprints, when not nil, holds TouchpointFingerprint(candidates[i]) at i, which such
// a caller computes once a touchpoint rather than once a decision; nil: Decide computes
// them.
func (r *Rules) DecideRefs(install *unmogrowp.Event, candidates []*unmogrowp.Touchpoint, fingerprints []Fingerprint, prior *Prior) unmogrowp.Attribution {
	in := r.installSide(install)

	// A later install inside the re-attribution window only looks for newer clicks.
	reattributing := false
	var previous time.Time
	if prior != nil && install.Timestamp.Sub(prior.first()) <= r.reattribution {
		reattributing = true
		previous = prior.Attribution.InstallTime
		if previous.IsZero() {
			previous = prior.first()
		}
	}

	best, rej := r.pick(install, &in, candidates, fingerprints, reattributing, previous)

	a := unmogrowp.Attribution{
		AppID:          install.AppID,
		DeviceID:       install.DeviceID,
		InstallEventID: install.EventID,
		InstallTime:    install.Timestamp,
		Rejected:       rejections(rej),
	}
	for l, tp := range best {
		if tp != nil {
			win(&a, tp, matchTypes[l])
			a.IsReattribution = reattributing
			if reattributing {
				a.ReattributionKind = unmogrowp.ReattributionReinstall
			}
			return a
		}
	}
	if reattributing {
		keep := prior.Attribution
		keep.AppID, keep.DeviceID = a.AppID, a.DeviceID
		keep.InstallEventID, keep.InstallTime = a.InstallEventID, a.InstallTime
		keep.IsReinstall, keep.IsReattribution = true, false
		keep.ReattributionKind = unmogrowp.ReattributionReinstall
		keep.Rejected = a.Rejected
		return keep
	}
	a.MatchType = unmogrowp.MatchOrganic
	a.MediaSource = unmogrowp.MediaSourceOrganic
	if len(a.Rejected) > 0 {
		a.MatchType = unmogrowp.MatchRejected
		a.MediaSource = unmogrowp.MediaSourceRejected
	}
	return a
}

// pick runs the waterfall's matching over candidates for the event install (the install,
// or a dormant device's returning event), with in its side: it returns the best valid
// candidate of each level and the invalid ones. With clicksOnly only clicks touched after
// the time after count (a re-attribution, a re-engagement). fps are the candidates'
// fingerprints, or nil (see DecideRefs).
func (r *Rules) pick(install *unmogrowp.Event, in *installSide, candidates []*unmogrowp.Touchpoint, fps []Fingerprint, clicksOnly bool, after time.Time) ([numLevels]*unmogrowp.Touchpoint, []rejected) {
	var best [numLevels]*unmogrowp.Touchpoint
	var rej []rejected
	var fpOnly []*unmogrowp.Touchpoint // valid clicks matched at the fingerprint level only: click_flood decides
	for i, tp := range candidates {
		if tp.AppID != install.AppID || tp.Time.IsZero() || tp.Time.After(in.time) {
			continue
		}
		if clicksOnly && (tp.Type != unmogrowp.TouchClick || !tp.Time.After(after)) {
			continue
		}
		age := in.time.Sub(tp.Time)
		var fp *Fingerprint
		if fps != nil {
			fp = &fps[i]
		}
		levels := r.levels(tp, fp, age, in)
		if levels == 0 {
			continue
		}
		if reason := r.invalid(tp, age, in); reason != "" {
			rej = append(rej, rejected{tp: tp, level: lowestLevel(levels), reason: reason})
			continue
		}
		if r.floodThreshold > 0 && levels == 1<<levelFingerprint {
			fpOnly = append(fpOnly, tp)
			continue
		}
		for l := range numLevels {
			if levels&(1<<l) != 0 && (best[l] == nil || newer(tp, best[l])) {
				best[l] = tp
			}
		}
	}
	if fpOnly != nil {
		rej = r.floods(install, candidates, fps, fpOnly, &best, rej)
	}
	return best, rej
}

// floods sorts the fingerprint-only clicks: a click whose media source and site_id sent
// more than click_flood_threshold clicks from the install's IP (or /64) in the click
// lookback window is rejected as click_flood; the others compete at the fingerprint level.
// The clicks counted are those among candidates (each id once); fps are their
// fingerprints, or nil.
func (r *Rules) floods(install *unmogrowp.Event, candidates []*unmogrowp.Touchpoint, fps []Fingerprint, fpOnly []*unmogrowp.Touchpoint, best *[numLevels]*unmogrowp.Touchpoint, rej []rejected) []rejected {
	type source struct{ media, site string }
	counts := map[source]int{}
	count := func(s source) int {
		if n, ok := counts[s]; ok {
			return n
		}
		seen := map[string]struct{}{}
		ip := fingerprintIP(install.IP)
		for i, c := range candidates {
			if c.Type != unmogrowp.TouchClick || c.AppID != install.AppID || c.MediaSource != s.media || c.SiteID != s.site {
				continue
			}
			if age := install.Timestamp.Sub(c.Time); age < 0 || age > r.clickWindow || c.Time.IsZero() {
				continue
			}
			// A fingerprint's IP is fingerprintIP's (the zero Addr when it has none).
			if fps != nil && fps[i].IP != ip || fps == nil && fingerprintIP(c.IP) != ip {
				continue
			}
			seen[c.ID] = struct{}{}
		}
		counts[s] = len(seen)
		return len(seen)
	}
	for _, tp := range fpOnly {
		if count(source{tp.MediaSource, tp.SiteID}) > r.floodThreshold {
			rej = append(rej, rejected{tp: tp, level: levelFingerprint, reason: unmogrowp.RejectClickFlood})
			continue
		}
		if b := best[levelFingerprint]; b == nil || newer(tp, b) {
			best[levelFingerprint] = tp
		}
	}
	return rej
}

// refs points to each of tps.
func refs(tps []unmogrowp.Touchpoint) []*unmogrowp.Touchpoint {
	out := make([]*unmogrowp.Touchpoint, len(tps))
	for i := range tps {
		out[i] = &tps[i]
	}
	return out
}

// installSide computes what the levels compare on the install's side.
func (r *Rules) installSide(install *unmogrowp.Event) installSide {
	in := installSide{
		time:       install.Timestamp,
		beginAt:    install.InstallBeginAt,
		referrerID: ReferrerClickID(install.InstallReferrer),
		ids:        normalizeDeviceIDs(install.IDFA, install.GAID, install.AndroidID, install.DeviceID),
	}
	dc := r.blockDatacenters && r.datacenters != nil
	if !r.fingerprint && !dc {
		return in
	}
	ip := parseIP(install.IP) // once, for both
	if r.fingerprint {
		in.fingerprint = installFingerprint(install, ip)
	}
	if dc {
		in.datacenter = r.datacenters.Contains(ip)
	}
	return in
}

// levels returns the set of levels (bit l for level l) at which tp matches the install,
// windows and settings included, validity aside. The windows are those of tp's link when
// it has its own, else the app's; the fingerprint window never exceeds the touch's
// window. fp is tp's fingerprint (TouchpointFingerprint), or nil to compute it when
// needed.
func (r *Rules) levels(tp *unmogrowp.Touchpoint, fp *Fingerprint, age time.Duration, in *installSide) uint8 {
	var set uint8
	var window, fpWindow time.Duration
	var idLevel, fpLevel int
	w, own := windows{}, false
	if r.links != nil && tp.LinkID != "" {
		w, own = r.links[tp.LinkID]
	}
	switch tp.Type {
	case unmogrowp.TouchClick:
		window, fpWindow, idLevel, fpLevel = r.clickWindow, r.fingerprintWindow, levelDeviceID, levelFingerprint
		if own {
			window, fpWindow = w.click, min(w.click, r.fingerprintWindow)
		}
		if age <= window && in.referrerID != "" && tp.ID == in.referrerID {
			set |= 1 << levelReferrer
		}
	case unmogrowp.TouchImpression:
		window, fpWindow, idLevel, fpLevel = r.viewWindow, r.viewFPWindow, levelViewDeviceID, levelViewFingerprint
		if own {
			window, fpWindow = w.view, w.viewFP
		}
	default:
		return 0
	}
	if age <= window {
		if in.ids.matches(tp.IDFA, tp.GAID, tp.AndroidID, tp.DeviceID) {
			set |= 1 << idLevel
		}
	}
	// Without fp, compare the IP first: parsing the user agent is the costly part.
	if r.fingerprint && age <= fpWindow && in.fingerprint.OK() {
		var f Fingerprint // zero, which matches nothing, when tp's IP differs
		if fp != nil {
			f = *fp
		} else if ip := fingerprintIP(tp.IP); ip == in.fingerprint.IP {
			f = touchFingerprint(ip, tp.UserAgent)
		}
		if in.fingerprint.Matches(f) {
			set |= 1 << fpLevel
		}
	}
	return set
}

// invalid returns why tp may not win the install, or "" when it may.
func (r *Rules) invalid(tp *unmogrowp.Touchpoint, age time.Duration, in *installSide) string {
	if age < r.minCTIT || (!in.beginAt.IsZero() && tp.Time.After(in.beginAt)) {
		return unmogrowp.RejectClickInjection
	}
	dc := r.blockDatacenters && r.datacenters != nil
	if len(r.blocked) > 0 || dc && !in.datacenter {
		if ip := parseIP(tp.IP); ip.IsValid() {
			for _, p := range r.blocked {
				if p.Contains(ip) {
					return unmogrowp.RejectBlockedIP
				}
			}
			if dc && !in.datacenter && r.datacenters.Contains(ip) {
				return unmogrowp.RejectDatacenterIP
			}
		}
	}
	if in.datacenter {
		return unmogrowp.RejectDatacenterIP
	}
	if r.maxCTIT > 0 && age > r.maxCTIT {
		return unmogrowp.RejectCTITAnomaly
	}
	return ""
}

// newer reports whether a ranks before b inside a level: the more recent touch, then the
// later received, then the greater id.
func newer(a, b *unmogrowp.Touchpoint) bool {
	return compareRecency(a, b) < 0
}

// compareRecency orders touchpoints most recent first.
func compareRecency(a, b *unmogrowp.Touchpoint) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	if c := b.ReceivedAt.Compare(a.ReceivedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

func lowestLevel(set uint8) int {
	for l := range numLevels {
		if set&(1<<l) != 0 {
			return l
		}
	}
	return numLevels
}

// rejections orders the rejected candidates by level, then most recent first, and keeps
// the first of each touchpoint id.
func rejections(rej []rejected) []unmogrowp.Rejection {
	if len(rej) == 0 {
		return nil
	}
	slices.SortFunc(rej, func(a, b rejected) int {
		if c := cmp.Compare(a.level, b.level); c != 0 {
			return c
		}
		if c := compareRecency(a.tp, b.tp); c != 0 {
			return c
		}
		return cmp.Compare(a.reason, b.reason)
	})
	out := make([]unmogrowp.Rejection, 0, len(rej))
	seen := make(map[string]struct{}, len(rej))
	for _, r := range rej {
		if _, dup := seen[r.tp.ID]; dup {
			continue
		}
		seen[r.tp.ID] = struct{}{}
		out = append(out, unmogrowp.Rejection{TouchpointID: r.tp.ID, MediaSource: r.tp.MediaSource, Reason: r.reason})
	}
	return out
}

// win fills a from the winning touchpoint.
func win(a *unmogrowp.Attribution, tp *unmogrowp.Touchpoint, match string) {
	a.Attributed = true
	a.MatchType = match
	a.TouchType = tp.Type
	a.TouchpointID = tp.ID
	a.TouchTime = tp.Time
	a.MediaSource = tp.MediaSource
	a.Campaign = tp.Campaign
	a.Adset = tp.Adset
	a.Ad = tp.Ad
	a.SiteID = tp.SiteID
	a.Channel = tp.Channel
	a.ClickID = tp.ClickID
	a.DeepLinkValue = tp.DeepLinkValue
	a.CTITSeconds = int64(a.InstallTime.Sub(tp.Time) / time.Second)
}
