package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/skan"
)

// batch is one read of the log on its way through the stages.
type batch struct {
	buf  *buffer
	recs []unmogrowp.Record
	// events are the decoded event records that the deduplicator let through, in log
	// order; touchpoints the decoded touchpoint records (ingestion gives each a new id, so
	// they need no dedup: a replay is caught by the watermarks).
	events        []unmogrowp.Event
	touchpoints   []unmogrowp.Touchpoint
	skan          []unmogrowp.SKANPostback // every copy: the store deduplicates them (SKANStore)
	duplicates    int
	corrupt       int
	alreadyStored int
	read          time.Time
	// erasedBy is the tombstone set the first stage dropped erased rows by: the second
	// stage drops again only when the set has changed since (dropErased).
	erasedBy *unmogrowp.TombstoneSet
}

// buffer holds the slices one batch needs; Run keeps one for each stage, so that the
// first stage fills one while the others decide and store theirs.
type buffer struct {
	events      []unmogrowp.Event
	touchpoints []unmogrowp.Touchpoint
	skan        []unmogrowp.SKANPostback
	installs    []unmogrowp.Install
	claims      []unmogrowp.Claim
	claimIdx    []int
	keep        []bool
}

// Run processes the log until ctx is done, then returns nil. It never skips data: a failing
// read, claim, Stage step, store write or commit is logged and retried with back-off
// until it succeeds or ctx is done. A batch interrupted by ctx is abandoned uncommitted and
// processed again, exactly once, by the next Run on the same log, deduplicator and store.
// Run returns ErrRunning if another Run of the same pipeline has not returned.
//
// Two stages overlap: one goroutine reads, decodes and claims the next batch while Run's
// goroutine decides, stores and commits the current one. Batches reach the store and the
// log in read order.
func (p *Pipeline) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer p.running.Store(false)

	marks, ok := retryValue(ctx, p, "watermarks", func() (map[int32]int64, error) {
		return p.s.Watermarks(ctx)
	})
	if !ok {
		return nil
	}
	p.log.Info("pipeline started", "watermarks", marks)
	// What the stage has learned: what the store holds, unless it keeps state of its own.
	learned := cloneMarks(marks)
	if ks, ok := p.opts.Stage.(KeepingStage); ok {
		if learned, ok = retryValue(ctx, p, "stage watermarks", func() (map[int32]int64, error) {
			return ks.Watermarks(ctx)
		}); !ok {
			return nil
		}
		learned = cloneMarks(learned)
		for part, w := range marks {
			if l, ok := learned[part]; !ok || l < w {
				p.log.Warn("the stage lacks stored records (a crash between a store write and the hot state's); handing them to it again",
					"store_watermarks", marks, "stage_watermarks", learned)
				break
			}
		}
	}
	// Records at or below both were stored and learned before this run: skipped undecoded.
	seen := map[int32]int64{}
	for part, w := range marks {
		if l, ok := learned[part]; ok {
			seen[part] = min(w, l)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		p.log.Info("pipeline stopped", "records", p.stats.records.Load())
	}()
	hs, holding := p.s.(HoldingStore)
	holding = holding && p.opts.HoldRows > 0
	// A buffer for each stage: holding, the store is a stage of its own.
	stages := 2
	if holding {
		stages = 3
	}
	free := make(chan *buffer, stages)
	for range stages {
		free <- &buffer{}
	}
	ready := make(chan *batch)
	wg.Go(func() { p.prepareLoop(ctx, seen, free, ready) })

	live := cloneMarks(marks) // raised as batches are decided; used by the second stage only
	if holding {
		return p.runHolding(ctx, ready, free, live, learned, &held{store: hs})
	}
	for {
		var b *batch
		select {
		case <-ctx.Done():
			return nil
		case b = <-ready:
		}
		if !p.finish(ctx, b, live, learned) {
			return nil
		}
		free <- b.buf
	}
}

// errStop ends Run without an error: ctx is done.
var errStop = errors.New("stop")

// stopHeld commits what a stopping pipeline holds, within stopGrace. It returns nil, or
// an error wrapping ErrHeldLost when the commit failed.
func (p *Pipeline) stopHeld(ctx context.Context, h *held) error {
	if !h.open() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
	defer cancel()
	if err := p.release(ctx, h); err != nil && !errors.Is(err, errStop) {
		return err
	}
	return nil
}

// held is what the third stage holds in the store's open transaction (Options.HoldRows)
// and stage (StagingStore): its batches' tallies, to count and commit on the log once the
// store commits them.
type held struct {
	store       HoldingStore
	since       time.Time       // when the first batch was stored
	events      int             // events held or staged
	marks       map[int32]int64 // the watermarks the rows raise the store's to
	batches     []tally
	records     int       // the batches' records
	direct      int       // batches held in the transaction (not staged): not visible yet
	staged      int       // records of the batches written to the stage (Pipeline.staged)
	directSince time.Time // when the first of them was stored
	lastFull    bool      // whether the last batch stored was full
}

