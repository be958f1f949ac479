// Package inmem is the in-process HotState of `unmogrowp serve`: the touchpoint index and
// the devices' latest install decisions, held compactly in the process's memory and
// rebuilt from the analytics store on start. It also holds Outbox, an in-memory
// unmogrowp.Outbox of postback deliveries (outbox.go).
//
// # Memory
//
// Nothing is kept as Go structs, which would cost some 25 string headers and as many
// pointers for the garbage collector per touchpoint. Touchpoints and installs are encoded
// into large byte chunks (arenas, which the collector never scans): hex strings and UUIDs
// (touchpoint, event and device ids) as their bytes, base64-alphabet strings (network
// click ids) at 6 bits a character, IP addresses as 4 or 16 bytes, times as varint
// deltas, absent fields as one bit, and strings that repeat (app ids, media sources,
// campaigns, user agents) as small ids in a dictionary, which a string enters the second
// time it is seen. Lookups go through open-addressing tables of 8-byte slots, a 32-bit
// tag of app and key and a record position (see table.go); each touchpoint record links to
// the previous record of each of its keys (see index.go). Tags that collide only make
// Candidates return a touchpoint too many, which Decide discards; devices are checked
// against their full ids.
//
// BenchmarkMemory measures the live heap per touchpoint and per device, applying
// touchpoints of hotstatetest.RealisticTouchpoints in touch-time order (as the log and a
// rebuild deliver them) and the decisions of hotstatetest.RealisticInstalls' devices;
// BenchmarkApply, BenchmarkCandidates and BenchmarkDevice measure the speed. Their figures,
// and where a touchpoint's bytes go, are in docs/performance-analysis.md ("inmem").
//
// # Expiry
//
// Touchpoints are kept in generations by touch time, each Retention/8 wide; a generation
// is dropped whole once its newest possible touch time is older than now - Retention, by
// Apply and by a background sweep (Options.SweepInterval). Dropping one takes the write
// lock for a moment; its memory is freed by the next garbage collection. A touchpoint is
// thus kept between Retention and Retention*9/8 after its touch time; one already past
// Retention when applied is not stored. Devices never expire.
//
// # Concurrency
//
// A State is safe for concurrent use. Apply calls are serialised (the pipeline is the only
// writer). Apply takes the index's write lock for at most 256 touchpoints at a time; it
// grows tables and creates generations beforehand, without the lock, and only swaps them
// in under it. A device's install takes its shard's lock (one of 64) for one record, or
// for a table growth or a compaction (only once as many installs replaced older ones as
// the shard holds) of that shard: work on 1/64 of the devices, never on all. So Candidates
// and Device (the /v1/attribution endpoint) never wait long.
package inmem

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

// Defaults for Options.
const (
	// DefaultRetention is the longest click lookback ATTRIBUTION.md allows (30 days), which
	// is longer than any view-through or fingerprint window.
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultSweepInterval is how often the background sweep looks for expired
	// touchpoints.
	DefaultSweepInterval = time.Minute
)

// applyGroup is how many touchpoints Apply indexes per hold of the write lock.
const applyGroup = 256

var _ unmogrowp.HotState = (*State)(nil)

// Options configure a State. Zero fields take the defaults.
type Options struct {
	// Retention is how long, counted from its touch time, a touchpoint is kept at least;
	// default DefaultRetention. It must be at least the longest lookback of every app
	// (attribution.Rules.Lookback).
	Retention time.Duration
	// SweepInterval is how often the background sweep drops expired touchpoints; default
	// DefaultSweepInterval. A negative value disables it (Apply and Expire still expire).
	SweepInterval time.Duration
	// Now returns the current time; default time.Now. Tests set a fake clock.
	Now func() time.Time
	// Logger receives the sweep's messages; nil discards them.
	Logger *slog.Logger
}

// State is the in-process HotState. Create it with New; Close stops its sweep.
type State struct {
	retention time.Duration
	now       func() time.Time
	log       *slog.Logger

	applyMu sync.Mutex   // serialises Apply and Expire's writes
	mu      sync.RWMutex // guards idx
	idx     index
	dev     devices
	closed  atomic.Bool

	probes []probe // Apply's, under applyMu

	marksMu sync.Mutex
	marks   map[int32]int64 // RaiseWatermarks'

	stop chan struct{}
	done chan struct{}
}

