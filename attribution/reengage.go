package attribution

import (
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Re-engagement of dormant devices (ATTRIBUTION.md): a device whose previous event is more
// than inactivity_days old comes back through a click, and its later events roll up to
// that click's source for reattribution_window_days.

// Dormant reports whether an event at t of a device whose latest event so far was at last
// re-engages it when a click brought it back: inactivity_days are on and more than that
// passed since last. A zero last (nothing known) is never dormant.
func (r *Rules) Dormant(last, t time.Time) bool {
	return r.inactivity > 0 && !last.IsZero() && t.Sub(last) > r.inactivity
}

// Reengages reports whether these settings re-engage dormant devices at all
// (inactivity_days is not 0): when not, the pipeline need not track them.
func (r *Rules) Reengages() bool { return r.inactivity > 0 }

// Reengage decides the return of a dormant device (Dormant) at event e, which is not an
// install: the most recent valid click of the waterfall's levels 1-3 (referrer, device id,
// fingerprint), in its window, touched after last (the device's previous event) and not
// after e, matched against e's ids and fingerprint, and against earlier's ids (what the
// device's earlier events carried) when e carries no advertising id. It returns the
// re-engagement decision (IsReattribution, ReattributionKind "reengagement",
// InstallEventID and InstallTime e's) and true, or false when no valid click is found.
// Invalid clicks are passed over and not listed: a re-engagement is not an install, so it
// has no rejected touchpoints (nor rejected_install postbacks). Pure and deterministic,
// as Decide.
func (r *Rules) Reengage(e *unmogrowp.Event, candidates []unmogrowp.Touchpoint, last time.Time, earlier unmogrowp.Activity) (unmogrowp.Attribution, bool) {
	return r.ReengageRefs(e, refs(candidates), nil, last, earlier)
}

// ReengageRefs is Reengage among the touchpoints candidates point to, with their
// fingerprints or nil (see DecideRefs).
func (r *Rules) ReengageRefs(e *unmogrowp.Event, candidates []*unmogrowp.Touchpoint, fingerprints []Fingerprint, last time.Time, earlier unmogrowp.Activity) (unmogrowp.Attribution, bool) {
	in := r.installSide(e)
	in.beginAt = time.Time{} // an install's begin time means nothing here
	if e.IDFA == "" && e.GAID == "" && e.AndroidID == "" {
		in.ids = normalizeDeviceIDs(earlier.IDFA, earlier.GAID, earlier.AndroidID, e.DeviceID)
	}
	best, _ := r.pick(e, &in, candidates, fingerprints, true, last)
	for l, tp := range best[:levelViewDeviceID] {
		if tp != nil {
			a := unmogrowp.Attribution{
				AppID: e.AppID, DeviceID: e.DeviceID, InstallEventID: e.EventID, InstallTime: e.Timestamp,
				IsReattribution: true, ReattributionKind: unmogrowp.ReattributionReengagement,
			}
			win(&a, tp, matchTypes[l])
			return a, true
		}
	}
	return unmogrowp.Attribution{}, false
}

// ReengageOpen decides the return of a dormant device (Dormant at the open's time) that
// the link of click opened (POST /v1/deeplinks: Touchpoint.Opened): the open is the
// click, matched by the device's own id, so it re-engages the device at once
// (InstallEventID is the click's id, InstallTime its time, CTIT 0). It returns false when
// the click is not such an open, or the click is invalid by the app's IP rules
// (ip_blocklist, datacenter_ip); the CTIT rules do not apply to an open.
func (r *Rules) ReengageOpen(click *unmogrowp.Touchpoint) (unmogrowp.Attribution, bool) {
	if !click.Opened || click.Type != unmogrowp.TouchClick || click.DeviceID == "" || click.Time.IsZero() {
		return unmogrowp.Attribution{}, false
	}
	if len(r.blocked) > 0 || r.blockDatacenters && r.datacenters != nil {
		if ip := parseIP(click.IP); ip.IsValid() {
			for _, p := range r.blocked {
				if p.Contains(ip) {
					return unmogrowp.Attribution{}, false
				}
			}
			if r.blockDatacenters && r.datacenters != nil && r.datacenters.Contains(ip) {
				return unmogrowp.Attribution{}, false
			}
		}
	}
	a := unmogrowp.Attribution{
		AppID: click.AppID, DeviceID: click.DeviceID, InstallEventID: click.ID, InstallTime: click.Time,
		IsReattribution: true, ReattributionKind: unmogrowp.ReattributionReengagement,
	}
	win(&a, click, unmogrowp.MatchDeviceID)
	return a, true
}

// EventSource returns the media source and campaign that an event at t of a device whose
// latest decision is in rolls up to: a re-engagement's for reattribution_window_days
// after it, then the original decision's (Install.OriginalMediaSource); any other
// decision's own.
func (r *Rules) EventSource(in *unmogrowp.Install, t time.Time) (mediaSource, campaign string) {
	if in.IsReengagement() && t.Sub(in.InstallTime) > r.reattribution && in.OriginalMediaSource != "" {
		return in.OriginalMediaSource, in.OriginalCampaign
	}
	return in.MediaSource, in.Campaign
}

// Reengaged returns the stored form of the re-engagement a of a device whose decision was
// prev: its original source is prev's own, or prev's original when prev was a
// re-engagement too; the re-attribution window of installs still counts from the device's
// first install.
func Reengaged(prev *unmogrowp.Install, a unmogrowp.Attribution) unmogrowp.Install {
	out := unmogrowp.Install{Attribution: a, FirstInstallTime: prev.FirstInstallTime}
	if out.FirstInstallTime.IsZero() {
		out.FirstInstallTime = prev.InstallTime
	}
	out.OriginalMediaSource, out.OriginalCampaign = prev.MediaSource, prev.Campaign
	if prev.IsReengagement() && prev.OriginalMediaSource != "" {
		out.OriginalMediaSource, out.OriginalCampaign = prev.OriginalMediaSource, prev.OriginalCampaign
	}
	return out
}