// take returns what h holds and empties h: the commit's share, handed to the committer.
func (h *held) take() *held {
	job := *h
	h.marks, h.batches, h.events, h.records, h.direct, h.staged = map[int32]int64{}, nil, 0, 0, 0, 0
	return &job
}

func (h *held) open() bool { return len(h.batches) > 0 }

// tally is what a stored batch leaves to do once committed: commit its records on the
// log (the highest of each partition stand for all) and count it.
type tally struct {
	last                                               []unmogrowp.Record
	records, stored, tps, dups, corrupt, alreadyStored int
	read                                               time.Time
}

// newTally returns b's tally with events and touchpoints stored.
func newTally(b *batch, events, tps int) tally {
	t := tally{records: len(b.recs), stored: events, tps: tps, dups: b.duplicates, corrupt: b.corrupt,
		alreadyStored: b.alreadyStored, read: b.read}
	for _, r := range b.recs {
		i := slices.IndexFunc(t.last, func(l unmogrowp.Record) bool { return l.Partition == r.Partition })
		r.Value = nil
		switch {
		case i < 0:
			t.last = append(t.last, r)
		case r.Offset > t.last[i].Offset:
			t.last[i] = r
		}
	}
	return t
}

// count adds the tally to the running totals; committed: its records were committed on
// the log.
func (p *Pipeline) count(t *tally, committed bool) {
	p.stats.stored.Add(int64(t.stored))
	p.m.stored.Add(float64(t.stored))
	p.stats.touchpoints.Add(int64(t.tps))
	p.m.touchpoints.Add(float64(t.tps))
	p.stats.duplicates.Add(int64(t.dups))
	p.m.duplicates.Add(float64(t.dups))
	p.stats.corrupt.Add(int64(t.corrupt))
	p.m.corrupt.Add(float64(t.corrupt))
	p.stats.alreadyStored.Add(int64(t.alreadyStored))
	p.m.alreadyStored.Add(float64(t.alreadyStored))
	if committed {
		p.stats.records.Add(int64(t.records))
		p.m.batchSeconds.Observe(time.Since(t.read).Seconds())
	}
}

// release commits the held transaction, then the held batches' records on the log, and
// counts them. A failed COMMIT is looked into through the watermarks: if the store has
// the held rows, the failure came after the commit; if not, they are lost, and release
// returns an error wrapping ErrHeldLost. It returns errStop when ctx is done before the
// log commit.
func (p *Pipeline) release(ctx context.Context, h *held) error {
	if !h.open() {
		return nil
	}
	if err := h.store.CommitHeld(ctx); err != nil {
		if !p.heldCommitted(ctx, h) {
			return fmt.Errorf("%w: commit of %d events: %w", ErrHeldLost, h.events, err)
		}
		p.log.Warn("store commit reported failure but committed", "events", h.events, "err", err)
	}
	var last []unmogrowp.Record
	for _, t := range h.batches {
		last = append(last, t.last...)
	}
	p.staged.Add(-int64(h.staged)) // before the log's commit: see Unseen
	committed := p.commit(ctx, last)
	for i := range h.batches {
		p.count(&h.batches[i], committed)
	}
	h.batches, h.events = h.batches[:0], 0
	clear(h.marks)
	if !committed {
		return errStop
	}
	return nil
}

// heldCommitted reports whether the store's watermarks cover the held batches' stored
// rows, after a failed commit: the store commits them all or none.
func (p *Pipeline) heldCommitted(ctx context.Context, h *held) bool {
	wm, err := p.s.Watermarks(ctx)
	if err != nil {
		p.log.Error("read watermarks after a failed commit", "err", err)
		return false
	}
	for part, o := range h.marks {
		if w, ok := wm[part]; !ok || w < o {
			return false
		}
	}
	return true
}

