package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

// AppSettings is what the Attributor needs of the metadata store: an app's settings, and
// its links for the windows of their own.
type AppSettings interface {
	// App returns the app with the id. Returns ENOTFOUND if there is none.
	App(ctx context.Context, id string) (*unmogrowp.App, error)

	// Links lists the app's tracking links; an unknown app has none.
	Links(ctx context.Context, appID string) ([]*unmogrowp.Link, error)
}

// StoredInstalls is what the Attributor needs of the analytics store: the install
// decisions it holds, for a batch read again after the hot state has learned it.
type StoredInstalls interface {
	// Installs is unmogrowp.EventStore's: the Attributor asks for one device's decisions.
	Installs(ctx context.Context, f unmogrowp.InstallFilter) ([]unmogrowp.Install, string, error)
}

// DefaultSettingsTTL is how long the Attributor keeps an app's settings before reading them
// again: a changed setting takes effect within it.
const DefaultSettingsTTL = 5 * time.Second

// Attributor is the Stage that decides installs and enriches events (ATTRIBUTION.md). For
// each batch, in log order, it indexes the touchpoints, decides every install event with
// attribution.Rules.Decide against the touchpoints the hot state and the batch hold under
// the install's keys and the device's previous decision, and tags every event with the
// media source and campaign its device has at that point ("organic" for a device with no
// attributed install). The hot state learns the batch's touchpoints and decisions only
// once the store has them (Stored), so a batch retried or replayed after a crash is
// decided from the same state and gets the same answers.
//
// A batch can also be read again after the hot state has learned it: a consumer loses its
// partitions in a rebalance after applying a batch and before committing it, and the new
// owner reads the batch from the last committed offset. The Attributor knows such a batch
// by its device decisions: the hot state holds one at or after the event's own position
// in the same partition. For those devices it takes the decisions the first pass stored,
// rather than deciding again from a state the first pass already changed (which would
// turn a re-attribution into a reinstall, and tag the events before it with what came
// after).
type Attributor struct {
	apps AppSettings
	hot  unmogrowp.HotState
	// decision reads a device's decision: hot's Decision (DecisionReader) or else Device.
	decision func(ctx context.Context, appID, deviceID string) (unmogrowp.Install, bool, error)
	stored   StoredInstalls
	ttl      time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu       sync.Mutex
	settings map[string]cachedRules

	datacenters unmogrowp.IPSet

	installs *prometheus.CounterVec
	rejected *prometheus.CounterVec

	// postbacks, when not nil, makes the deliveries of each batch before it is stored
	// (BeforeStore), from what the last Prepare recorded in seen.
	postbacks *Postbacks
	seen      seen

	// active are the devices whose activity the last Prepare raised, for Stored to hand to
	// the hot state (HotState.Seen), but those it decided anew: their latest decision in
	// the batch carries their activity to HotState.Apply.
	active []unmogrowp.DeviceActivity

	// read locates in readApps the hot state's answers for the devices of the batch
	// Prepare is deciding, read at once before its walk when the hot state is a
	// DevicesReader; empty otherwise.
	read     map[deviceKey]readAt
	readApps []readApp

	// rows, devices and slab are Prepare's, kept from one batch to the next so that their
	// memory is reused: the batch's records in log order, what the walk knows of each
	// device, and where those devices are.
	rows    []row
	devices map[deviceKey]*device
	slab    deviceSlab

	// pre are the hot state's candidates for the install events of the batch Prepare is
	// deciding, by the event's position, read at once before its walk when the hot state
	// is a CandidatesReader; empty otherwise.
	pre map[position]readCandidates

	// sets are the hot state's candidates under each key of the install events of the
	// batch Prepare is deciding, by app, read at once before its walk when the hot state is
	// a CandidateSetsReader; empty otherwise. A decision's candidates point into them
	// (refs, with their fingerprints in fps), and lists is where candidates merges its
	// keys' sets; localFPs are the fingerprints of the batch's touchpoints, by index, as
	// far as the walk has come; rejectedIDs is decide's set of a decision's rejected
	// touchpoint ids. All are kept from one batch to the next.
	sets        map[string]*candidateSets
	refs        []*unmogrowp.Touchpoint
	fps         []attribution.Fingerprint
	lists       [][]int32
	localFPs    []attribution.Fingerprint
	rejectedIDs map[string]struct{}
}

// candidateSets are the hot state's candidates of an app under the keys of a batch's
// installs (CandidateSetsReader): each touchpoint once in tps, with its fingerprint at the
// same index in fps (computed once a batch, not once a decision), and by key the indices
// in tps of those stored under it, ascending.
type candidateSets struct {
	tps   []unmogrowp.Touchpoint
	fps   []attribution.Fingerprint
	byKey map[string][]int32
}

// maxKeptSets is the most touchpoints an app's candidateSets keeps room for from one
// batch to the next.
const maxKeptSets = 1 << 16

// readApp is what the hot state answered for the devices of one app of a batch: for each
// of ids, its decision and whether it has one.
type readApp struct {
	appID    string
	ids      []string
	installs []unmogrowp.Install
	found    []bool
}

// readAt is where a device's answer is: readApps[app], its index i there.
type readAt struct{ app, i int32 }

// readCandidates is what the hot state answered for an install event's keys.
type readCandidates struct {
	keys []string
	tps  []unmogrowp.Touchpoint
}

// CandidatesReader is a HotState that reads the touchpoints of many sets of keys of an app
// at once: package redis's, in one round trip where HotState.Candidates takes one a set.
// The Attributor reads the candidates of all the install events of a batch through it
// before its walk, as it reads their devices (DevicesReader): the walk writes nothing to
// the hot state, so the answers are those the walk would have read.
type CandidatesReader interface {
	// CandidatesOf answers, for each of keySets in order, what HotState.Candidates
	// answers for the app and those keys.
	CandidatesOf(ctx context.Context, appID string, keySets [][]string) ([][]unmogrowp.Touchpoint, error)
}

