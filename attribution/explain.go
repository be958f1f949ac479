package attribution

import (
	"cmp"
	"slices"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Outcomes of a candidate in an explanation.
const (
	OutcomeWon      = "won"
	OutcomeLost     = "lost"
	OutcomeRejected = "rejected"
)

// Reasons a candidate lost (Candidate.Reason when Outcome is OutcomeLost); a rejected
// candidate's reason is its rejection's (unmogrowp.RejectReasons).
const (
	LostOutsideWindow = "outside_window"   // touched longer before the install than its level's window
	LostAfterInstall  = "after_install"    // touched after the install time
	LostHigherLevel   = "higher_level"     // a candidate of a level before its own won
	LostNewerWon      = "newer_touch_won"  // a more recent touch of its level won
	LostNotNewer      = "not_newer"        // a later install only looks at clicks newer than the previous install
	LostKept          = "kept"             // a reinstall kept the previous install's attribution
	LostChanged       = "settings_changed" // valid now at a level the decision did not reach: the settings or lists changed since
)

// Candidate is one touchpoint of an explanation: how it matched the install and what
// became of it.
type Candidate struct {
	TouchpointID string `json:"touchpoint_id"`
	MediaSource  string `json:"media_source"`
	TouchType    string `json:"touch_type"`
	// Level is the match type of the first waterfall level it matches inside its
	// window, or of the first it matches at all when it is inside none.
	Level       string `json:"level"`
	InWindow    bool   `json:"in_window"`
	CTITSeconds int64  `json:"ctit_seconds"` // install time minus touch time, rounded down; negative after the install
	Outcome     string `json:"outcome"`      // OutcomeWon, OutcomeLost or OutcomeRejected
	Reason      string `json:"reason"`       // a Lost* constant, a rejection reason, or "" for the winner
}

// Explain lists how each of candidates relates to decision, the install's decision as
// made (stored): every touchpoint of the install's app that matches the install at some
// waterfall level these rules have (clicks at referrer, device id and fingerprint;
// impressions at the two view-through levels), in or out of its window, touched before or
// after the install, each id once, in waterfall order of its Level, then most recent
// first. The winner is decision's touchpoint; a rejected one is in decision.Rejected
// with its reason; every other lost, with the reason these rules give. install and prior
// are what Decide was given.
func (r *Rules) Explain(install *unmogrowp.Event, candidates []unmogrowp.Touchpoint, prior *Prior, decision unmogrowp.Attribution) []Candidate {
	in := r.installSide(install)
	var previous time.Time
	reattributing := prior != nil && install.Timestamp.Sub(prior.first()) <= r.reattribution
	if reattributing {
		if previous = prior.Attribution.InstallTime; previous.IsZero() {
			previous = prior.first()
		}
	}
	rejected := make(map[string]string, len(decision.Rejected))
	for _, rj := range decision.Rejected {
		rejected[rj.TouchpointID] = rj.Reason
	}
	winLevel := numLevels
	if i := slices.Index(matchTypes[:], decision.MatchType); i >= 0 && decision.Attributed {
		winLevel = i
	}

	type entry struct {
		tp    *unmogrowp.Touchpoint
		level int
		c     Candidate
	}
	var out []entry
	seen := map[string]struct{}{}
	for i := range candidates {
		tp := &candidates[i]
		if tp.AppID != install.AppID || tp.Time.IsZero() {
			continue
		}
		if _, dup := seen[tp.ID]; dup {
			continue
		}
		age := in.time.Sub(tp.Time)
		all := r.levels(tp, nil, 0, &in) // every level it matches, windows aside
		if all == 0 {
			continue
		}
		seen[tp.ID] = struct{}{}
		inWindow := uint8(0)
		if age >= 0 {
			inWindow = r.levels(tp, nil, age, &in)
		}
		level := lowestLevel(all)
		if inWindow != 0 {
			level = lowestLevel(inWindow)
		}
		c := Candidate{
			TouchpointID: tp.ID, MediaSource: tp.MediaSource, TouchType: tp.Type,
			Level: matchTypes[level], InWindow: inWindow != 0, CTITSeconds: int64(age / time.Second),
		}
		switch reason, isRejected := rejected[tp.ID]; {
		case tp.ID == decision.TouchpointID && decision.Attributed && !decision.IsReinstall:
			c.Outcome = OutcomeWon
		case isRejected:
			c.Outcome, c.Reason = OutcomeRejected, reason
		default:
			c.Outcome = OutcomeLost
			switch {
			case age < 0:
				c.Reason = LostAfterInstall
			case inWindow == 0:
				c.Reason = LostOutsideWindow
			case reattributing && (tp.Type != unmogrowp.TouchClick || !tp.Time.After(previous)):
				c.Reason = LostNotNewer
			case decision.IsReinstall:
				c.Reason = LostKept
			case level > winLevel:
				c.Reason = LostHigherLevel
			case level == winLevel:
				c.Reason = LostNewerWon
			default:
				// Valid by today's rules and at a level the decision did not reach: the
				// settings (or the datacenter lists) changed since it was made.
				c.Reason = LostChanged
			}
		}
		out = append(out, entry{tp, level, c})
	}
	slices.SortFunc(out, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.level, b.level), compareRecency(a.tp, b.tp))
	})
	res := make([]Candidate, len(out))
	for i := range out {
		res[i] = out[i].c
	}
	return res
}