// cloneMarks returns a copy of m, never nil.
func cloneMarks(m map[int32]int64) map[int32]int64 {
	out := make(map[int32]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// prepareLoop is the first stage: read, decode, claim. marks are the watermarks of what the
// store held and the stage had learned at start: records at or below them are not claimed.
func (p *Pipeline) prepareLoop(ctx context.Context, marks map[int32]int64, free <-chan *buffer, ready chan<- *batch) {
	for {
		var buf *buffer
		select {
		case <-ctx.Done():
			return
		case buf = <-free:
		}
		if !p.yield(ctx) {
			return
		}
		recs, ok := retryValue(ctx, p, "read", func() ([]unmogrowp.Record, error) {
			return p.r.Read(ctx, p.opts.BatchSize)
		})
		if !ok {
			return
		}
		recs = p.linger(ctx, recs)
		b := &batch{buf: buf, recs: recs, read: time.Now()}
		p.decode(b, marks)
		if !p.dropErased(ctx, b) || !p.claim(ctx, b) || !p.claimSKAN(ctx, b) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case ready <- b:
		}
	}
}

// yield waits while the log takes records in faster than the pipeline can process them
// and the pipeline is not too far behind (Options.YieldLimit). It returns false when ctx
// is done first.
func (p *Pipeline) yield(ctx context.Context) bool {
	rate := math.Float64frombits(p.rate.Load())
	if p.opts.YieldLimit <= 0 || rate == 0 {
		return true
	}
	var waited time.Duration
	defer func() {
		if waited > 0 {
			p.m.yielded.Add(waited.Seconds())
		}
	}()
	for {
		behind, age := p.r.Lag()
		if age >= p.opts.YieldLimit || behind < 2*int64(p.opts.BatchSize) {
			return true
		}
		t := time.NewTimer(yieldWindow)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		waited += yieldWindow
		// The lag grew by what the log took in, less what the batch in hand committed.
		if now, _ := p.r.Lag(); float64(now-behind) < rate*yieldWindow.Seconds() {
			return true
		}
	}
}

// linger reads more records after recs, until there are BatchSize of them or Linger has
// passed, and returns them all. A failed read ends it early: the next read retries.
func (p *Pipeline) linger(ctx context.Context, recs []unmogrowp.Record) []unmogrowp.Record {
	if p.opts.Linger <= 0 || len(recs) >= p.opts.BatchSize {
		return recs
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Linger)
	defer cancel()
	for len(recs) < p.opts.BatchSize {
		more, err := p.r.Read(ctx, p.opts.BatchSize-len(recs))
		if err != nil {
			break
		}
		if len(recs)+len(more) > cap(recs) {
			// Room for the whole batch: one copy, not one each time append outgrows it.
			recs = slices.Grow(recs, max(p.opts.BatchSize, len(recs)+len(more))-len(recs))
		}
		recs = append(recs, more...)
	}
	return recs
}

// decode fills b.events and b.touchpoints with the records of b above marks, with their
// log position. Corrupt records are logged and left out. It drops the records' values.
func (p *Pipeline) decode(b *batch, marks map[int32]int64) {
	// Room for the batch's rows of each kind up front: growing by append would leave a
	// batch's worth of old arrays to the garbage collector, and capacity to spare in each
	// buffer, which in `unmogrowp serve`'s batches of 122,880 records is most of the heap.
	var nEvents, nTps, nSKAN int
	for i := range b.recs {
		if v := b.recs[i].Value; len(v) > 0 {
			switch v[0] {
			case unmogrowp.RecordEvent:
				nEvents++
			case unmogrowp.RecordTouchpoint:
				nTps++
			case unmogrowp.RecordSKAN:
				nSKAN++
			}
		}
	}
	events := slices.Grow(b.buf.events[:0], nEvents)
	tps := slices.Grow(b.buf.touchpoints[:0], nTps)
	skans := slices.Grow(b.buf.skan[:0], nSKAN)
	for i := range b.recs {
		rec := &b.recs[i]
		if w, ok := marks[rec.Partition]; ok && rec.Offset <= w {
			b.alreadyStored++
			continue
		}
		err := unmogrowp.ErrCorruptRecord
		switch {
		case len(rec.Value) == 0:
		case rec.Value[0] == unmogrowp.RecordEvent:
			events = append(events, unmogrowp.Event{})
			e := &events[len(events)-1]
			if err = unmogrowp.DecodeEventRecord(rec.Value, e); err != nil {
				events = events[:len(events)-1]
			} else {
				e.Partition, e.Offset = rec.Partition, rec.Offset
			}
		case rec.Value[0] == unmogrowp.RecordTouchpoint:
			tps = append(tps, unmogrowp.Touchpoint{})
			tp := &tps[len(tps)-1]
			if err = unmogrowp.DecodeTouchpointRecord(rec.Value, tp); err != nil {
				tps = tps[:len(tps)-1]
			} else {
				tp.Partition, tp.Offset = rec.Partition, rec.Offset
			}
		case rec.Value[0] == unmogrowp.RecordSKAN:
			skans = append(skans, unmogrowp.SKANPostback{})
			sp := &skans[len(skans)-1]
			if err = unmogrowp.DecodeSKANRecord(rec.Value, sp); err != nil {
				skans = skans[:len(skans)-1]
			} else {
				sp.Partition, sp.Offset = rec.Partition, rec.Offset
			}
		}
		if err != nil {
			b.corrupt++
			p.log.Error("skipping a log record that does not decode", "partition", rec.Partition,
				"offset", rec.Offset, "key", rec.Key, "bytes", len(rec.Value), "err", err)
		}
	}
	// The decoded rows hold copies: what is left to do with the records (commit them)
	// needs their positions only, so their bytes can go before the batch is stored, about
	// a third of the memory a batch holds, and the log may fill them again.
	for i := range b.recs {
		b.recs[i].Value = nil
	}
	if r, ok := p.r.(ValueRecycler); ok {
		r.RecycleValues()
	}
	b.buf.events, b.buf.touchpoints, b.buf.skan = events, tps, skans
	b.events, b.touchpoints, b.skan = events, tps, skans
}

// claimSKAN asks the deduplicator whether each SKAN postback of b is the first copy with
// its dedup key, only to count the others (result duplicate of
// unmogrowp_skan_postbacks_total): every copy is stored, and the store keeps the winner
// (Apple's) and flags differing conversion values. It returns false when ctx is done
// first.
func (p *Pipeline) claimSKAN(ctx context.Context, b *batch) bool {
	if len(b.skan) == 0 {
		return true
	}
	claims := make([]unmogrowp.Claim, len(b.skan))
	for i := range b.skan {
		sp := &b.skan[i]
		claims[i] = unmogrowp.Claim{AppID: sp.AppID, EventID: "skan\x1f" + sp.DedupKey(), Partition: sp.Partition, Offset: sp.Offset, Time: sp.ReceivedAt}
	}
	first, ok := retryValue(ctx, p, "claim", func() ([]bool, error) { return p.d.Claim(ctx, claims) })
	if !ok {
		return false
	}
	for i, f := range first {
		if !f && i < len(b.skan) {
			p.skanCount.WithLabelValues(b.skan[i].Kind, skan.ResultDuplicate).Inc()
		}
	}
	return true
}

// claim asks the deduplicator which events of b are the first with their id and drops the
// others from b.events. An event without an event id (ingestion always sets one) cannot be
// deduplicated and is kept. It returns false when ctx is done first.
func (p *Pipeline) claim(ctx context.Context, b *batch) bool {
	buf, events := b.buf, b.events
	keep := slices.Grow(buf.keep[:0], len(events))[:len(events)]
	claims, idx := slices.Grow(buf.claims[:0], len(events)), slices.Grow(buf.claimIdx[:0], len(events))
	for i := range events {
		e := &events[i]
		if keep[i] = e.EventID == ""; keep[i] {
			continue
		}
		claims = append(claims, unmogrowp.Claim{
			AppID: e.AppID, EventID: e.EventID, Partition: e.Partition, Offset: e.Offset, Time: e.ReceivedAt,
		})
		idx = append(idx, i)
	}
	buf.keep, buf.claims, buf.claimIdx = keep, claims, idx
	if len(claims) > 0 {
		first, ok := retryValue(ctx, p, "claim", func() ([]bool, error) {
			got, err := p.d.Claim(ctx, claims)
			if err == nil && len(got) != len(claims) {
				err = fmt.Errorf("deduplicator answered %d claims of %d", len(got), len(claims))
			}
			return got, err
		})
		if !ok {
			return false
		}
		for j, i := range idx {
			keep[i] = first[j]
		}
	}
	// Compact from the first duplicate on: in the common batch, without any, no event moves.
	n := 0
	for n < len(events) && keep[n] {
		n++
	}
	kept := events[:n]
	for i := n; i < len(events); i++ {
		if keep[i] {
			kept = append(kept, events[i])
		}
	}
	b.duplicates = len(events) - len(kept)
	b.events = kept
	return true
}

// decidedBatch is a batch the second stage has decided: sb is what the Stage saw (the new
// rows and those handed to it again), toStore what the store is to get of it.
type decidedBatch struct {
	b           *batch
	sb, toStore unmogrowp.Batch
	events, tps int       // the new events and touchpoints
	begin       time.Time // when the second stage took the batch
}

// decide is the second stage's first half: drop the rows erased since the first stage, set
// aside those the store already holds, let the Stage decide, and write what the batch owes
// to others (OutboxStage) before the store has it. live holds the store's watermarks as
// this process raised them, learned the stage's. A row at or below live is not stored
// again, which matters only when a log reader delivers records again within one run (a
// Kafka rebalance), or at start for the records the stage lacks (KeepingStage): those, at
// or below live and above learned, are handed to the stage, after the new rows, and not
// stored. It returns false when ctx is done first.
func (p *Pipeline) decide(ctx context.Context, b *batch, live, learned map[int32]int64) (decidedBatch, bool) {
	d := decidedBatch{b: b, begin: time.Now()}
	stored := func(part int32, off int64) bool {
		w, ok := live[part]
		return ok && off <= w
	}
	sort := func(part int32, off int64) (keep, aside bool) {
		if !stored(part, off) {
			return true, false
		}
		b.alreadyStored++
		l, ok := learned[part]
		return false, !ok || off > l
	}
	// Again, against the tombstones as they are now: an erasure since the first stage
	// must not see this batch stored after its deletion.
	if !p.dropErased(ctx, b) {
		return d, false
	}
	events, againEvents := sortRows(b.events, eventPos, sort)
	tps, againTps := sortRows(b.touchpoints, touchpointPos, sort)
	skans, _ := sortRows(b.skan, skanPos, sort) // the hot state has no use for them
	d.events, d.tps = len(events), len(tps)
	sb := unmogrowp.Batch{Events: events, Touchpoints: tps, SKAN: skans}
	if len(againEvents)+len(againTps) > 0 {
		sb.Events = append(events[:len(events):len(events)], againEvents...)
		sb.Touchpoints = append(tps[:len(tps):len(tps)], againTps...)
	}
	if p.opts.Stage != nil && sb.Len() > 0 {
		if !p.retry(ctx, "decide", func() error {
			sb.Installs = b.buf.installs[:0]
			err := p.opts.Stage.Prepare(ctx, &sb)
			b.buf.installs = sb.Installs[:0]
			return err
		}) {
			return d, false
		}
	}
	toStore := sb
	if len(againEvents)+len(againTps) > 0 {
		toStore = unmogrowp.Batch{Events: sb.Events[:len(events)], Touchpoints: sb.Touchpoints[:len(tps)], SKAN: skans}
		for _, in := range sb.Installs {
			if !stored(in.Partition, in.Offset) {
				toStore.Installs = append(toStore.Installs, in)
			}
		}
	}
	if os, ok := p.opts.Stage.(OutboxStage); ok && toStore.Len() > 0 {
		// Before the store write, so before the watermarks move: see OutboxStage.
		if !p.retry(ctx, "outbox", func() error { return os.BeforeStore(ctx, &toStore) }) {
			return d, false
		}
	}
	d.sb, d.toStore = sb, toStore
	return d, true
}

// finish is the second stage without held transactions: decide, store, let the Stage
// learn the batch, commit the log.
//
// A stop (ctx done) abandons a batch not yet decided. One being written gets stopGrace to
// be stored, applied to the hot state and committed: a restart skips what the store
// holds, so a batch stored and not applied would leave the hot state without its
// touchpoints and decisions for good (the in-process hot state is rebuilt from the store
// on start; Redis keeps what it has). It returns false when ctx is done before the batch
// is committed.
func (p *Pipeline) finish(ctx context.Context, b *batch, live, learned map[int32]int64) bool {
	d, ok := p.decide(ctx, b, live, learned)
	if !ok {
		return false
	}
	stop := ctx
	ctx, cancel := withGrace(ctx, stopGrace)
	defer cancel()
	if !p.store(ctx, d.toStore, p.s.Append) {
		return false
	}
	if p.opts.Stage != nil && d.sb.Len() > 0 {
		if !p.retry(ctx, "stored", func() error { return p.opts.Stage.Stored(ctx, &d.sb) }) {
			p.log.Error("stopped before the hot state learned a stored batch; its touchpoints and decisions are missing there",
				"events", d.events, "touchpoints", d.tps)
			return false
		}
	}
	maps.Copy(live, d.toStore.Watermarks(live))
	maps.Copy(learned, d.sb.Watermarks(learned))
	t := newTally(b, d.events, d.tps)
	committed := p.commit(ctx, t.last)
	if committed && len(b.recs) >= p.opts.BatchSize {
		p.noteRate(len(b.recs), time.Since(d.begin))
	}
	p.count(&t, committed)
	return committed && stop.Err() == nil
}

// runHolding is Run's second and third stages with held transactions (Options.HoldRows).
// The second stage (this goroutine) decides each batch and has the Stage learn it
// (Stored) before handing it to the third, which writes it into the held transaction
// and commits the transaction and the log (storeLoop): the next batch is decided while
// the store writes this one. The Stage learning a batch before the store has it is what
// holding already requires of it (see "Held transactions" in the package comment); here
// it is also one batch ahead of the store's open transaction.
//
// On a stop the third stage writes and commits every batch the Stage has learned, within
// stopGrace, and Run returns nil; should it fail, or a held transaction be lost, Run
// returns an error wrapping ErrHeldLost.
func (p *Pipeline) runHolding(ctx context.Context, ready <-chan *batch, free chan<- *buffer, live, learned map[int32]int64, h *held) error {
	decided := make(chan decidedBatch)
	stored := make(chan error, 1)
	// The third stage ends the second on a failure, and outlives a stop by its grace.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		err := p.storeLoop(ctx, decided, free, h)
		cancel()
		stored <- err
	}()
	for {
		var b *batch
		select {
		case <-ctx.Done():
		case b = <-ready:
		}
		if b == nil || ctx.Err() != nil {
			break // b, read but not decided, is read again by the next run
		}
		d, ok := p.decide(ctx, b, live, learned)
		if !ok {
			break
		}
		if p.opts.Stage != nil && d.sb.Len() > 0 {
			// Stored gets stopGrace after a stop, as the store's write does: a stop
			// during it would leave the Stage with part of a batch (the decisions
			// applied, the watermarks not raised) that the store never gets.
			gctx, cancel := withGrace(ctx, stopGrace)
			ok = p.retry(gctx, "stored", func() error { return p.opts.Stage.Stored(gctx, &d.sb) })
			cancel()
			if !ok {
				close(decided)
				<-stored
				return fmt.Errorf("%w: the Stage learned part of a batch before a stop", ErrHeldLost)
			}
		}
		maps.Copy(live, d.toStore.Watermarks(live))
		maps.Copy(learned, d.sb.Watermarks(learned))
		select {
		case decided <- d:
			continue
		case err := <-stored:
			// The third stage ended early: the Stage has learned d, which the store
			// will not get.
			return heldLost(err, "the store stage ended before a learned batch")
		}
	}
	close(decided)
	if err := <-stored; err != nil {
		return heldLost(err, "stopped before storing the batches the Stage learned")
	}
	return nil
}

