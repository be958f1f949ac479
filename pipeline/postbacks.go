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
	"github.com/unmogrowp/unmogrowp/postback"
)

// PostbackConfigs is what Postbacks needs of the metadata store: an app's postbacks.
type PostbackConfigs interface {
	// Postbacks is unmogrowp.PostbackStore's: the app's postbacks, secrets included.
	Postbacks(ctx context.Context, appID string) ([]*unmogrowp.Postback, error)
}

// PostbacksOptions configure Postbacks. Zero fields take the defaults.
type PostbacksOptions struct {
	// TTL is how long an app's postbacks are kept before they are read again: a new or changed postback applies to the decisions made within it. Default
	// DefaultSettingsTTL.
	TTL    time.Duration
	Now    func() time.Time // when deliveries are made (their CreatedAt); default time.Now
	Logger *slog.Logger
	// Enqueued, when not nil, is called after deliveries were enqueued: the delivery
	// worker's Wake, so that they are attempted at once rather than at its next poll.
	Enqueued func()
	// Registerer, when not nil, gets the counter of enqueued deliveries by activity kind.
	Registerer prometheus.Registerer
	// Consents, when not nil, keeps each device's latest third_party_sharing statement
	// across batches: the statements of each batch are recorded in it (after its
	// deliveries are enqueued), and a device's earlier false withholds its later
	// activity from networks. When nil, only the record at hand counts.
	Consents unmogrowp.ConsentStore
}

// Postbacks makes the deliveries that a batch's install decisions and stored events owe to
// the apps' postbacks and webhooks (package postback: ForDecision, ForEvent) and enqueues
// them in the outbox. The Attributor runs it before each store write (OutboxStage), from
// what its Prepare saw: the device's attribution at each event and the touchpoints of each
// decision. Delivery ids are functions of the log positions, so a batch decided again
// after a crash enqueues nothing twice.
//
// Consent (DATA.md): an event or a touchpoint that carries third_party_sharing states the
// consent of its device (DeviceID); the device's latest statement in the log at a decision
// or an event is what counts there, so a false withholds the device's later activity from
// networks (webhooks still get it) until a true lifts it. Statements are walked in log
// order within the batch and read from Consents for what came before it; Consents learns
// a batch's statements only after the batch's deliveries are in the outbox. A batch read
// again after that (a rebalance) meets statements later than its own records: it then
// takes the device as not sharing, which can only leave out deliveries that the first
// pass, which knew better, already enqueued.
type Postbacks struct {
	configs  PostbackConfigs
	outbox   unmogrowp.Outbox
	consents unmogrowp.ConsentStore
	ttl      time.Duration
	now      func() time.Time
	log      *slog.Logger
	enqueued func()
	total    *prometheus.CounterVec

	mu    sync.Mutex
	cache map[string]appPostbacks
	buf   []unmogrowp.Delivery // used by enqueue, on the pipeline's goroutine only
}

// appPostbacks is an app and its postbacks, compiled, as cached.
type appPostbacks struct {
	app     *unmogrowp.App // nil when the app has no postbacks
	pbs     []*postback.Postback
	expires time.Time
}

// NewPostbacks returns the postbacks step, reading postbacks from configs and enqueueing
// into outbox. The apps come from the Attributor that runs it, which caches them with
// their settings.
func NewPostbacks(configs PostbackConfigs, outbox unmogrowp.Outbox, opts PostbacksOptions) *Postbacks {
	if opts.TTL <= 0 {
		opts.TTL = DefaultSettingsTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Postbacks{
		configs: configs, outbox: outbox, consents: opts.Consents, ttl: opts.TTL, now: opts.Now,
		log: opts.Logger.With("component", "postbacks"), enqueued: opts.Enqueued,
		cache: map[string]appPostbacks{},
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unmogrowp_postback_deliveries_enqueued_total",
			Help: "Postback and webhook deliveries the pipeline put in the outbox, by activity kind (a replay's again are counted again).",
		}, []string{"activity_kind"}),
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(p.total); err != nil {
			p.log.Warn("postback metrics not registered", "err", err)
		}
	}
	return p
}

