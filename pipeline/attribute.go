package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

// AppSettings is what the Attributor needs of the metadata store: an app's settings.
type AppSettings interface {
	// App returns the app with the id. Returns ENOTFOUND if there is none.
	App(ctx context.Context, id string) (*unmogrowp.App, error)
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
type Attributor struct {
	apps AppSettings
	hot  unmogrowp.HotState
	ttl  time.Duration
	now  func() time.Time
	log  *slog.Logger

	mu       sync.Mutex
	settings map[string]cachedRules

	installs *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

type cachedRules struct {
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
}

// NewAttributor returns the Stage that attributes with apps' settings and the hot state.
func NewAttributor(apps AppSettings, hot unmogrowp.HotState, opts AttributorOptions) *Attributor {
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
		apps: apps, hot: hot, ttl: opts.SettingsTTL, now: opts.Now,
		log:      opts.Logger.With("component", "attribution"),
		settings: map[string]cachedRules{},
		installs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unmogrowp_install_decisions_total",
			Help: "Install decisions by match type; reinstalls and re-attributions by kind.",
		}, []string{"match_type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unmogrowp_rejected_touchpoints_total",
			Help: "Touchpoints that matched an install but were rejected, by reason.",
		}, []string{"reason"}),
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

// Prepare decides the batch's installs and enriches its events; see Attributor.
func (a *Attributor) Prepare(ctx context.Context, b *unmogrowp.Batch) error {
	rows := make([]row, 0, len(b.Events)+len(b.Touchpoints))
	for i := range b.Events {
		rows = append(rows, row{b.Events[i].Partition, b.Events[i].Offset, i, -1})
	}
	for i := range b.Touchpoints {
		rows = append(rows, row{b.Touchpoints[i].Partition, b.Touchpoints[i].Offset, -1, i})
	}
	slices.SortFunc(rows, func(x, y row) int {
		return cmp.Or(cmp.Compare(x.partition, y.partition), cmp.Compare(x.offset, y.offset))
	})

	// The batch's own touchpoints, by app and key, as far as the walk has come; and what
	// the walk knows of devices (decided in this batch, or read from the hot state).
	local := map[deviceKey][]int{}
	devices := map[deviceKey]decision{}
	for _, r := range rows {
		if r.touch >= 0 {
			tp := &b.Touchpoints[r.touch]
			for _, k := range attribution.TouchpointKeys(tp).Strings() {
				lk := deviceKey{tp.AppID, k}
				local[lk] = append(local[lk], r.touch)
			}
			continue
		}
		e := &b.Events[r.event]
		dk := deviceKey{e.AppID, e.DeviceID}
		d, known := devices[dk]
		if !known {
			inst, ok, err := a.hot.Device(ctx, e.AppID, e.DeviceID)
			if err != nil {
				return fmt.Errorf("read device %s of app %s: %w", e.DeviceID, e.AppID, err)
			}
			d = decision{inst, ok}
		}
		if e.EventType == unmogrowp.EventInstall {
			inst, err := a.decide(ctx, e, b.Touchpoints, local, d)
			if err != nil {
				return err
			}
			b.Installs = append(b.Installs, inst)
			d = decision{inst, true}
		}
		devices[dk] = d
		e.MediaSource, e.Campaign = unmogrowp.MediaSourceOrganic, ""
		if d.ok {
			e.MediaSource, e.Campaign = d.install.MediaSource, d.install.Campaign
		}
	}
	return nil
}

// decide decides the install event e of a device whose previous decision is d.
func (a *Attributor) decide(ctx context.Context, e *unmogrowp.Event, batchTPs []unmogrowp.Touchpoint, local map[deviceKey][]int, d decision) (unmogrowp.Install, error) {
	rules, err := a.rules(ctx, e.AppID)
	if err != nil {
		return unmogrowp.Install{}, err
	}
	keys := attribution.CandidateKeys(e)
	if !rules.FingerprintEnabled() {
		keys.Fingerprint = ""
	}
	ks := keys.Strings()
	candidates, err := a.hot.Candidates(ctx, e.AppID, ks)
	if err != nil {
		return unmogrowp.Install{}, fmt.Errorf("read candidates of app %s: %w", e.AppID, err)
	}
	for _, k := range ks {
		for _, i := range local[deviceKey{e.AppID, k}] {
			candidates = append(candidates, batchTPs[i])
		}
	}
	var prior *attribution.Prior
	if d.ok {
		prior = &attribution.Prior{FirstInstallTime: d.install.FirstInstallTime, Attribution: d.install.Attribution}
	}
	att := rules.Decide(e, candidates, prior)
	next := attribution.NextPrior(prior, att)

	kind := att.MatchType
	switch {
	case att.IsReinstall:
		kind = "reinstall"
	case att.IsReattribution:
		kind = "reattribution:" + att.MatchType
	}
	a.installs.WithLabelValues(kind).Inc()
	for _, r := range att.Rejected {
		a.rejected.WithLabelValues(r.Reason).Inc()
	}
	return unmogrowp.Install{
		Partition: e.Partition, Offset: e.Offset, Attribution: att, FirstInstallTime: next.FirstInstallTime,
	}, nil
}

// Stored hands the batch's touchpoints and decisions to the hot state.
func (a *Attributor) Stored(ctx context.Context, b *unmogrowp.Batch) error {
	if len(b.Touchpoints) == 0 && len(b.Installs) == 0 {
		return nil
	}
	if err := a.hot.Apply(ctx, b.Touchpoints, b.Installs); err != nil {
		return fmt.Errorf("apply to hot state: %w", err)
	}
	return nil
}

// rules returns the app's prepared settings, from the cache or the metadata store. An app
// that no longer exists is decided with the default settings.
func (a *Attributor) rules(ctx context.Context, appID string) (*attribution.Rules, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.settings[appID]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.rules, nil
	}
	settings := unmogrowp.DefaultAppSettings()
	app, err := a.apps.App(ctx, appID)
	switch {
	case err == nil:
		settings = app.Settings
	case unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND:
		a.log.Warn("deciding an install of an unknown app with default settings", "app_id", appID)
	default:
		return nil, fmt.Errorf("read settings of app %s: %w", appID, err)
	}
	r := attribution.NewRules(settings)
	a.mu.Lock()
	if len(a.settings) > 100_000 {
		clear(a.settings)
	}
	a.settings[appID] = cachedRules{rules: r, expires: now.Add(a.ttl)}
	a.mu.Unlock()
	return r, nil
}

// RestoreHotState loads the store's touchpoints touched at or after since and every
// device's latest decision into hot, in chunks: how the in-process hot state is rebuilt on
// start, so that a restart changes no decision. It returns how many of each it loaded.
func RestoreHotState(ctx context.Context, store unmogrowp.EventStore, hot unmogrowp.HotState, since time.Time) (touchpoints, devices int, err error) {
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