// heldLost returns err wrapped in ErrHeldLost, with why, unless it already is one: the
// third stage ended with a batch the Stage learned not stored.
func heldLost(err error, why string) error {
	switch {
	case errors.Is(err, ErrHeldLost):
		return err
	case errors.Is(err, errStop):
		return fmt.Errorf("%w: %s", ErrHeldLost, why)
	}
	return fmt.Errorf("%w: %s: %w", ErrHeldLost, why, err)
}

// storeLoop is the third stage with held transactions: it writes each decided batch, in
// order, into the held transaction, or to the stage when the store stages and the batch
// was not full, and hands what it holds to a committer (a goroutine that commits the
// store, then the log) once it is due (due). While a commit runs it goes on holding and
// staging; what falls due meanwhile goes to the next commit, and it waits for the commit
// in progress only when it holds maxHeldFactor times HoldRows. Once in is closed (the
// second stage stopped), it waits for the commit in progress, commits what it holds and
// returns nil; it returns errStop when a stop interrupted it (the grace passed) and an
// error wrapping ErrHeldLost when a held transaction was lost.
func (p *Pipeline) storeLoop(ctx context.Context, in <-chan decidedBatch, free chan<- *buffer, h *held) error {
	due := time.NewTimer(time.Hour)
	due.Stop()
	defer due.Stop()
	committed := make(chan error, 1)
	committing := false
	inCommit := 0 // the records of the commit in progress
	// wait waits for the commit in progress. A stop (errStop) left the rows stored and the
	// log uncommitted, which a restart skips: go on, to store what the second stage still
	// hands over.
	wait := func() error {
		if !committing {
			return nil
		}
		committing = false
		if err := <-committed; err != nil && !errors.Is(err, errStop) {
			return err
		}
		return nil
	}
	defer func() { _ = wait() }()
	commit := func() {
		job := h.take()
		committing, inCommit = true, job.records
		go func() {
			// The commit gets stopGrace after a stop (ctx done).
			gctx, cancel := withGrace(ctx, stopGrace)
			defer cancel()
			committed <- p.release(gctx, job)
		}()
	}
	var last time.Time // when the batch before was stored
	for {
		var done <-chan error
		if committing {
			done = committed
		}
		select {
		case <-due.C:
		case err := <-done:
			committing = false
			if err != nil && !errors.Is(err, errStop) {
				return err
			}
		case d, ok := <-in:
			if !ok {
				if err := wait(); err != nil {
					return err
				}
				return p.stopHeld(ctx, h)
			}
			// A batch for the transaction waits for the commit in progress, whose
			// transaction it would otherwise join, and whose loss it would not see.
			stage := p.stages(h, d, committing, inCommit)
			if !stage {
				if err := wait(); err != nil {
					return err
				}
			}
			if err := p.storeHeld(ctx, d, h, last, stage); err != nil {
				return err
			}
			last = time.Now()
			free <- d.b.buf
			if committing && h.events >= maxHeldFactor*max(p.opts.HoldRows, 1) {
				if err := wait(); err != nil {
					return err
				}
			}
		}
		if !committing && p.due(h, ctx.Err() != nil) {
			commit()
		}
		if h.open() {
			due.Reset(time.Until(p.deadline(h)))
		} else {
			due.Stop()
		}
	}
}

