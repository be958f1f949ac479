package postback

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
)

// SecretFunc returns the secret of an app's postback at send time ("" for none), so the
// secret lives only with the postback, never in the outbox. It returns ENOTFOUND for a
// postback that no longer exists.
type SecretFunc func(ctx context.Context, appID, postbackID string) (string, error)

// WorkerOptions configure a Worker. Outbox and Sender are required.
type WorkerOptions struct {
	Outbox unmogrowp.Outbox
	Sender *Sender
	Secret SecretFunc // nil: requests are not signed
	// RetryDelays are POSTBACK_RETRY_DELAYS; nil: DefaultRetryDelays (an empty, non-nil
	// slice: no retry).
	RetryDelays []time.Duration
	PerHost     int           // attempts in flight to one destination; 0: 8
	Concurrency int           // attempts in flight and waiting in all; 0: 1024
	Lease       time.Duration // how long a claim holds; 0: 3 times the sender's timeout
	// Poll is how often to look for due deliveries when idle; 0: 250 ms. After claims
	// that found none, the wait doubles, up to 8 times Poll, until a claim finds some or
	// Wake is called: a claim passes over the backlog of the destinations the worker has
	// its fill of, which costs the store as much as the backlog is long.
	Poll       time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger     // nil: slog.Default()
	Now        func() time.Time // nil: time.Now
	// Retention is POSTBACK_LOG_RETENTION: Run deletes the deliveries done with
	// (delivered or failed) once created longer ago than this (Outbox.Prune), when it
	// starts and every PruneEvery. 0: they are kept.
	Retention time.Duration
	// PruneEvery is how often Run prunes; 0: every hour.
	PruneEvery time.Duration
}

// Worker delivers due deliveries from an outbox: it claims them in batches, attempts each
// with the sender and records the outcome. Attempts to one destination (Delivery.Host) are
// limited to PerHost at a time, and a destination at its limit is left out of the next
// claims, so one slow or failing destination delays no other. Any number of workers, in
// one process or many, may share an outbox: the outbox's leases make each attempt once.
type Worker struct {
	o      WorkerOptions
	wake   chan struct{}
	total  *prometheus.CounterVec
	timing prometheus.Histogram
}

// NewWorker returns a worker, its metrics registered on o.Registerer: the counter
// unmogrowp_postbacks_total{result="delivered|retried|failed|refused"} of attempts, and
// the histogram unmogrowp_postback_latency_seconds from a delivery's creation (the
// decision) to its 2xx answer. A second worker on the same registerer shares the first's
// metrics. Returns EINVALID for a lease not longer than the sender's timeout.
func NewWorker(o WorkerOptions) (*Worker, error) {
	if o.RetryDelays == nil {
		o.RetryDelays = DefaultRetryDelays
	}
	if o.PerHost <= 0 {
		o.PerHost = 8
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1024
	}
	if o.Lease == 0 {
		o.Lease = 3 * o.Sender.Timeout()
	}
	if o.Lease <= o.Sender.Timeout() {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "the postback lease must be longer than the request timeout.")
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	w := &Worker{o: o, wake: make(chan struct{}, 1)}
	w.total = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "unmogrowp_postbacks_total",
		Help: "Postback and webhook attempts, by result: delivered (2xx), retried (to be attempted again), failed (a final answer, or no attempt left), refused (a non-public address).",
	}, []string{"result"})
	w.timing = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "unmogrowp_postback_latency_seconds",
		Help:    "Time from the decision that made a delivery to its 2xx answer, retries included.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400},
	})
	if o.Registerer != nil {
		if err := register(o.Registerer, &w.total); err != nil {
			return nil, err
		}
		if err := register(o.Registerer, &w.timing); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// register registers *c, or makes *c the collector already registered under its name.
func register[C prometheus.Collector](r prometheus.Registerer, c *C) error {
	err := r.Register(*c)
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			*c = existing
			return nil
		}
	}
	return err
}

// Wake makes a waiting Run look for due deliveries now rather than at its next poll: call
// it after enqueueing.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// claimed is a delivery the worker holds, and when its lease ends.
type claimed struct {
	d     unmogrowp.Delivery
	until time.Time
}