// CandidateSetsReader is a HotState that reads the touchpoints of many keys of an app at
// once and tells which are stored under which key: package inmem's. The Attributor reads
// the candidates of all the keys of a batch's install events through it before its walk,
// so that installs that share a key (a fingerprint, a device's ids) share what the hot
// state holds under it, read and decoded once; the walk writes nothing to the hot state,
// so the answers are those the walk would have read.
type CandidateSetsReader interface {
	// CandidateSets answers HotState.Candidates for each of keys alone: tps holds each
	// touchpoint stored under any of them once (appended to dst[:0]), and sets[i] the
	// indices in tps of those stored under keys[i], ascending, such that for any subset of
	// keys the touchpoints at the union of their sets, in ascending order, are those
	// Candidates returns for that subset, in its order.
	CandidateSets(ctx context.Context, appID string, keys []string, dst []unmogrowp.Touchpoint) (tps []unmogrowp.Touchpoint, sets [][]int32, err error)
}

// DevicesReader is a HotState that reads many devices of an app at once: package redis's,
// in one round trip where HotState.Device takes one each. The Attributor reads all the
// devices of a batch through it before its walk over the batch rather than each when the
// walk meets it: the walk writes nothing to the hot state (Stored does, after the store
// write), so the answers are those the walk would have read.
type DevicesReader interface {
	// Devices answers, for each of deviceIDs in order, what HotState.Device answers for
	// the app's device: its latest decision, with its Activity, and whether it has one.
	Devices(ctx context.Context, appID string, deviceIDs []string) ([]unmogrowp.Install, []bool, error)
}

// DecisionReader is a HotState that reads a device's decision without its rejected
// touchpoints (Rejected nil), which the Attributor never reads from a device's earlier
// decision: package inmem's, whose Device decodes each of them, up to hundreds on a
// device that click spam reached, into new strings. The Attributor reads devices through
// it when the hot state is one.
type DecisionReader interface {
	// Decision answers what HotState.Device answers, Rejected left out.
	Decision(ctx context.Context, appID, deviceID string) (unmogrowp.Install, bool, error)
}

// seen is what the last Prepare knew, kept for BeforeStore when there are postbacks: by
// event (its index in the batch), its device's decision at that event, as an index in
// decisions (-1: none); and the touchpoints of the decisions it made (the winning and the
// rejected ones), by the install event's position, by reference: they point into the
// batch, or into what the Attributor read of the hot state for it, which stay as they are
// until the next Prepare. Only the deliveries of an app with postbacks copy them
// (touchesAt), not every decision.
type seen struct {
	byEvent   []int32
	decisions []unmogrowp.Install
	touches   map[position][]*unmogrowp.Touchpoint
	refs      []*unmogrowp.Touchpoint // where touches are, kept from one batch to the next
}

// touch records, as the touchpoints of the decision made at the position, those of
// candidates keep keeps.
func (s *seen) touch(at position, candidates []*unmogrowp.Touchpoint, keep func(*unmogrowp.Touchpoint) bool) {
	start := len(s.refs)
	for _, c := range candidates {
		if keep(c) {
			s.refs = append(s.refs, c)
		}
	}
	s.touches[at] = s.refs[start:len(s.refs):len(s.refs)]
}

// touchesAt returns copies of the touchpoints of the decision made at the position, nil
// when it has none.
func (s *seen) touchesAt(at position) []unmogrowp.Touchpoint {
	refs := s.touches[at]
	if len(refs) == 0 {
		return nil
	}
	out := make([]unmogrowp.Touchpoint, len(refs))
	for i, tp := range refs {
		out[i] = *tp
	}
	return out
}

// position is where a record sits in the log.
type position struct {
	partition int32
	offset    int64
}

// reset empties s for a batch of n events.
func (s *seen) reset(n int) {
	s.byEvent = slices.Grow(s.byEvent[:0], n)[:n]
	clear(s.decisions) // what they hold is the last batch's
	s.decisions = s.decisions[:0]
	if s.touches == nil {
		s.touches = map[position][]*unmogrowp.Touchpoint{}
	}
	clear(s.touches)
	clear(s.refs) // let the last batch's touchpoints go
	s.refs = s.refs[:0]
}

// cachedRules is an app as the settings cache keeps it: the app (nil for an app that no
// longer exists) and its prepared settings, its links' windows included.
type cachedRules struct {
	app     *unmogrowp.App
	rules   *attribution.Rules
	expires time.Time
}

// AttributorOptions configure an Attributor. Zero fields take the defaults.
type AttributorOptions struct {
	SettingsTTL time.Duration    // default DefaultSettingsTTL
	Now         func() time.Time // for the settings cache only; default time.Now
	Logger      *slog.Logger
	// Registerer, when not nil, gets the counters of decisions by match type and of
	// rejected touchpoints by reason.
	Registerer prometheus.Registerer
	// Postbacks, when not nil, makes the postback and webhook deliveries that each batch's
	// decisions and events owe, and enqueues them before the store write (BeforeStore).
	Postbacks *Postbacks
	// Datacenters, when not nil, are the cloud providers' addresses the datacenter_ip rule
	// rejects (typically an unmogrowp.IPListWatcher); nil: the rule matches nothing.
	Datacenters unmogrowp.IPSet
}