// maxHeldFactor bounds what storeLoop holds while a commit runs: that many times
// Options.HoldRows events.
const maxHeldFactor = 4

// due reports whether h is due for a commit: it holds Options.HoldRows events, the
// pipeline is stopping, it holds batches in the transaction (not visible) and the last
// batch was not full or HoldFor has passed since the first of them, or StageFor has
// passed since its first batch.
func (p *Pipeline) due(h *held, stopping bool) bool {
	if !h.open() {
		return false
	}
	if stopping || h.events >= p.opts.HoldRows || !time.Now().Before(p.deadline(h)) {
		return true
	}
	return h.direct > 0 && !h.lastFull
}

// deadline is when h falls due for its age: HoldFor after its first batch held in the
// transaction, StageFor after its first batch.
func (p *Pipeline) deadline(h *held) time.Time {
	t := h.since.Add(p.opts.StageFor)
	if d := h.directSince.Add(p.opts.HoldFor); h.direct > 0 && d.Before(t) {
		return d
	}
	return t
}

// stages reports whether d goes to the stage: the store stages, and d was not full (the
// pipeline has caught up with the log), or the log has too few records unread for a
// transaction of them to hold HoldRows (a transaction committed with less than a DuckDB
// row group goes through DuckDB's WAL, at twice the CPU a row, and its checkpoint). While
// a commit runs, a full batch is staged unless maxHeldFactor times HoldRows are unread:
// the commit may stall for seconds (DuckDB's checkpoint), and a batch for the transaction
// would wait for it, its rows not visible meanwhile; with a backlog that deep, waiting
// costs less CPU than staging and moving. inCommit are the records of the commit in
// progress.
func (p *Pipeline) stages(h *held, d decidedBatch, committing bool, inCommit int) bool {
	if _, ok := h.store.(StagingStore); !ok {
		return false
	}
	if len(d.b.recs) < p.opts.BatchSize {
		return true
	}
	limit := p.opts.HoldRows
	if committing {
		limit *= maxHeldFactor
	}
	behind, _ := p.r.Lag() // appended and not committed: read or not
	return behind-int64(h.records+inCommit+len(d.b.recs)) < int64(limit)
}