// forApp returns the app (from appOf) and its enabled postbacks, from the cache or the
// store; none for an app without postbacks or that no longer exists (appOf's nil).
func (p *Postbacks) forApp(ctx context.Context, appID string, now time.Time, appOf func(context.Context, string) (*unmogrowp.App, error)) (appPostbacks, error) {
	p.mu.Lock()
	c, ok := p.cache[appID]
	p.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c, nil
	}
	c = appPostbacks{expires: now.Add(p.ttl)}
	configs, err := p.configs.Postbacks(ctx, appID)
	if err != nil {
		return c, fmt.Errorf("read postbacks of app %s: %w", appID, err)
	}
	for _, cfg := range configs {
		if !cfg.Enabled {
			continue
		}
		compiled, err := postback.Compile(*cfg)
		if err != nil { // stored valid: only a template rule added since
			p.log.Warn("skipping a postback that no longer compiles", "app_id", appID, "postback_id", cfg.ID, "err", err)
			continue
		}
		c.pbs = append(c.pbs, compiled)
	}
	if len(c.pbs) > 0 {
		if c.app, err = appOf(ctx, appID); err != nil {
			return c, fmt.Errorf("read app %s for its postbacks: %w", appID, err)
		}
		if c.app == nil {
			c.pbs = nil
		}
	}
	p.mu.Lock()
	if len(p.cache) > 100_000 {
		clear(p.cache)
	}
	p.cache[strings.Clone(appID)] = c // outlives its record
	p.mu.Unlock()
	return c, nil
}

// enqueue makes the deliveries of b's decisions and events, which the Prepare that filled
// seen decided, and enqueues them in one call. appOf gives an app (nil: no such app).
func (p *Postbacks) enqueue(ctx context.Context, b *unmogrowp.Batch, seen *seen, appOf func(context.Context, string) (*unmogrowp.App, error)) error {
	now := p.now()
	apps := map[string]appPostbacks{} // this batch's: one cache lookup per app
	var last struct {                 // the last app looked up: events come in runs of one app
		id string
		c  appPostbacks
		ok bool
	}
	lookup := func(appID string) (appPostbacks, error) {
		if last.ok && last.id == appID {
			return last.c, nil
		}
		c, ok := apps[appID]
		if !ok {
			var err error
			if c, err = p.forApp(ctx, appID, now, appOf); err != nil {
				return c, err
			}
			apps[appID] = c
		}
		last.id, last.c, last.ok = appID, c, true
		return c, nil
	}
	noShare, statements, err := p.consent(ctx, b, lookup)
	if err != nil {
		return err
	}
	ds := p.buf[:0]
	defer func() {
		clear(ds)
		p.buf = ds[:0]
	}()
	var installEvents map[unmogrowp.Position]*unmogrowp.Event // made on first need
	for i := range b.Installs {
		in := &b.Installs[i]
		c, err := lookup(in.AppID)
		if err != nil {
			return err
		}
		if len(c.pbs) == 0 {
			continue
		}
		if installEvents == nil { // the events that made decisions: installs, returning devices' events
			installEvents = make(map[unmogrowp.Position]*unmogrowp.Event, len(b.Installs))
			b.DecisionEvents(installEvents)
		}
		pos := position{in.Partition, in.Offset}
		e := installEvents[unmogrowp.Position{Partition: in.Partition, Offset: in.Offset}]
		inst := *in
		inst.NoSharing = noSharing(e) || noShare[pos]
		ds = append(ds, postback.ForDecision(c.pbs, postback.Decision{
			App: c.app, Install: inst, Event: e, Touchpoints: seen.touchesAt(pos), NoSharing: inst.NoSharing,
		}, now)...)
	}
	for i := range b.Events {
		e := &b.Events[i]
		if e.EventType == unmogrowp.EventInstall {
			continue // its decision's own deliveries are made above
		}
		c, err := lookup(e.AppID)
		if err != nil {
			return err
		}
		if len(c.pbs) == 0 {
			continue
		}
		var attr *unmogrowp.Attribution
		if i < len(seen.byEvent) && seen.byEvent[i] >= 0 {
			attr = &seen.decisions[seen.byEvent[i]].Attribution
		}
		ds = append(ds, postback.ForEvent(c.pbs, postback.EventActivity{
			App: c.app, Event: e, Attribution: attr, NoSharing: noSharing(e) || noShare[position{e.Partition, e.Offset}],
		}, now)...)
	}
	if len(ds) == 0 {
		return p.record(ctx, statements)
	}
	if err := p.outbox.Enqueue(ctx, ds); err != nil {
		return fmt.Errorf("enqueue %d postback deliveries: %w", len(ds), err)
	}
	if err := p.record(ctx, statements); err != nil {
		return err
	}
	for i := 0; i < len(ds); { // one counter lookup per run of a kind
		j := i + 1
		for j < len(ds) && ds[j].ActivityKind == ds[i].ActivityKind {
			j++
		}
		p.total.WithLabelValues(ds[i].ActivityKind).Add(float64(j - i))
		i = j
	}
	if p.enqueued != nil {
		p.enqueued()
	}
	return nil
}