// NewAttributor returns the Stage that attributes with apps' settings and the hot state;
// stored is the analytics store the pipeline writes to.
func NewAttributor(apps AppSettings, hot unmogrowp.HotState, stored StoredInstalls, opts AttributorOptions) *Attributor {
	if opts.SettingsTTL <= 0 {
		opts.SettingsTTL = DefaultSettingsTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Attributor{
		apps: apps, hot: hot, decision: hot.Device, stored: stored, ttl: opts.SettingsTTL, now: opts.Now, postbacks: opts.Postbacks,
		datacenters: opts.Datacenters,
		log:         opts.Logger.With("component", "attribution"),
		settings:    map[string]cachedRules{},
		installs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unmogrowp_install_decisions_total",
			Help: "Install decisions by match type; reinstalls and re-attributions by kind.",
		}, []string{"match_type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unmogrowp_rejected_touchpoints_total",
			Help: "Touchpoints that matched an install but were rejected, by reason.",
		}, []string{"reason"}),
	}
	if dr, ok := hot.(DecisionReader); ok {
		a.decision = dr.Decision
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{a.installs, a.rejected} {
			if err := opts.Registerer.Register(c); err != nil {
				a.log.Warn("attribution metrics not registered", "err", err)
			}
		}
	}
	return a
}

var _ Stage = (*Attributor)(nil)

// row is one event or touchpoint of a batch, for walking the batch in log order.
type row struct {
	partition int32
	offset    int64
	event     int // index in Batch.Events, or -1
	touch     int // index in Batch.Touchpoints, or -1
}

type deviceKey struct{ app, device string }

// decision is what one Prepare has learned so far about a device.
type decision struct {
	install unmogrowp.Install
	ok      bool // false: the device has no install
}

// device is what one Prepare knows of a device: its decision at the point the walk has
// reached, and, when the batch is read again after the hot state learned it, every stored
// decision of the device in log order (nil otherwise).
type device struct {
	decision
	history []unmogrowp.Install
	seen    int32 // the index of decision in seen.decisions; -1 when not there yet
	made    int   // the index in the batch's Installs of its latest decision there; -1: none

	// act is the device's activity as far as the walk has come (the hot state's, raised
	// by the batch's events), and raised whether the walk raised it.
	act    unmogrowp.Activity
	raised bool
}

// last is the time of the device's latest event as far as the walk has come: its
// activity's, or its decision's when later (an install is an event; a hot state that
// lost the activity still knows the decision).
func (d *device) last() time.Time {
	if d.install.InstallTime.After(d.act.LastEventTime) {
		return d.install.InstallTime
	}
	return d.act.LastEventTime
}

// Prepare decides the batch's installs and enriches its events; see Attributor.
func (a *Attributor) Prepare(ctx context.Context, b *unmogrowp.Batch) error {
	rows := slices.Grow(a.rows[:0], len(b.Events)+len(b.Touchpoints))
	for i := range b.Events {
		rows = append(rows, row{b.Events[i].Partition, b.Events[i].Offset, i, -1})
	}
	for i := range b.Touchpoints {
		rows = append(rows, row{b.Touchpoints[i].Partition, b.Touchpoints[i].Offset, -1, i})
	}
	slices.SortFunc(rows, func(x, y row) int {
		return cmp.Or(cmp.Compare(x.partition, y.partition), cmp.Compare(x.offset, y.offset))
	})
	a.rows = rows
	if err := a.readDevices(ctx, b); err != nil {
		return err
	}
	if err := a.readSets(ctx, b); err != nil {
		return err
	}
	if err := a.readCandidates(ctx, b); err != nil {
		return err
	}

	// The batch's own touchpoints, by app and key, as far as the walk has come; and what
	// the walk knows of devices (decided in this batch, or read from the hot state).
	local := map[deviceKey][]int{}
	if a.devices == nil {
		a.devices = map[deviceKey]*device{} // by pointer: a device is larger than its map slot
	}
	devices := a.devices
	clear(devices)
	a.slab.reset()
	record := a.postbacks != nil
	if record {
		a.seen.reset(len(b.Events))
	}
	a.active = a.active[:0]
	// The batch's fingerprints go with the hot state's sets (candidates); without them
	// attribution computes what it compares.
	_, sets := a.hot.(CandidateSetsReader)
	a.localFPs = slices.Grow(a.localFPs[:0], len(b.Touchpoints))[:len(b.Touchpoints)]
	var rc rulesCache
	for _, r := range rows {
		if r.touch >= 0 {
			tp := &b.Touchpoints[r.touch]
			if sets {
				a.localFPs[r.touch] = attribution.TouchpointFingerprint(tp)
			}
			for _, k := range attribution.TouchpointKeys(tp).Strings() {
				lk := deviceKey{tp.AppID, k}
				local[lk] = append(local[lk], r.touch)
			}
			if tp.Opened && tp.DeviceID != "" && tp.Type == unmogrowp.TouchClick {
				if err := a.opened(ctx, b, tp, devices, &rc); err != nil {
					return err
				}
			}
			continue
		}
		e := &b.Events[r.event]
		dk := deviceKey{e.AppID, e.DeviceID}
		d, err := a.deviceAt(ctx, devices, dk, e.Partition, e.Offset)
		if err != nil {
			return err
		}
		var rules *attribution.Rules
		if e.EventType == unmogrowp.EventInstall {
			inst, again := decisionAt(d.history, e.Partition, e.Offset)
			if !again {
				var err error
				if inst, err = a.decide(ctx, e, b.Touchpoints, local, d.decision); err != nil {
					return err
				}
				if d.history != nil {
					d.history = insertDecision(d.history, inst)
				}
			}
			b.Installs = append(b.Installs, inst)
			d.decision, d.seen, d.made = decision{inst, true}, -1, len(b.Installs)-1
		} else if d.ok {
			if rules, err = rc.get(ctx, a, e.AppID); err != nil {
				return err
			}
			inst, again := decisionAt(d.history, e.Partition, e.Offset)
			if !again && rules.Dormant(d.last(), e.Timestamp) {
				inst, again, err = a.reengage(ctx, rules, e, b.Touchpoints, local, d)
				if err != nil {
					return err
				}
				if again && d.history != nil {
					d.history = insertDecision(d.history, inst)
				}
			}
			if again {
				b.Installs = append(b.Installs, inst)
				d.decision, d.seen, d.made = decision{inst, true}, -1, len(b.Installs)-1
			}
		}
		if d.act.Raise(e.Timestamp, e.IDFA, e.GAID, e.AndroidID) {
			d.raised = true
		}
		if record {
			a.seen.byEvent[r.event] = -1
			if d.ok {
				if d.seen < 0 {
					a.seen.decisions = append(a.seen.decisions, d.install)
					d.seen = int32(len(a.seen.decisions) - 1)
				}
				a.seen.byEvent[r.event] = d.seen
			}
		}
		e.MediaSource, e.Campaign = unmogrowp.MediaSourceOrganic, ""
		if d.ok {
			e.MediaSource, e.Campaign = d.install.MediaSource, d.install.Campaign
			if d.install.IsReengagement() {
				if rules == nil {
					if rules, err = rc.get(ctx, a, e.AppID); err != nil {
						return err
					}
				}
				e.MediaSource, e.Campaign = rules.EventSource(&d.install, e.Timestamp)
			}
		}
	}
	for dk, d := range devices {
		switch {
		case !d.raised || !d.ok:
		case d.made >= 0 && d.history == nil:
			// The batch's decision carries the activity to the hot state (Apply raises the
			// device's with it, as Seen would): one write of the device rather than two.
			// Not for a batch read again, whose decisions Apply may find older than the
			// device's and ignore.
			b.Installs[d.made].Activity = d.act
		default:
			a.active = append(a.active, unmogrowp.DeviceActivity{AppID: dk.app, DeviceID: dk.device, Activity: d.act})
		}
	}
	return nil
}