// storeHeld writes d into h's transaction, or to the stage if stage. The write gets stopGrace after a stop (ctx done): the Stage has learned d.
// last is when the batch before was stored, for the rate (noteRate): the time between
// two batches is that of the slower stage.
func (p *Pipeline) storeHeld(ctx context.Context, d decidedBatch, h *held, last time.Time, stage bool) error {
	ctx, cancel := withGrace(ctx, stopGrace)
	defer cancel()
	full := len(d.b.recs) >= p.opts.BatchSize
	now := time.Now()
	if d.toStore.Len() > 0 {
		// A failure while earlier batches wait for the same commit loses them too (held
		// ones are rolled back; staged ones dropped, said at the next AppendStaged); else
		// the batch is retried as a batch.
		appendBatch, waiting := h.store.AppendHeld, h.direct > 0
		if stage {
			appendBatch, waiting = h.store.(StagingStore).AppendStaged, h.open()
		}
		if waiting {
			if err := appendBatch(ctx, d.toStore); err != nil {
				return fmt.Errorf("%w: write to it: %w", ErrHeldLost, err)
			}
		} else if !p.store(ctx, d.toStore, appendBatch) {
			return errStop
		}
		if !stage {
			if h.direct == 0 {
				h.directSince = now
			}
			h.direct++
		}
		if h.marks == nil {
			h.marks = map[int32]int64{}
		}
		maps.Copy(h.marks, d.toStore.Watermarks(h.marks))
	}
	t := newTally(d.b, d.events, d.tps)
	if !h.open() {
		h.since = now
	}
	h.batches = append(h.batches, t)
	h.events += len(d.toStore.Events)
	h.records += len(d.b.recs)
	if stage {
		h.staged += len(d.b.recs)
		p.staged.Add(int64(len(d.b.recs)))
	}
	h.lastFull = full
	if full {
		p.noteRate(len(d.b.recs), time.Since(later(d.begin, last)))
	}
	return nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// noteRate folds the time a full batch of n records took (the slowest stage's) into
// p.rate.
func (p *Pipeline) noteRate(n int, d time.Duration) {
	if d <= 0 {
		return
	}
	r := float64(n) / d.Seconds()
	if old := math.Float64frombits(p.rate.Load()); old > 0 {
		r = 0.8*old + 0.2*r
	}
	p.rate.Store(math.Float64bits(r))
}

// sortRows keeps in rows, in place, those sort says to keep, and returns them and a copy
// of those it puts aside.
func sortRows[T any](rows []T, pos func(*T) (int32, int64), sort func(int32, int64) (keep, aside bool)) (kept, aside []T) {
	kept = rows[:0]
	for i := range rows {
		k, a := sort(pos(&rows[i]))
		switch {
		case a:
			aside = append(aside, rows[i])
		case k:
			kept = append(kept, rows[i])
		}
	}
	return kept, aside
}

func eventPos(e *unmogrowp.Event) (int32, int64)            { return e.Partition, e.Offset }
func touchpointPos(tp *unmogrowp.Touchpoint) (int32, int64) { return tp.Partition, tp.Offset }
func skanPos(sp *unmogrowp.SKANPostback) (int32, int64)     { return sp.Partition, sp.Offset }

// withGrace returns a context that is done grace after ctx is (or when cancel is called),
// and carries ctx's values.
func withGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(g, func() { t.Stop() })
	})
	return g, func() {
		stop()
		cancel()
	}
}