// Open returns New(opts) for the URL memory: (the hot state of HOTSTATE_URL when it
// is kept in this process), the same shape as the other stores' Open. Another URL is
// EINVALID. ctx is not used.
func Open(ctx context.Context, rawURL string, opts Options) (*State, error) {
	if rawURL != "memory:" && rawURL != "memory://" {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "The in-process hot state's URL is memory:, with nothing after it.")
	}
	return New(opts), nil
}

// New returns an empty State and starts its background sweep.
func New(opts Options) *State {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &State{
		retention: opts.Retention,
		now:       opts.Now,
		log:       opts.Logger.With("component", "inmem"),
		idx:       index{width: max(int64(opts.Retention/8/time.Second), 1)},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go s.sweepLoop(opts.SweepInterval)
	return s
}

func errClosed() error {
	return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The hot state is closed.")
}

// Candidates implements unmogrowp.HotState. It returns each touchpoint once, oldest
// generation first and in the order they were applied within one. Returns ctx.Err() when
// ctx is done, EUNAVAILABLE after Close.
func (s *State) Candidates(ctx context.Context, appID string, keys []string) ([]unmogrowp.Touchpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, errClosed()
	}
	if len(keys) == 0 {
		return nil, nil
	}
	probes := lookupProbes(appID, keys)
	s.mu.RLock()
	defer s.mu.RUnlock()
	refs := s.idx.lookup(nil, probes)
	if len(refs) == 0 {
		return nil, nil
	}
	slices.Sort(refs)
	refs = slices.Compact(refs)
	out := make([]unmogrowp.Touchpoint, 0, len(refs))
	for _, rf := range refs {
		var err error
		if out, _, err = s.decodeRef(out, rf, appID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeRef appends the touchpoint at rf to tps if it is appID's (else rf came from a hash
// collision with another app's key) and reports whether it did. Callers hold mu.
func (s *State) decodeRef(tps []unmogrowp.Touchpoint, rf ref, appID string) ([]unmogrowp.Touchpoint, bool, error) {
	g := s.idx.gens[rf>>32]
	r := reader{b: g.body(uint32(rf)), dict: &g.dict}
	tps = append(tps, unmogrowp.Touchpoint{})
	decodeTouchpoint(&r, &tps[len(tps)-1], g.start)
	if r.err != nil {
		return tps[:len(tps)-1], false, unmogrowp.Errorf(unmogrowp.EINTERNAL, "inmem: a touchpoint record does not decode")
	}
	if tps[len(tps)-1].AppID != appID {
		return tps[:len(tps)-1], false, nil
	}
	return tps, true, nil
}

// CandidateSets answers Candidates for each of keys alone, at once: tps holds each
// touchpoint stored under any of them once (appended to dst[:0]), in the order Candidates
// returns them, and sets[i] the indices in tps of those Candidates(ctx, appID,
// keys[i:i+1]) returns, ascending. So for any subset of keys, the touchpoints at the union
// of their sets, in ascending order, are those Candidates returns for that subset, in its
// order: a batch whose installs share keys (a fingerprint, a device's ids) reads and
// decodes each key's touchpoints once, rather than once per install. Errors as for
// Candidates.
func (s *State) CandidateSets(ctx context.Context, appID string, keys []string, dst []unmogrowp.Touchpoint) (tps []unmogrowp.Touchpoint, sets [][]int32, err error) {
	if err := ctx.Err(); err != nil {
		return dst[:0], nil, err
	}
	if s.closed.Load() {
		return dst[:0], nil, errClosed()
	}
	sets = make([][]int32, len(keys))
	tps = dst[:0]
	if len(keys) == 0 {
		return tps, sets, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	perKey := make([][]ref, len(keys))
	var all []ref
	for i, key := range keys {
		refs := s.idx.lookup(nil, lookupProbes(appID, []string{key}))
		slices.Sort(refs)
		perKey[i] = slices.Compact(refs)
		all = append(all, perKey[i]...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	at := make([]int32, len(all)) // by position in all: the index in tps, or -1 (another app's)
	for i, rf := range all {
		var ok bool
		if tps, ok, err = s.decodeRef(tps, rf, appID); err != nil {
			return tps[:0], nil, err
		}
		at[i] = -1
		if ok {
			at[i] = int32(len(tps) - 1)
		}
	}
	for i, refs := range perKey {
		set := make([]int32, 0, len(refs))
		for _, rf := range refs {
			j, _ := slices.BinarySearch(all, rf)
			if at[j] >= 0 {
				set = append(set, at[j])
			}
		}
		sets[i] = set
	}
	return tps, sets, nil
}

// Device implements unmogrowp.HotState. Returns ctx.Err() when ctx is done, EUNAVAILABLE
// after Close.
func (s *State) Device(ctx context.Context, appID, deviceID string) (unmogrowp.Install, bool, error) {
	return s.device(ctx, appID, deviceID, true)
}

// Decision is Device without the decision's rejected touchpoints (Rejected is nil), for
// a reader that never looks at them, as deciding the device's later events does
// (pipeline.DecisionReader): a decision that click spam reached lists up to hundreds, and
// Device decodes each into new strings.
func (s *State) Decision(ctx context.Context, appID, deviceID string) (unmogrowp.Install, bool, error) {
	return s.device(ctx, appID, deviceID, false)
}

// device is Device, with the decision's rejected touchpoints if rejected.
func (s *State) device(ctx context.Context, appID, deviceID string, rejected bool) (unmogrowp.Install, bool, error) {
	if err := ctx.Err(); err != nil {
		return unmogrowp.Install{}, false, err
	}
	if s.closed.Load() {
		return unmogrowp.Install{}, false, errClosed()
	}
	in, ok, err := s.dev.get(appID, deviceID, rejected)
	if err != nil {
		return unmogrowp.Install{}, false, unmogrowp.Errorf(unmogrowp.EINTERNAL, "inmem: a device record does not decode")
	}
	return in, ok, nil
}

// Apply implements unmogrowp.HotState. It indexes each touchpoint under
// attribution.TouchpointKeys(tp).Strings(), scoped by its app, unless one with the same
// app and ID is stored already (a touchpoint without ID is always stored) or its touch
// time is past retention (a zero time included). Installs are applied in order; an
// install is ignored when its device's current decision has a higher offset in the same
// partition (a replay of an older batch); the device's activity is kept, raised by the
// install's. Returns ctx.Err() when ctx is done before
// anything was applied, EUNAVAILABLE after Close, EINTERNAL if a device shard outgrows
// 4 GiB.
func (s *State) Apply(ctx context.Context, touchpoints []unmogrowp.Touchpoint, installs []unmogrowp.Install) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.closed.Load() {
		return errClosed()
	}
	now := s.now()
	s.expire(now)
	cutoff := now.Add(-s.retention)
	s.idx.current = s.idx.bucket(now)

	// Keys first, without the lock: parsing user agents is the costly part.
	type item struct {
		tp   *unmogrowp.Touchpoint
		from int // its probes in s.probes[from:to]
		to   int
	}
	items := make([]item, 0, len(touchpoints))
	s.probes = s.probes[:0]
	lost := 0
	for i := range touchpoints {
		tp := &touchpoints[i]
		if tp.Time.IsZero() || !s.idx.end(s.idx.bucket(tp.Time)).After(cutoff) {
			continue // past retention: it would be dropped right away
		}
		from := len(s.probes)
		var n int
		s.probes, n = storeProbes(s.probes, tp.AppID, attribution.TouchpointKeys(tp).Strings())
		lost += n
		items = append(items, item{tp, from, len(s.probes)})
	}
	if lost > 0 {
		s.log.Error("touchpoint keys of an unknown kind were not indexed", "keys", lost)
	}
	need := make(map[int64]int) // keys per bucket in a group
	for len(items) > 0 {
		group := items[:min(len(items), applyGroup)]
		items = items[len(group):]
		clear(need)
		for _, it := range group {
			need[s.idx.bucket(it.tp.Time)] += it.to - it.from
		}
		for b, k := range need {
			s.idx.reserve(b, k, &s.mu)
		}
		s.mu.Lock()
		for _, it := range group {
			s.idx.insert(it.tp, s.probes[it.from:it.to])
		}
		s.mu.Unlock()
	}

	for i := range installs {
		if !s.dev.put(&installs[i]) {
			return unmogrowp.Errorf(unmogrowp.EINTERNAL, "inmem: a device shard is full (4 GiB)")
		}
	}
	return nil
}

// Seen implements unmogrowp.HotState: each device's record is written again with its
// raised activity (one record per device that changed; the old one becomes garbage that
// the shard compacts). Returns ctx.Err() when ctx is done before anything was applied,
// EUNAVAILABLE after Close, EINTERNAL if a device shard outgrows 4 GiB.
func (s *State) Seen(ctx context.Context, devices []unmogrowp.DeviceActivity) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.closed.Load() {
		return errClosed()
	}
	for i := range devices {
		if !s.dev.raise(&devices[i]) {
			return unmogrowp.Errorf(unmogrowp.EINTERNAL, "inmem: a device shard is full (4 GiB)")
		}
	}
	return nil
}

// RaiseWatermarks implements unmogrowp.HotState. Returns ctx.Err() when ctx is done,
// EUNAVAILABLE after Close.
func (s *State) RaiseWatermarks(ctx context.Context, marks map[int32]int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed()
	}
	s.marksMu.Lock()
	defer s.marksMu.Unlock()
	if s.marks == nil {
		s.marks = map[int32]int64{}
	}
	for p, o := range marks {
		if w, ok := s.marks[p]; !ok || o > w {
			s.marks[p] = o
		}
	}
	return nil
}

// Watermarks implements unmogrowp.HotState. Returns ctx.Err() when ctx is done,
// EUNAVAILABLE after Close.
func (s *State) Watermarks(ctx context.Context) (map[int32]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, errClosed()
	}
	s.marksMu.Lock()
	defer s.marksMu.Unlock()
	out := make(map[int32]int64, len(s.marks))
	maps.Copy(out, s.marks)
	return out, nil
}

// Expire drops the touchpoints whose touch time is past retention, as far as whole
// generations allow, and returns how many it dropped. The background sweep and Apply call
// it; tests call it after moving their clock.
func (s *State) Expire() int {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.closed.Load() {
		return 0
	}
	return s.expire(s.now())
}

// expire is Expire with applyMu held.
func (s *State) expire(now time.Time) int {
	cutoff := now.Add(-s.retention)
	// The writer may read idx without the lock: only it changes idx.
	if len(s.idx.gens) == 0 || s.idx.end(s.idx.gens[0].bucket).After(cutoff) {
		return 0
	}
	s.mu.Lock()
	n := s.idx.expire(cutoff)
	s.mu.Unlock()
	if n > 0 {
		s.log.Info("expired touchpoints", "touchpoints", n, "touched_before", cutoff)
	}
	return n
}

// Stats describe what a State holds.
type Stats struct {
	Touchpoints     int   // stored, including expired ones not yet dropped
	Generations     int   // touchpoint generations (see the package comment)
	TouchpointBytes int64 // bytes of the touchpoints' arenas
	Devices         int   // devices with an install decision
	DeviceBytes     int64 // bytes of the devices' arenas
}

// Stats returns what s holds. Arenas are only part of the memory: the tables and
// dictionaries take the rest (see the package comment for totals).
func (s *State) Stats() Stats {
	s.mu.RLock()
	st := Stats{Touchpoints: s.idx.count, Generations: len(s.idx.gens)}
	for _, g := range s.idx.gens {
		st.TouchpointBytes += g.arena.reserved
	}
	s.mu.RUnlock()
	st.Devices, st.DeviceBytes = s.dev.stats()
	return st
}

// Close stops the background sweep and releases the memory. Calls after Close fail with
// EUNAVAILABLE. Close is idempotent.
func (s *State) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.stop)
	<-s.done
	s.applyMu.Lock() // wait for an Apply in progress
	defer s.applyMu.Unlock()
	s.mu.Lock()
	s.idx.gens, s.idx.count = nil, 0
	s.mu.Unlock()
	s.dev.reset()
	return nil
}

// sweepLoop calls Expire every interval until Close.
func (s *State) sweepLoop(interval time.Duration) {
	defer close(s.done)
	if interval < 0 {
		<-s.stop
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Expire()
		}
	}
}