// host is what the worker holds of one destination.
type host struct {
	queue  []claimed     // claimed, waiting for a slot
	active int           // attempts in flight
	took   time.Duration // a moving average of its attempts' durations; 0: none made yet
	// room is how many of its deliveries the last claim could give (0: none, it was
	// left out), got how many it gave; more is set when it gave all it could (more may
	// be due), until Run claims again for the destination.
	room, got int
	more      bool
}

// held is how many of the destination's deliveries the worker holds.
func (h *host) held() int { return h.active + len(h.queue) }

// sent is what an attempt tells Run: that its destination's slot is free (recorded
// false), then that the attempt is recorded and its delivery no longer held (recorded
// true).
type sent struct {
	host     string
	took     time.Duration // the attempt's duration; 0 when none was made
	recorded bool
}

// holdLimit is how many deliveries of the destination the worker holds at most: PerHost
// for one whose attempts it has not timed, more for one that answers fast, as many as it
// attempts in a quarter of the time a lease leaves once an attempt's timeout is taken
// from it, up to half of Concurrency. A destination that answers fast is thus claimed in
// large batches, and each delivery held is still attempted well before its lease ends;
// one that is slow or hangs is held PerHost at a time, so it takes few of the slots the
// others need.
func (w *Worker) holdLimit(h *host) int {
	if h.took <= 0 {
		return w.o.PerHost
	}
	spare := w.o.Lease - w.o.Sender.Timeout()
	n := int(min(int64(w.o.PerHost)*int64(spare)/int64(4*h.took), int64(w.o.Concurrency)))
	return min(max(n, w.o.PerHost), max(w.o.PerHost, w.o.Concurrency/2))
}