// store appends the batch to the store, retrying until it succeeds. After a failed attempt
// it reads the watermarks again before retrying: Append is atomic, so either the whole
// batch made it (the failure was reported after the commit) and nothing is left to write,
// or none of it did.
func (p *Pipeline) store(ctx context.Context, sb unmogrowp.Batch, appendBatch func(context.Context, unmogrowp.Batch) error) bool {
	if sb.Len() == 0 {
		return true
	}
	failed := false
	return p.retry(ctx, "store", func() error {
		if failed {
			wm, err := p.s.Watermarks(ctx)
			if err != nil {
				return fmt.Errorf("read watermarks: %w", err)
			}
			stored, rows := 0, 0
			count := func(part int32, off int64) {
				rows++
				if w, ok := wm[part]; ok && off <= w {
					stored++
				}
			}
			for i := range sb.Events {
				count(sb.Events[i].Partition, sb.Events[i].Offset)
			}
			for i := range sb.Touchpoints {
				count(sb.Touchpoints[i].Partition, sb.Touchpoints[i].Offset)
			}
			for i := range sb.SKAN {
				count(sb.SKAN[i].Partition, sb.SKAN[i].Offset)
			}
			if stored == rows {
				p.log.Warn("store write reported failure but committed; not writing it again", "rows", rows)
				return nil
			}
			if stored != 0 {
				// The store broke its atomicity contract: do not guess which part is there.
				return fmt.Errorf("store holds %d of %d rows of a failed batch", stored, rows)
			}
		}
		if err := appendBatch(ctx, sb); err != nil {
			failed = true
			return err
		}
		return nil
	})
}

