package postback

import (
	"slices"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Decision is an install decision as the pipeline made it, with what its postbacks need.
type Decision struct {
	App     *unmogrowp.App
	Install unmogrowp.Install // the decision, with its install event's log position
	// Event is the install event, for the device's fields and its receive time, which
	// starts the deliveries' ids (RecordTime): give it whenever there is one, as the
	// pipeline does, so that deciding again makes the same ids. May be nil.
	Event *unmogrowp.Event
	// Touchpoints are the decision's winning and rejected touchpoints, when the caller
	// has them (the pipeline does): they give sub1..sub5, the rejected touchpoints' click
	// ids and times, and the address a blocklist rejected. May be nil.
	Touchpoints []unmogrowp.Touchpoint
	// NoSharing is set when the device must not be sent to networks: an event of it
	// carried third_party_sharing: false (and none true since), or it was erased. No
	// postback of kind postback is made; webhooks still are.
	NoSharing bool
}

// EventActivity is a stored event (after dedup), with its device's attribution when the
// pipeline processed it.
type EventActivity struct {
	App   *unmogrowp.App
	Event *unmogrowp.Event // with its log Partition and Offset
	// Attribution is the device's latest install decision then; nil when it had none,
	// which counts as organic.
	Attribution *unmogrowp.Attribution
	Touch       *unmogrowp.Touchpoint // the winning touchpoint, for sub1..sub5; may be nil
	NoSharing   bool                  // as for Decision
}

// ForDecision returns the deliveries an install decision owes (POSTBACKS.md, "What is
// sent, and to whom"), pending and due at now, with ids from unmogrowp.DeliveryID so that
// deciding again after a replay makes the same ones:
//   - install, reinstall or reattribution (by the decision's flags): once to each
//     postback with that trigger whose media source is the decision's, and to those with
//     send_all and to webhooks whatever the source, organic included; but never to a
//     network's postback for an install it had a rejected touchpoint on and did not win;
//   - rejected_install: once per rejected touchpoint to each postback of that
//     touchpoint's media source with that trigger, and to webhooks with it.
//
// Disabled postbacks and other apps' are skipped; with d.NoSharing only webhooks get any.
func ForDecision(pbs []*Postback, d Decision, now time.Time) []unmogrowp.Delivery {
	a := &d.Install.Attribution
	kind := unmogrowp.TriggerInstall
	switch {
	case a.IsReinstall:
		kind = unmogrowp.TriggerReinstall
	case a.IsReattribution:
		kind = unmogrowp.TriggerReattribution
	}
	won := touchpoint(d.Touchpoints, a.TouchpointID)
	at := RecordTime(d.Event, a.InstallTime)
	var out []unmogrowp.Delivery
	for _, p := range pbs {
		if !p.sends(d.App, kind, d.NoSharing) || !p.serves(a) || p.lostTo(a) {
			continue
		}
		src := &Source{
			ActivityKind: kind, App: d.App, Install: a, Touch: TouchOf(a, won), Event: d.Event,
			DeliveryID: unmogrowp.DeliveryID(p.ID, d.Install.Partition, d.Install.Offset, at, kind, ""),
		}
		out = append(out, p.Delivery(src, now))
	}
	for i := range a.Rejected {
		r := &a.Rejected[i]
		tp := touchpoint(d.Touchpoints, r.TouchpointID)
		if tp == nil {
			tp = &unmogrowp.Touchpoint{ID: r.TouchpointID, MediaSource: r.MediaSource}
		}
		for _, p := range pbs {
			kind := unmogrowp.TriggerRejectedInstall
			if !p.sends(d.App, kind, d.NoSharing) || (p.Kind == unmogrowp.KindPostback && p.MediaSource != r.MediaSource) {
				continue
			}
			src := &Source{
				ActivityKind: kind, App: d.App, Install: a, Touch: tp, Event: d.Event, Rejection: r,
				DeliveryID: unmogrowp.DeliveryID(p.ID, d.Install.Partition, d.Install.Offset, at, kind, r.TouchpointID),
			}
			out = append(out, p.Delivery(src, now))
		}
	}
	return out
}

// ForEvent returns the deliveries a stored event owes, pending and due at now: once to
// each postback with the event trigger whose event_types hold the event's type (or are
// empty) and whose media source is the device's attribution's (any, with send_all, and
// for webhooks). An install event owes no event delivery: its decision has its own
// (ForDecision). Disabled postbacks and other apps' are skipped; with a.NoSharing only
// webhooks get any.
func ForEvent(pbs []*Postback, a EventActivity, now time.Time) []unmogrowp.Delivery {
	e := a.Event
	kind := unmogrowp.TriggerEvent
	if e.EventType == unmogrowp.EventInstall {
		return nil
	}
	attr := a.Attribution
	if attr == nil {
		attr = &unmogrowp.Attribution{AppID: e.AppID, DeviceID: e.DeviceID, MediaSource: unmogrowp.MediaSourceOrganic, MatchType: unmogrowp.MatchOrganic}
	}
	at := RecordTime(e, time.Time{})
	var out []unmogrowp.Delivery
	for _, p := range pbs {
		if !p.sends(a.App, kind, a.NoSharing) || !p.serves(attr) {
			continue
		}
		if len(p.EventTypes) > 0 && !slices.Contains(p.EventTypes, e.EventType) {
			continue
		}
		src := &Source{
			ActivityKind: kind, App: a.App, Install: a.Attribution, Touch: TouchOf(attr, a.Touch), Event: e,
			DeliveryID: unmogrowp.DeliveryID(p.ID, e.Partition, e.Offset, at, kind, ""),
		}
		out = append(out, p.Delivery(src, now))
	}
	return out
}

// RecordTime is the time a delivery id starts with (unmogrowp.DeliveryID): the event's
// ReceivedAt, else its Timestamp, else (no event) fallback. Each is in the log record, so
// the same record gives the same time on every replay.
func RecordTime(e *unmogrowp.Event, fallback time.Time) time.Time {
	switch {
	case e == nil:
		return fallback
	case !e.ReceivedAt.IsZero():
		return e.ReceivedAt
	}
	return e.Timestamp
}

// sends reports whether the postback is enabled, the app's, has the trigger, and may be
// sent with the device's consent.
func (p *Postback) sends(app *unmogrowp.App, trigger string, noSharing bool) bool {
	return p.Enabled && (app == nil || p.AppID == app.ID) && slices.Contains(p.Triggers, trigger) &&
		!(noSharing && p.Kind == unmogrowp.KindPostback)
}

// serves reports whether the postback is sent the activity of a device with attribution a:
// a webhook and a send_all postback always, any other only its own network's.
func (p *Postback) serves(a *unmogrowp.Attribution) bool {
	return p.Kind == unmogrowp.KindWebhook || p.SendAll || (a.Attributed && a.MediaSource == p.MediaSource)
}

// lostTo reports whether a network postback's network had a touchpoint rejected on the
// install a and did not win it: it then gets the rejected_install and no install.
func (p *Postback) lostTo(a *unmogrowp.Attribution) bool {
	if p.Kind != unmogrowp.KindPostback || (a.Attributed && a.MediaSource == p.MediaSource) {
		return false
	}
	return slices.ContainsFunc(a.Rejected, func(r unmogrowp.Rejection) bool { return r.MediaSource == p.MediaSource })
}

// touchpoint returns the touchpoint with the id among tps, nil if there is none.
func touchpoint(tps []unmogrowp.Touchpoint, id string) *unmogrowp.Touchpoint {
	if id == "" {
		return nil
	}
	for i := range tps {
		if tps[i].ID == id {
			return &tps[i]
		}
	}
	return nil
}