// Run delivers until ctx is done, then stops the attempts in flight (which are not
// recorded: their leases end and another claim makes them again) and returns nil. Errors
// of the outbox are logged and retried at the next poll.
//
// It claims as many due deliveries as it has room for in one Outbox.Claim, across
// destinations, each capped by holdLimit, queues them by destination, and attempts each
// destination's queue PerHost at a time. A claim runs beside the attempts: while it waits
// for the store, the deliveries already held keep being attempted. An attempt frees its destination's slot as soon
// as its answer comes, and its room among the Concurrency once the outbox has recorded it
// (the store records concurrent attempts together).
func (w *Worker) Run(ctx context.Context) error {
	if w.o.Retention > 0 {
		pruned := make(chan struct{})
		defer func() { <-pruned }()
		go func() {
			defer close(pruned)
			w.prune(ctx)
		}()
	}
	hosts := map[string]*host{}
	held := 0 // deliveries claimed and not yet recorded (or dropped)
	// Each held delivery sends two messages at most: the channel never blocks.
	done := make(chan sent, 2*w.o.Concurrency)
	start := func(name string, h *host) {
		for h.active < w.o.PerHost && len(h.queue) > 0 {
			c := h.queue[0]
			h.queue[0] = claimed{}
			h.queue = h.queue[1:]
			h.active++
			go w.attempt(ctx, name, c, done)
		}
	}
	// drop lets go of the queued deliveries whose leases end before an attempt could:
	// another claim takes them then (a destination that turned slow holds no room).
	drop := func() {
		latest := w.o.Now().Add(w.o.Sender.Timeout())
		for _, h := range hosts {
			n := 0
			for n < len(h.queue) && latest.After(h.queue[n].until) {
				n++
			}
			clear(h.queue[:n])
			h.queue = h.queue[n:]
			held -= n
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	sweep := time.NewTicker(time.Second) // drop, and forget
	defer sweep.Stop()
	// A claim runs beside the loop, which meanwhile starts attempts as slots free up: a
	// claim of a few hundred deliveries takes tens of milliseconds of the store, time in
	// which the destinations' slots would otherwise stand empty. One claim at a time.
	claims := make(chan claimAnswer, 1)
	claiming := false
	defer func() {
		if claiming { // its deliveries are left to their leases
			<-claims
		}
	}()
	look := true                       // time to claim: the poll, a wake, a full last claim, a destination run low
	idle := 0                          // claims in a row that found nothing, up to 3: the poll waits Poll<<idle
	batch := max(1, w.o.Concurrency/8) // the least worth a claim while busy
	for ctx.Err() == nil {
		if free := w.o.Concurrency - held; look && !claiming && (free >= batch || held == 0) {
			now := w.o.Now() // the claim's: its leases end at now+Lease
			r := w.claimRequest(now, free, hosts)
			claiming, look = true, false
			go func() {
				ds, err := w.o.Outbox.Claim(ctx, r)
				claims <- claimAnswer{ds: ds, err: err, now: now, limit: free}
			}()
		}
		select {
		case c := <-claims:
			claiming = false
			if c.err != nil && ctx.Err() == nil {
				w.o.Logger.Error("claim postback deliveries", "err", c.err)
			}
			for _, d := range c.ds {
				h := hosts[d.Host]
				if h == nil {
					h = &host{room: w.o.PerHost}
					hosts[d.Host] = h
				}
				h.queue = append(h.queue, claimed{d: d, until: c.now.Add(w.o.Lease)})
				h.got++
				held++
			}
			for _, d := range c.ds {
				if h := hosts[d.Host]; len(h.queue) > 0 {
					h.more = h.more || h.got >= h.room
					start(d.Host, h)
				}
			}
			// A wake or a destination run low while the claim ran asks for another too.
			look = look || len(c.ds) == c.limit && c.err == nil
			if len(c.ds) > 0 {
				idle = 0
			} else {
				idle = min(idle+1, 3)
			}
			if !look {
				timer.Reset(w.o.Poll << idle)
			}
		case s := <-done:
			if s.recorded {
				held--
				break
			}
			h := hosts[s.host]
			h.active--
			if s.took > 0 {
				if h.took == 0 {
					h.took = s.took
				} else {
					h.took += (s.took - h.took) / 4
				}
			}
			start(s.host, h)
			if h.more && h.held() <= w.holdLimit(h)/2 {
				look, h.more = true, false // the destination may have more due
			}
		case <-w.wake:
			look, idle = true, 0
		case <-timer.C:
			look = true
		case <-sweep.C:
			drop()
			forget(hosts)
		case <-ctx.Done():
		}
	}
	// Stop: waiting deliveries are left to their leases; attempts in flight abort.
	for _, h := range hosts {
		held -= len(h.queue)
		h.queue = nil
	}
	for held > 0 {
		if s := <-done; s.recorded {
			held--
		}
	}
	return nil
}

// forgetAfter is how many destinations the worker keeps what it learnt of while it holds
// none of their deliveries: beyond it, forget forgets them.
const forgetAfter = 4096

// forget deletes the destinations of which the worker holds nothing, when it knows of more
// than forgetAfter: their timings are then learnt again.
func forget(hosts map[string]*host) {
	if len(hosts) <= forgetAfter {
		return
	}
	for name, h := range hosts {
		if h.held() == 0 {
			delete(hosts, name)
		}
	}
}

// prune deletes the deliveries done with that are older than the retention, now and every
// PruneEvery, until ctx is done. Errors are logged and tried again at the next round.
func (w *Worker) prune(ctx context.Context) {
	tick := time.NewTicker(w.o.PruneEvery)
	defer tick.Stop()
	for {
		n, err := w.o.Outbox.Prune(ctx, w.o.Now().Add(-w.o.Retention))
		switch {
		case err != nil && ctx.Err() == nil:
			w.o.Logger.Error("prune the postback delivery log", "err", err, "deleted", n)
		case n > 0:
			w.o.Logger.Info("pruned the postback delivery log", "deleted", n, "retention", w.o.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// claimAnswer is what a claim of up to limit deliveries, made at now, returned.
type claimAnswer struct {
	ds    []unmogrowp.Delivery
	err   error
	now   time.Time
	limit int
}

// claimRequest returns the claim of up to limit due deliveries: of each destination, up
// to what holdLimit leaves room for, none of one that holds more than half its limit. It
// sets each destination's room for the claim, and zeroes what the claim got of it.
func (w *Worker) claimRequest(now time.Time, limit int, hosts map[string]*host) unmogrowp.ClaimRequest {
	var except []string
	var limits map[string]int
	for name, h := range hosts {
		limit := w.holdLimit(h)
		h.room, h.got = limit-h.held(), 0
		switch {
		case h.room < (limit+1)/2: // not worth a claim: Run claims for it once it holds half
			except = append(except, name)
			h.room = 0
		case h.room != w.o.PerHost:
			if limits == nil {
				limits = map[string]int{}
			}
			limits[name] = h.room
		}
	}
	return unmogrowp.ClaimRequest{
		Now: now, Limit: limit, Lease: w.o.Lease, PerHost: w.o.PerHost, HostLimits: limits, Except: except,
	}
}

// attempt makes one attempt of a claimed delivery to the destination name and records it,
// unless its lease would end before the attempt could (it then waits for another claim)
// or ctx is done. It tells done when the destination's slot is free, then when the
// delivery is no longer held.
func (w *Worker) attempt(ctx context.Context, name string, c claimed, done chan<- sent) {
	begun := w.o.Now()
	a, result, ok := w.try(ctx, &c)
	took := time.Duration(0)
	if ok {
		took = max(w.o.Now().Sub(begun), time.Nanosecond)
	}
	done <- sent{host: name, took: took}
	if ok {
		w.record(ctx, &c, a, result)
	}
	done <- sent{recorded: true}
}

// try makes the attempt, and returns what to record and the metric's result; ok is false
// when there is nothing to record.
func (w *Worker) try(ctx context.Context, c *claimed) (a unmogrowp.Attempt, result string, ok bool) {
	d := &c.d
	if w.o.Now().Add(w.o.Sender.Timeout()).After(c.until) {
		return a, "", false
	}
	secret := ""
	var o Outcome
	if w.o.Secret != nil {
		s, err := w.o.Secret(ctx, d.AppID, d.PostbackID)
		switch {
		case unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND:
			o = Outcome{Result: Failed, Error: "The postback was deleted."}
		case err != nil:
			if ctx.Err() == nil {
				w.o.Logger.Error("read postback secret", "postback", d.PostbackID, "err", err)
			}
			return a, "", false
		}
		secret = s
	}
	if o.Result == "" {
		o = w.o.Sender.Send(ctx, d, secret)
	}
	if o.Result == Aborted {
		return a, "", false
	}
	a, result = NextAttempt(d, o, w.o.Now(), w.o.RetryDelays)
	return a, result, true
}

// record counts the attempt and records it in the outbox, even if ctx is done now: the
// attempt was made. A record that fails for want of the outbox (a store that is down or
// stalls) is tried again, each try bounded by recordTryTimeout, until the delivery's lease
// ends: the attempt is then made again by another claim only when the outbox stayed out
// of reach for the whole lease (receivers tell a repeat by its delivery id). A record the
// outbox refuses (ECONFLICT: it took an earlier try; ENOTFOUND) is not tried again, nor
// one of a worker stopping (ctx done), which leaves the delivery to its lease.
func (w *Worker) record(ctx context.Context, c *claimed, a unmogrowp.Attempt, result string) {
	d := &c.d
	w.total.WithLabelValues(result).Inc()
	if result == metricDelivered {
		w.timing.Observe(a.At.Sub(d.CreatedAt).Seconds())
	}
	// The lease's end in real time: Now may be a test's clock.
	deadline := time.Now().Add(c.until.Sub(w.o.Now()))
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTryTimeout)
		err := w.o.Outbox.Complete(rctx, a)
		cancel()
		switch code := unmogrowp.ErrorCode(err); {
		case err == nil:
			return
		case code == unmogrowp.ECONFLICT || code == unmogrowp.ENOTFOUND || ctx.Err() != nil || !time.Now().Add(wait).Before(deadline):
			w.o.Logger.Warn("record postback attempt", "delivery", d.ID, "err", err)
			return
		}
		time.Sleep(wait)
	}
}

// recordTryTimeout bounds one try to record an attempt: a connection that stalls is given
// up on and the next try takes another.
const recordTryTimeout = 2 * time.Second