// deviceSlab holds the devices of one Prepare in chunks that never move, so that a
// pointer to one stays good until reset, and that are reused by the next Prepare: one
// allocation a chunk rather than one a device.
type deviceSlab struct {
	chunks [][]device
	n      int // devices held
}

// deviceChunk is how many devices a chunk holds.
const deviceChunk = 1024

// add stores v and returns where it is.
func (s *deviceSlab) add(v device) *device {
	c, i := s.n/deviceChunk, s.n%deviceChunk
	if c == len(s.chunks) {
		s.chunks = append(s.chunks, make([]device, deviceChunk))
	}
	s.n++
	s.chunks[c][i] = v
	return &s.chunks[c][i]
}

// reset forgets the devices held (zeroing them, so that they keep nothing alive), keeping
// the chunks for the next ones.
func (s *deviceSlab) reset() {
	for c := 0; c*deviceChunk < s.n; c++ {
		clear(s.chunks[c][:min(deviceChunk, s.n-c*deviceChunk)])
	}
	s.n = 0
}

// rulesCache keeps the last app's rules for one Prepare: a batch's events come in runs
// of one app, and the settings cache takes a lock.
type rulesCache struct {
	app   string
	rules *attribution.Rules
}

func (c *rulesCache) get(ctx context.Context, a *Attributor, appID string) (*attribution.Rules, error) {
	if c.rules != nil && c.app == appID {
		return c.rules, nil
	}
	r, err := a.rules(ctx, appID)
	if err != nil {
		return nil, err
	}
	c.app, c.rules = appID, r
	return r, nil
}

// deviceAt returns what the walk knows of the device at a record at the position: read
// from the hot state when the walk meets the device first, and, when the batch is read
// again (the device has a stored history), its decision before the position.
func (a *Attributor) deviceAt(ctx context.Context, devices map[deviceKey]*device, dk deviceKey, partition int32, offset int64) (*device, error) {
	d, known := devices[dk]
	if !known {
		v, err := a.device(ctx, dk.app, dk.device, partition, offset)
		if err != nil {
			return nil, err
		}
		d = a.slab.add(v)
		d.seen, d.made = -1, -1
		devices[dk] = d
	}
	if d.history != nil {
		d.decision, d.seen = decisionBefore(d.history, partition, offset), -1
	}
	return d, nil
}

// reengage looks for the click that brought the dormant device d back at its event e
// (attribution.Rules.Reengage), among the touchpoints the hot state and the batch hold
// under e's keys and, when e carries no advertising id, under the ids of d's earlier
// events. It returns the re-engagement decision and true, or false when there is none.
func (a *Attributor) reengage(ctx context.Context, rules *attribution.Rules, e *unmogrowp.Event, batchTPs []unmogrowp.Touchpoint, local map[deviceKey][]int, d *device) (unmogrowp.Install, bool, error) {
	keys := attribution.CandidateKeys(e)
	if !rules.FingerprintEnabled() {
		keys.Fingerprint = ""
	}
	if e.IDFA == "" && e.GAID == "" && e.AndroidID == "" {
		earlier := unmogrowp.Event{IDFA: d.act.IDFA, GAID: d.act.GAID, AndroidID: d.act.AndroidID}
		keys.DeviceIDs = append(keys.DeviceIDs, attribution.CandidateKeys(&earlier).DeviceIDs...)
	}
	candidates, fps, err := a.candidates(ctx, e, keys.Strings(), batchTPs, local)
	if err != nil {
		return unmogrowp.Install{}, false, err
	}
	att, ok := rules.ReengageRefs(e, candidates, fps, d.last(), d.act)
	if !ok {
		return unmogrowp.Install{}, false, nil
	}
	a.reengaged(att, candidates, position{e.Partition, e.Offset})
	inst := attribution.Reengaged(&d.install, att)
	inst.Partition, inst.Offset = e.Partition, e.Offset
	return inst, true, nil
}