// commit commits recs on the log, retrying until it succeeds or ctx is done, and reports
// whether it happened.
func (p *Pipeline) commit(ctx context.Context, recs []unmogrowp.Record) bool {
	if p.retry(ctx, "commit", func() error { return p.r.Commit(ctx, recs) }) {
		return true
	}
	p.log.Info("batch stored but not committed at stop; it is skipped after restart", "records", len(recs))
	return false
}

// retry calls f until it succeeds, backing off between attempts. It returns false when ctx
// is done first.
func (p *Pipeline) retry(ctx context.Context, step string, f func() error) bool {
	_, ok := retryValue(ctx, p, step, func() (struct{}, error) { return struct{}{}, f() })
	return ok
}

func retryValue[T any](ctx context.Context, p *Pipeline, step string, f func() (T, error)) (T, bool) {
	wait := p.opts.RetryMin
	for attempt := 1; ; attempt++ {
		v, err := f()
		if err == nil {
			return v, true
		}
		if ctx.Err() != nil {
			return v, false
		}
		p.m.retries.WithLabelValues(step).Inc()
		p.log.Error("pipeline step failed; retrying", "step", step, "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, false
		case <-t.C:
		}
		wait = min(2*wait, p.opts.RetryMax)
	}
}

// dropErased removes from b's events and touchpoints, in place, those that carry an
// erased identity (Options.Tombstones), and counts them. Each stage calls it: the second
// walks the rows again only when the set is not the one the first walked them with
// (opendsr.Cache returns the same set until a tombstone is added or removed). It returns
// false when ctx is done before the tombstones could be read.
func (p *Pipeline) dropErased(ctx context.Context, b *batch) bool {
	if p.opts.Tombstones == nil || len(b.events)+len(b.touchpoints) == 0 {
		return true
	}
	set, ok := retryValue(ctx, p, "tombstones", func() (*unmogrowp.TombstoneSet, error) {
		return p.opts.Tombstones.Tombstones(ctx)
	})
	if !ok {
		return false
	}
	if set == b.erasedBy || set.Len() == 0 {
		return true
	}
	b.erasedBy = set
	n := len(b.events) + len(b.touchpoints)
	b.events = deleteRows(b.events, set.Event)
	b.touchpoints = deleteRows(b.touchpoints, set.Touchpoint)
	if dropped := n - len(b.events) - len(b.touchpoints); dropped > 0 {
		p.stats.erased.Add(int64(dropped))
	}
	return true
}

// deleteRows removes the rows for which del is true, in place, keeping the order: as
// slices.DeleteFunc, but del takes a pointer, so a row is not copied to be asked.
func deleteRows[T any](rows []T, del func(*T) bool) []T {
	kept := 0
	for i := range rows {
		if !del(&rows[i]) {
			if kept != i {
				rows[kept] = rows[i]
			}
			kept++
		}
	}
	clear(rows[kept:])
	return rows[:kept]
}