// record hands the batch's consent statements to the consent store, after the batch's
// deliveries are enqueued: a replay that finds them recorded has enqueued already.
func (p *Postbacks) record(ctx context.Context, statements []unmogrowp.Consent) error {
	if len(statements) == 0 || p.consents == nil {
		return nil
	}
	if err := p.consents.SetConsents(ctx, statements); err != nil {
		return fmt.Errorf("record %d consent statements: %w", len(statements), err)
	}
	return nil
}

// consent walks the batch's events and touchpoints in log order and returns, by the
// position of each event whose device must not be sent to networks there, true; and the
// batch's statements, to record. A device's state before the batch is read from the
// consent store, once per app, only for the devices of events that a network postback of
// their app could be sent for.
func (p *Postbacks) consent(ctx context.Context, b *unmogrowp.Batch, lookup func(string) (appPostbacks, error)) (map[position]bool, []unmogrowp.Consent, error) {
	if p.consents == nil {
		return nil, nil, nil
	}
	type rec struct {
		pos     position
		app     string
		device  string
		sharing *bool
		event   bool
	}
	var recs []rec
	need := map[string][]string{} // by app: devices whose state before the batch counts
	sorted := true
	for i := range b.Events {
		e := &b.Events[i]
		c, err := lookup(e.AppID)
		if err != nil {
			return nil, nil, err
		}
		networks := c.network(e)
		if e.ThirdPartySharing == nil && !networks {
			continue
		}
		if networks {
			need[e.AppID] = append(need[e.AppID], e.DeviceID)
		}
		recs = append(recs, rec{position{e.Partition, e.Offset}, e.AppID, e.DeviceID, e.ThirdPartySharing, true})
	}
	for i := range b.Touchpoints {
		tp := &b.Touchpoints[i]
		if tp.ThirdPartySharing != nil && tp.DeviceID != "" {
			recs = append(recs, rec{position{tp.Partition, tp.Offset}, tp.AppID, tp.DeviceID, tp.ThirdPartySharing, false})
			sorted = false
		}
	}
	if len(recs) == 0 {
		return nil, nil, nil
	}
	if !sorted {
		slices.SortFunc(recs, func(x, y rec) int {
			return cmp.Or(cmp.Compare(x.pos.partition, y.pos.partition), cmp.Compare(x.pos.offset, y.pos.offset))
		})
	}
	type key struct{ app, device string }
	before := map[key]unmogrowp.Consent{}
	for app, devices := range need {
		slices.Sort(devices)
		cs, err := p.consents.Consents(ctx, app, slices.Compact(devices))
		if err != nil {
			return nil, nil, fmt.Errorf("read consents of app %s: %w", app, err)
		}
		for d, c := range cs {
			before[key{app, d}] = c
		}
	}
	noShare := map[position]bool{}
	latest := map[key]int{} // the batch's latest statement of each device, in statements
	var statements []unmogrowp.Consent
	for _, r := range recs {
		k := key{r.app, r.device}
		if r.sharing != nil {
			c := unmogrowp.Consent{AppID: r.app, DeviceID: r.device, Partition: r.pos.partition, Offset: r.pos.offset, Sharing: *r.sharing}
			if i, ok := latest[k]; ok {
				statements[i] = c
			} else {
				latest[k] = len(statements)
				statements = append(statements, c)
			}
		}
		if !r.event {
			continue
		}
		if i, ok := latest[k]; ok {
			noShare[r.pos] = !statements[i].Sharing
		} else if c, ok := before[k]; ok {
			// A statement after this record: the batch is read again; see Postbacks.
			noShare[r.pos] = !c.Sharing || (c.Partition == r.pos.partition && c.Offset > r.pos.offset)
		}
	}
	return noShare, statements, nil
}

// network reports whether a network postback (kind postback) of the app could be sent for
// the event: one with a trigger of an install for an install event, with the event
// trigger and the event's type for another.
func (c appPostbacks) network(e *unmogrowp.Event) bool {
	for _, pb := range c.pbs {
		if pb.Kind != unmogrowp.KindPostback {
			continue
		}
		if e.EventType == unmogrowp.EventInstall {
			if slices.ContainsFunc(pb.Triggers, func(t string) bool { return t != unmogrowp.TriggerEvent }) {
				return true
			}
		} else if slices.Contains(pb.Triggers, unmogrowp.TriggerEvent) &&
			(len(pb.EventTypes) == 0 || slices.Contains(pb.EventTypes, e.EventType)) {
			return true
		}
	}
	return false
}

// noSharing reports whether the event says its device must not be sent to networks.
func noSharing(e *unmogrowp.Event) bool {
	return e != nil && e.ThirdPartySharing != nil && !*e.ThirdPartySharing
}