// opened handles a click recorded by POST /v1/deeplinks (Touchpoint.Opened): the app was
// opened by it, which is the device's return. A dormant device with a decision is
// re-engaged by the click itself (attribution.Rules.ReengageOpen); the open raises the
// device's activity either way.
func (a *Attributor) opened(ctx context.Context, b *unmogrowp.Batch, tp *unmogrowp.Touchpoint, devices map[deviceKey]*device, rc *rulesCache) error {
	dk := deviceKey{tp.AppID, tp.DeviceID}
	d, err := a.deviceAt(ctx, devices, dk, tp.Partition, tp.Offset)
	if err != nil {
		return err
	}
	if d.ok {
		rules, err := rc.get(ctx, a, tp.AppID)
		if err != nil {
			return err
		}
		inst, again := decisionAt(d.history, tp.Partition, tp.Offset)
		if !again && rules.Dormant(d.last(), tp.Time) {
			var att unmogrowp.Attribution
			if att, again = rules.ReengageOpen(tp); again {
				a.reengaged(att, []*unmogrowp.Touchpoint{tp}, position{tp.Partition, tp.Offset})
				inst = attribution.Reengaged(&d.install, att)
				inst.Partition, inst.Offset = tp.Partition, tp.Offset
				if d.history != nil {
					d.history = insertDecision(d.history, inst)
				}
			}
		}
		if again {
			b.Installs = append(b.Installs, inst)
			d.decision, d.seen, d.made = decision{inst, true}, -1, len(b.Installs)-1
		}
	}
	if d.act.Raise(tp.Time, tp.IDFA, tp.GAID, tp.AndroidID) {
		d.raised = true
	}
	return nil
}

// reengaged counts a re-engagement decision made at the position and, with postbacks,
// keeps its winning touchpoint for them.
func (a *Attributor) reengaged(att unmogrowp.Attribution, candidates []*unmogrowp.Touchpoint, at position) {
	a.installs.WithLabelValues("reengagement:" + att.MatchType).Inc()
	if a.postbacks == nil {
		return
	}
	if i := slices.IndexFunc(candidates, func(c *unmogrowp.Touchpoint) bool { return c.ID == att.TouchpointID }); i >= 0 {
		a.seen.touch(at, candidates[i:i+1], func(*unmogrowp.Touchpoint) bool { return true })
	}
}

// device reads what the hot state knows of the app's device, which the walk meets first
// at the record at (partition, offset). When the device's decision is at or after that
// record in its partition, the batch was read again after the hot state learned it, and
// device reads the device's stored decisions too.
func (a *Attributor) device(ctx context.Context, appID, deviceID string, partition int32, offset int64) (device, error) {
	at, found := a.read[deviceKey{appID, deviceID}]
	var inst unmogrowp.Install
	var ok bool
	if found {
		r := &a.readApps[at.app]
		inst, ok = r.installs[at.i], r.found[at.i]
	} else {
		var err error
		if inst, ok, err = a.decision(ctx, appID, deviceID); err != nil {
			return device{}, fmt.Errorf("read device %s of app %s: %w", deviceID, appID, err)
		}
	}
	d := device{decision: decision{inst, ok}, act: inst.Activity}
	d.install.Activity = unmogrowp.Activity{} // the walk keeps it in act
	if !ok || inst.Partition != partition || inst.Offset < offset {
		return d, nil
	}
	history, _, err := a.stored.Installs(ctx, unmogrowp.InstallFilter{AppID: appID, DeviceID: deviceID})
	if err != nil {
		return device{}, fmt.Errorf("read stored installs of device %s of app %s: %w", deviceID, appID, err)
	}
	slices.SortFunc(history, comparePosition)
	a.log.Debug("deciding a device from its stored installs: its batch is read again",
		"app_id", appID, "device_id", deviceID, "partition", partition, "offset", offset, "installs", len(history))
	if history == nil {
		history = []unmogrowp.Install{} // read again, with nothing stored: not nil
	}
	d.history = history
	return d, nil
}

// readDevices fills a.read with the hot state's answers for the devices of b's events and
// of its clicks that opened the app, when the hot state is a DevicesReader: one call per
// app. Otherwise it empties a.read, and the walk reads each device as it meets it.
func (a *Attributor) readDevices(ctx context.Context, b *unmogrowp.Batch) error {
	clear(a.read)
	clear(a.readApps) // let the last batch's answers go
	a.readApps = a.readApps[:0]
	dr, ok := a.hot.(DevicesReader)
	if !ok {
		return nil
	}
	if a.read == nil {
		a.read = map[deviceKey]readAt{}
	}
	app, lastApp := int32(-1), ""
	add := func(appID, deviceID string) {
		dk := deviceKey{appID, deviceID}
		if _, ok := a.read[dk]; ok {
			return
		}
		if app < 0 || appID != lastApp {
			app, lastApp = -1, appID
			for i := range a.readApps {
				if a.readApps[i].appID == appID {
					app = int32(i)
					break
				}
			}
			if app < 0 {
				app = int32(len(a.readApps))
				a.readApps = append(a.readApps, readApp{appID: appID})
			}
		}
		r := &a.readApps[app]
		a.read[dk] = readAt{app, int32(len(r.ids))}
		r.ids = append(r.ids, deviceID)
	}
	for i := range b.Events {
		add(b.Events[i].AppID, b.Events[i].DeviceID)
	}
	for i := range b.Touchpoints {
		if tp := &b.Touchpoints[i]; tp.Opened && tp.DeviceID != "" && tp.Type == unmogrowp.TouchClick {
			add(tp.AppID, tp.DeviceID)
		}
	}
	for i := range a.readApps {
		r := &a.readApps[i]
		var err error
		if r.installs, r.found, err = dr.Devices(ctx, r.appID, r.ids); err != nil {
			clear(a.read)
			return fmt.Errorf("read %d devices of app %s: %w", len(r.ids), r.appID, err)
		}
	}
	return nil
}

