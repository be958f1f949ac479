package pipeline

import (
	"context"
	"fmt"
	"log/slog"
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
}

// Postbacks makes the deliveries that a batch's install decisions and stored events owe to
// the apps' postbacks and webhooks (package postback: ForDecision, ForEvent) and enqueues
// them in the outbox. The Attributor runs it before each store write (OutboxStage), from
// what its Prepare saw: the device's attribution at each event and the touchpoints of each
// decision. Delivery ids are functions of the log positions, so a batch decided again
// after a crash enqueues nothing twice.
//
// Consent: a decision whose install event, or an event that itself, carries
// third_party_sharing: false is sent to webhooks only. A device's earlier events do not
// count: the flag is read from the record at hand, so that a replay, whatever its batches,
// decides the same.
type Postbacks struct {
	configs  PostbackConfigs
	outbox   unmogrowp.Outbox
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
		configs: configs, outbox: outbox, ttl: opts.TTL, now: opts.Now,
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
	lookup := func(appID string) (appPostbacks, error) {
		if c, ok := apps[appID]; ok {
			return c, nil
		}
		c, err := p.forApp(ctx, appID, now, appOf)
		if err == nil {
			apps[appID] = c
		}
		return c, err
	}
	ds := p.buf[:0]
	defer func() {
		clear(ds)
		p.buf = ds[:0]
	}()
	var installEvents map[position]*unmogrowp.Event // made on first need
	for i := range b.Installs {
		in := &b.Installs[i]
		c, err := lookup(in.AppID)
		if err != nil {
			return err
		}
		if len(c.pbs) == 0 {
			continue
		}
		if installEvents == nil {
			installEvents = map[position]*unmogrowp.Event{}
			for j := range b.Events {
				if e := &b.Events[j]; e.EventType == unmogrowp.EventInstall {
					installEvents[position{e.Partition, e.Offset}] = e
				}
			}
		}
		pos := position{in.Partition, in.Offset}
		e := installEvents[pos]
		ds = append(ds, postback.ForDecision(c.pbs, postback.Decision{
			App: c.app, Install: *in, Event: e, Touchpoints: seen.touches[pos], NoSharing: noSharing(e),
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
			App: c.app, Event: e, Attribution: attr, NoSharing: noSharing(e),
		}, now)...)
	}
	if len(ds) == 0 {
		return nil
	}
	if err := p.outbox.Enqueue(ctx, ds); err != nil {
		return fmt.Errorf("enqueue %d postback deliveries: %w", len(ds), err)
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

// noSharing reports whether the event says its device must not be sent to networks.
func noSharing(e *unmogrowp.Event) bool {
	return e != nil && e.ThirdPartySharing != nil && !*e.ThirdPartySharing
}
