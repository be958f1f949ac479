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
	Concurrency int           // attempts in flight and waiting in all; 0: 256
	Lease       time.Duration // how long a claim holds; 0: 3 times the sender's timeout
	Poll        time.Duration // how often to look for due deliveries when idle; 0: 250 ms
	Registerer  prometheus.Registerer
	Logger      *slog.Logger     // nil: slog.Default()
	Now         func() time.Time // nil: time.Now
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
		o.Concurrency = 256
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
	queue  []claimed
	active int
}

// Run delivers until ctx is done, then stops the attempts in flight (which are not
// recorded: their leases end and another claim makes them again) and returns nil. Errors
// of the outbox are logged and retried at the next poll.
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
	held := 0 // deliveries claimed and not yet done
	done := make(chan string, w.o.Concurrency)
	start := func(name string) {
		h := hosts[name]
		for h.active < w.o.PerHost && len(h.queue) > 0 {
			c := h.queue[0]
			h.queue = h.queue[1:]
			h.active++
			go func() {
				w.attempt(ctx, c)
				done <- name
			}()
		}
	}
	// finish ends an attempt, and reports whether its destination has run low: at most
	// half its limit held, so a claim is worth making for it. A claim per attempt ended
	// would cost the store a query per delivery (and leave the others' slots to fill at
	// the next poll all the same); one per half a limit takes them in batches.
	finish := func(name string) bool {
		h := hosts[name]
		h.active--
		held--
		start(name)
		if h.active == 0 && len(h.queue) == 0 {
			delete(hosts, name)
		}
		return h.active+len(h.queue) <= w.o.PerHost/2
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	look := true                       // time to claim: the poll, a wake, a full last claim, a slot freed
	batch := max(1, w.o.Concurrency/8) // the least worth a claim while busy
	for ctx.Err() == nil {
		if free := w.o.Concurrency - held; look && (free >= batch || held == 0) {
			now := w.o.Now() // the claim's: its leases end at now+Lease
			ds, err := w.claim(ctx, now, free, hosts)
			if err != nil && ctx.Err() == nil {
				w.o.Logger.Error("claim postback deliveries", "err", err)
			}
			for _, d := range ds {
				h := hosts[d.Host]
				if h == nil {
					h = &host{}
					hosts[d.Host] = h
				}
				h.queue = append(h.queue, claimed{d: d, until: now.Add(w.o.Lease)})
				held++
				start(d.Host)
			}
			look = len(ds) == free && err == nil
			if !look {
				timer.Reset(w.o.Poll)
			}
		}
		select {
		case name := <-done:
			if finish(name) {
				look = true // the destination may have more due
			}
		case <-w.wake:
			look = true
		case <-timer.C:
			look = true
		case <-ctx.Done():
		}
	}
	// Stop: waiting deliveries are left to their leases; attempts in flight abort.
	for _, h := range hosts {
		held -= len(h.queue)
		h.queue = nil
	}
	for ; held > 0; held-- {
		<-done
	}
	return nil
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

// claim claims up to limit due deliveries, none of a destination the worker holds
// PerHost of.
func (w *Worker) claim(ctx context.Context, now time.Time, limit int, hosts map[string]*host) ([]unmogrowp.Delivery, error) {
	var except []string
	for name, h := range hosts {
		if h.active+len(h.queue) >= w.o.PerHost {
			except = append(except, name)
		}
	}
	return w.o.Outbox.Claim(ctx, unmogrowp.ClaimRequest{
		Now: now, Limit: limit, Lease: w.o.Lease, PerHost: w.o.PerHost, Except: except,
	})
}

// attempt makes one attempt of a claimed delivery and records it, unless its lease would
// end before the attempt could (it then waits for another claim) or ctx is done.
func (w *Worker) attempt(ctx context.Context, c claimed) {
	d := &c.d
	if w.o.Now().Add(w.o.Sender.Timeout()).After(c.until) {
		return
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
			return
		}
		secret = s
	}
	if o.Result == "" {
		o = w.o.Sender.Send(ctx, d, secret)
	}
	if o.Result == Aborted {
		return
	}
	now := w.o.Now()
	a, result := NextAttempt(d, o, now, w.o.RetryDelays)
	w.total.WithLabelValues(result).Inc()
	if result == metricDelivered {
		w.timing.Observe(now.Sub(d.CreatedAt).Seconds())
	}
	// The attempt was made: record it even if ctx is done now.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.o.Outbox.Complete(rctx, a); err != nil {
		w.o.Logger.Warn("record postback attempt", "delivery", d.ID, "err", err)
	}
}