// readCandidates fills a.pre with the hot state's candidates for the keys of b's install
// events (as decide computes them), when the hot state is a CandidatesReader: one call per
// app. Otherwise it empties a.pre, and decide reads each install's as it meets it.
func (a *Attributor) readCandidates(ctx context.Context, b *unmogrowp.Batch) error {
	clear(a.pre)
	cr, ok := a.hot.(CandidatesReader)
	if _, sets := a.hot.(CandidateSetsReader); !ok || sets {
		return nil
	}
	if a.pre == nil {
		a.pre = map[position]readCandidates{}
	}
	type asked struct {
		at   []position
		keys [][]string
	}
	byApp := map[string]*asked{}
	err := a.eachInstall(ctx, b, func(e *unmogrowp.Event, keys []string) {
		q := byApp[e.AppID]
		if q == nil {
			q = &asked{}
			byApp[e.AppID] = q
		}
		q.at = append(q.at, position{e.Partition, e.Offset})
		q.keys = append(q.keys, keys)
	})
	if err != nil {
		return err
	}
	for appID, q := range byApp {
		tps, err := cr.CandidatesOf(ctx, appID, q.keys)
		if err != nil {
			clear(a.pre)
			return fmt.Errorf("read the candidates of %d installs of app %s: %w", len(q.keys), appID, err)
		}
		for i, at := range q.at {
			a.pre[at] = readCandidates{q.keys[i], tps[i]}
		}
	}
	return nil
}

// readSets fills a.sets with the hot state's candidates under each key of b's install
// events (as decide computes them), when the hot state is a CandidateSetsReader: one call
// per app. Otherwise it empties a.sets, and decide reads each install's as it meets it.
func (a *Attributor) readSets(ctx context.Context, b *unmogrowp.Batch) error {
	for app, c := range a.sets {
		if cap(c.tps) > maxKeptSets {
			delete(a.sets, app)
			continue
		}
		clear(c.tps) // let the last batch's strings go
		c.tps = c.tps[:0]
		clear(c.fps)
		c.fps = c.fps[:0]
		clear(c.byKey)
	}
	sr, ok := a.hot.(CandidateSetsReader)
	if !ok {
		return nil
	}
	if a.sets == nil {
		a.sets = map[string]*candidateSets{}
	}
	byApp := map[string][]string{}
	err := a.eachInstall(ctx, b, func(e *unmogrowp.Event, keys []string) {
		c := a.sets[e.AppID]
		if c == nil {
			c = &candidateSets{byKey: map[string][]int32{}}
			a.sets[e.AppID] = c
		}
		for _, k := range keys {
			if _, ok := c.byKey[k]; !ok {
				c.byKey[k] = nil
				byApp[e.AppID] = append(byApp[e.AppID], k)
			}
		}
	})
	if err != nil {
		return err
	}
	for appID, keys := range byApp {
		c := a.sets[appID]
		tps, sets, err := sr.CandidateSets(ctx, appID, keys, c.tps)
		if err != nil {
			for _, c := range a.sets {
				clear(c.byKey)
			}
			return fmt.Errorf("read the candidates of %d keys of app %s: %w", len(keys), appID, err)
		}
		c.tps = tps
		for i := range tps {
			c.fps = append(c.fps, attribution.TouchpointFingerprint(&tps[i]))
		}
		for i, k := range keys {
			c.byKey[k] = sets[i]
		}
	}
	return nil
}

// eachInstall calls fn with each install event of b, in order, and its candidateKeys.
func (a *Attributor) eachInstall(ctx context.Context, b *unmogrowp.Batch, fn func(e *unmogrowp.Event, keys []string)) error {
	for i := range b.Events {
		e := &b.Events[i]
		if e.EventType != unmogrowp.EventInstall {
			continue
		}
		keys, err := a.candidateKeys(ctx, e)
		if err != nil {
			return err
		}
		fn(e, keys)
	}
	return nil
}

// candidateKeys returns the hot state's keys of the touchpoints that may have brought the
// install event e, as the app's settings allow.
func (a *Attributor) candidateKeys(ctx context.Context, e *unmogrowp.Event) ([]string, error) {
	rules, err := a.rules(ctx, e.AppID)
	if err != nil {
		return nil, err
	}
	keys := attribution.CandidateKeys(e)
	if !rules.FingerprintEnabled() {
		keys.Fingerprint = ""
	}
	return keys.Strings(), nil
}

// comparePosition orders installs by log position.
func comparePosition(x, y unmogrowp.Install) int {
	return cmp.Or(cmp.Compare(x.Partition, y.Partition), cmp.Compare(x.Offset, y.Offset))
}

// decisionBefore returns the last decision of history (in log order) before the position.
func decisionBefore(history []unmogrowp.Install, partition int32, offset int64) decision {
	i, _ := slices.BinarySearchFunc(history, unmogrowp.Install{Partition: partition, Offset: offset}, comparePosition)
	if i == 0 {
		return decision{}
	}
	return decision{history[i-1], true}
}

// decisionAt returns the decision of history (in log order) at the position, if any.
func decisionAt(history []unmogrowp.Install, partition int32, offset int64) (unmogrowp.Install, bool) {
	i, found := slices.BinarySearchFunc(history, unmogrowp.Install{Partition: partition, Offset: offset}, comparePosition)
	if !found {
		return unmogrowp.Install{}, false
	}
	return history[i], true
}

// insertDecision adds in to history (in log order) and returns it.
func insertDecision(history []unmogrowp.Install, in unmogrowp.Install) []unmogrowp.Install {
	i, _ := slices.BinarySearchFunc(history, in, comparePosition)
	return slices.Insert(history, i, in)
}

// decide decides the install event e of a device whose previous decision is d.
func (a *Attributor) decide(ctx context.Context, e *unmogrowp.Event, batchTPs []unmogrowp.Touchpoint, local map[deviceKey][]int, d decision) (unmogrowp.Install, error) {
	rules, err := a.rules(ctx, e.AppID)
	if err != nil {
		return unmogrowp.Install{}, err
	}
	keys, err := a.candidateKeys(ctx, e)
	if err != nil {
		return unmogrowp.Install{}, err
	}
	candidates, fps, err := a.candidates(ctx, e, keys, batchTPs, local)
	if err != nil {
		return unmogrowp.Install{}, err
	}
	var prior *attribution.Prior
	if d.ok {
		prior = &attribution.Prior{FirstInstallTime: d.install.FirstInstallTime, Attribution: d.install.Attribution}
	}
	att := rules.DecideRefs(e, candidates, fps, prior)
	next := attribution.NextPrior(prior, att)
	if a.postbacks != nil && (att.TouchpointID != "" || len(att.Rejected) > 0) {
		if a.rejectedIDs == nil {
			a.rejectedIDs = map[string]struct{}{}
		}
		clear(a.rejectedIDs)
		for _, r := range att.Rejected {
			a.rejectedIDs[r.TouchpointID] = struct{}{}
		}
		a.seen.touch(position{e.Partition, e.Offset}, candidates, func(c *unmogrowp.Touchpoint) bool {
			_, rejected := a.rejectedIDs[c.ID]
			return rejected || c.ID == att.TouchpointID
		})
	}

	kind := att.MatchType
	switch {
	case att.IsReinstall:
		kind = "reinstall"
	case att.IsReattribution:
		kind = "reattribution:" + att.MatchType
	}
	a.installs.WithLabelValues(kind).Inc()
	for i := 0; i < len(att.Rejected); { // by runs of one reason: the counter's lookup once a run
		j := i + 1
		for j < len(att.Rejected) && att.Rejected[j].Reason == att.Rejected[i].Reason {
			j++
		}
		a.rejected.WithLabelValues(att.Rejected[i].Reason).Add(float64(j - i))
		i = j
	}
	return unmogrowp.Install{
		Partition: e.Partition, Offset: e.Offset, Attribution: att, FirstInstallTime: next.FirstInstallTime,
	}, nil
}

// candidates returns the touchpoints the hot state and the batch (as far as the walk has
// come: local) hold under the keys of e's app, by reference: the hot state's in the order
// HotState.Candidates returns them, as readSets read them when it read every one of the
// keys, else as readCandidates read them for e when it read the same keys, else read now;
// then the batch's, key by key. With them it returns their fingerprints, index for
// index, when readSets read them (nil otherwise: attribution computes them). They are
// good until the next call.
func (a *Attributor) candidates(ctx context.Context, e *unmogrowp.Event, keys []string, batchTPs []unmogrowp.Touchpoint, local map[deviceKey][]int) ([]*unmogrowp.Touchpoint, []attribution.Fingerprint, error) {
	refs, fps, ok := a.fromSets(e.AppID, keys, a.refs[:0], a.fps[:0])
	if !ok {
		fps = nil
		var hot []unmogrowp.Touchpoint
		if pre, ok := a.pre[position{e.Partition, e.Offset}]; ok && slices.Equal(pre.keys, keys) {
			hot = pre.tps
		} else {
			var err error
			if hot, err = a.hot.Candidates(ctx, e.AppID, keys); err != nil {
				return nil, nil, fmt.Errorf("read candidates of app %s: %w", e.AppID, err)
			}
		}
		for i := range hot {
			refs = append(refs, &hot[i])
		}
	}
	for _, k := range keys {
		for _, i := range local[deviceKey{e.AppID, k}] {
			refs = append(refs, &batchTPs[i])
			if fps != nil {
				fps = append(fps, a.localFPs[i])
			}
		}
	}
	clear(refs[len(refs):cap(refs)]) // the last call's, beyond this one's
	a.refs = refs
	if fps != nil {
		a.fps = fps
	}
	return refs, fps, nil
}

// fromSets appends to dst the hot state's touchpoints under keys of the app as readSets
// read them, and their fingerprints to fps: the union of the keys' sets, in ascending
// order, which is the order of HotState.Candidates. It returns false when readSets did
// not read every one of keys.
func (a *Attributor) fromSets(appID string, keys []string, dst []*unmogrowp.Touchpoint, fps []attribution.Fingerprint) ([]*unmogrowp.Touchpoint, []attribution.Fingerprint, bool) {
	c := a.sets[appID]
	if c == nil {
		return dst, fps, false
	}
	lists := a.lists[:0]
	for _, k := range keys {
		set, ok := c.byKey[k]
		if !ok {
			return dst, fps, false
		}
		if len(set) > 0 {
			lists = append(lists, set)
		}
	}
	a.lists = lists
	for { // merge the sorted sets: few keys, so a scan of their heads for the least
		least := int32(-1)
		for _, l := range lists {
			if len(l) > 0 && (least < 0 || l[0] < least) {
				least = l[0]
			}
		}
		if least < 0 {
			break
		}
		dst, fps = append(dst, &c.tps[least]), append(fps, c.fps[least])
		for i, l := range lists {
			if len(l) > 0 && l[0] == least {
				lists[i] = l[1:]
			}
		}
	}
	return dst, fps, true
}

var _ KeepingStage = (*Attributor)(nil)

// Stored hands the batch's touchpoints and decisions to the hot state, and the activity
// its events gave their devices, then raises the hot state's watermarks to the batch's
// highest offsets.
func (a *Attributor) Stored(ctx context.Context, b *unmogrowp.Batch) error {
	if len(b.Touchpoints) > 0 || len(b.Installs) > 0 {
		if err := a.hot.Apply(ctx, b.Touchpoints, b.Installs); err != nil {
			return fmt.Errorf("apply to hot state: %w", err)
		}
	}
	if len(a.active) > 0 { // after the decisions: Seen leaves out a device without one
		if err := a.hot.Seen(ctx, a.active); err != nil {
			return fmt.Errorf("raise the devices' activity in the hot state: %w", err)
		}
	}
	if err := a.hot.RaiseWatermarks(ctx, b.Watermarks(nil)); err != nil {
		return fmt.Errorf("raise the hot state's watermarks: %w", err)
	}
	return nil
}

var _ OutboxStage = (*Attributor)(nil)

// BeforeStore enqueues the postback and webhook deliveries that the batch's decisions and
// events owe (Postbacks), when the Attributor has postbacks; see OutboxStage.
func (a *Attributor) BeforeStore(ctx context.Context, b *unmogrowp.Batch) error {
	if a.postbacks == nil {
		return nil
	}
	return a.postbacks.enqueue(ctx, b, &a.seen, a.app)
}

// Watermarks returns the hot state's: how far Stored has come.
func (a *Attributor) Watermarks(ctx context.Context) (map[int32]int64, error) {
	marks, err := a.hot.Watermarks(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the hot state's watermarks: %w", err)
	}
	return marks, nil
}

// rules returns the app's prepared settings, from the cache or the metadata store. An app
// that no longer exists is decided with the default settings.
func (a *Attributor) rules(ctx context.Context, appID string) (*attribution.Rules, error) {
	c, err := a.cached(ctx, appID)
	return c.rules, err
}

// app returns the app, from the same cache as its settings; nil for an app that no longer
// exists.
func (a *Attributor) app(ctx context.Context, appID string) (*unmogrowp.App, error) {
	c, err := a.cached(ctx, appID)
	return c.app, err
}

// cached returns the app and its prepared settings, from the cache or the metadata store.
func (a *Attributor) cached(ctx context.Context, appID string) (cachedRules, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.settings[appID]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c, nil
	}
	settings := unmogrowp.DefaultAppSettings()
	var links []*unmogrowp.Link
	app, err := a.apps.App(ctx, appID)
	switch {
	case err == nil:
		settings = app.Settings
		if links, err = a.apps.Links(ctx, appID); err != nil {
			return cachedRules{}, fmt.Errorf("read links of app %s: %w", appID, err)
		}
	case unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND:
		app = nil
		a.log.Warn("deciding an install of an unknown app with default settings", "app_id", appID)
	default:
		return cachedRules{}, fmt.Errorf("read settings of app %s: %w", appID, err)
	}
	rules := attribution.NewRules(settings, links...)
	if a.datacenters != nil {
		rules = rules.WithDatacenters(a.datacenters)
	}
	c = cachedRules{app: app, rules: rules, expires: now.Add(a.ttl)}
	a.mu.Lock()
	if len(a.settings) > 100_000 {
		clear(a.settings)
	}
	a.settings[strings.Clone(appID)] = c // outlives its record
	a.mu.Unlock()
	return c, nil
}

// RestoreHotState loads the store's touchpoints touched at or after since and every
// device's latest decision into hot, in chunks, then raises hot's watermarks to the
// store's: how the in-process hot state is rebuilt on start, so that a restart changes no
// decision. It returns how many of each it loaded.
func RestoreHotState(ctx context.Context, store unmogrowp.EventStore, hot unmogrowp.HotState, since time.Time) (touchpoints, devices int, err error) {
	marks, err := store.Watermarks(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("restore: read the store's watermarks: %w", err)
	}
	touchpoints, err = inChunks(func(add func(unmogrowp.Touchpoint) error) error {
		return store.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{From: since}, func(tp *unmogrowp.Touchpoint) error { return add(*tp) })
	}, func(tps []unmogrowp.Touchpoint) error { return hot.Apply(ctx, tps, nil) })
	if err != nil {
		return touchpoints, 0, fmt.Errorf("restore touchpoints: %w", err)
	}
	devices, err = inChunks(func(add func(unmogrowp.Install) error) error {
		return store.ScanDevices(ctx, add)
	}, func(installs []unmogrowp.Install) error { return hot.Apply(ctx, nil, installs) })
	if err != nil {
		return touchpoints, devices, fmt.Errorf("restore devices: %w", err)
	}
	if err := hot.RaiseWatermarks(ctx, marks); err != nil {
		return touchpoints, devices, fmt.Errorf("restore watermarks: %w", err)
	}
	return touchpoints, devices, nil
}

// inChunks runs scan, handing what it adds to apply 10,000 at a time, and returns how
// many it applied.
func inChunks[T any](scan func(add func(T) error) error, apply func([]T) error) (int, error) {
	const chunk = 10_000
	buf := make([]T, 0, chunk)
	n := 0
	flush := func() error {
		err := apply(buf)
		n += len(buf)
		buf = buf[:0]
		return err
	}
	err := scan(func(v T) error {
		if buf = append(buf, v); len(buf) == chunk {
			return flush()
		}
		return nil
	})
	if err == nil && len(buf) > 0 {
		err = flush()
	}
	return n, err
}
