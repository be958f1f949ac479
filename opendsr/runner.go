package opendsr

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/postback"
)

// Defaults for RunnerOptions.
const (
	DefaultPoll   = time.Second
	DefaultLease  = 5 * time.Minute
	DefaultSettle = 2 * time.Second
)

// maxPasses bounds the deletion passes of one attempt: a pass that finds rows stored
// since the previous one deletes them and looks again.
const maxPasses = 5

// Analytics is what the runner needs of the analytics store.
type Analytics interface {
	unmogrowp.SubjectStore
	Events(ctx context.Context, f unmogrowp.EventFilter) ([]unmogrowp.Event, error)
	Installs(ctx context.Context, f unmogrowp.InstallFilter) ([]unmogrowp.Install, string, error)
	Watermarks(ctx context.Context) (map[int32]int64, error)
}

// RunnerOptions configure a Runner. Requests and Analytics are required.
type RunnerOptions struct {
	Requests  unmogrowp.SubjectRequestStore
	Analytics Analytics
	// Forget are the hot state and the deduplicator of the process: each forgets the
	// erased devices.
	Forget []unmogrowp.Forgetter
	// Signer signs the callbacks; nil sends none.
	Signer *Signer
	// Sender posts the callbacks (its dialer refuses private addresses unless it was
	// made with AllowPrivate, as POSTBACK_ALLOW_PRIVATE says).
	Sender *postback.Sender
	// Domain is the processor's domain for HeaderProcessorDomain: PUBLIC_URL's host.
	Domain string
	// ResultsURL returns the URL of a request's access file.
	ResultsURL func(appID, id string) string
	// LogRetention is how long the raw log keeps a processed record: a completed
	// erasure's log_purged_by is its completion plus this.
	LogRetention time.Duration
	// Settle is how long after a request is received its deletion starts, so that a batch
	// the pipeline filtered before the tombstones existed is stored first; default
	// DefaultSettle. Poll is how often the runner looks for requests (Wake is at once);
	// Lease how long a claim holds a request.
	Settle, Poll, Lease time.Duration
	Logger              *slog.Logger
	Now                 func() time.Time
}

// Runner carries out subject requests: any number of processes may run one, the store's
// leases give each request to one at a time, and a request whose process stopped is
// claimed again once its lease ends (pending and in-progress requests resume after a
// restart).
type Runner struct {
	o    RunnerOptions
	log  *slog.Logger
	wake chan struct{}
	wg   sync.WaitGroup // callbacks in flight
}

// NewRunner returns a runner; Run starts it.
func NewRunner(o RunnerOptions) *Runner {
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Settle <= 0 {
		o.Settle = DefaultSettle
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sender == nil {
		o.Sender = postback.NewSender(postback.SenderOptions{})
	}
	if o.ResultsURL == nil {
		o.ResultsURL = func(appID, id string) string {
			return "/api/apps/" + appID + "/opendsr/requests/" + id + "/results"
		}
	}
	return &Runner{o: o, log: o.Logger.With("component", "opendsr"), wake: make(chan struct{}, 1)}
}

// Wake makes Run look for requests now: the API calls it after storing one.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run carries out requests until ctx is done, then waits for the callbacks in flight.
func (r *Runner) Run(ctx context.Context) {
	defer r.wg.Wait()
	prune := time.Now()
	for {
		for ctx.Err() == nil && r.RunOnce(ctx) {
		}
		if time.Since(prune) > time.Hour {
			if _, err := r.o.Requests.PruneSubjectRequestFiles(ctx, r.o.Now()); err != nil && ctx.Err() == nil {
				r.log.Error("prune access files", "err", err)
			}
			prune = time.Now()
		}
		t := time.NewTimer(r.o.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// RunOnce claims one request and carries it out, and reports whether there was one.
func (r *Runner) RunOnce(ctx context.Context) bool {
	req, err := r.o.Requests.ClaimSubjectRequest(ctx, r.o.Now(), r.o.Lease)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("claim a subject request", "err", err)
		}
		return false
	}
	if req == nil {
		return false
	}
	if req.Attempts == 1 {
		r.callback(req) // pending → in_progress
	}
	begin := r.o.Now()
	var file []byte
	switch req.Type {
	case unmogrowp.RequestErasure:
		err = r.erase(ctx, req)
	default:
		file, err = r.access(ctx, req)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false // the lease runs out and another run takes it
		}
		r.log.Error("subject request failed; retried", "app_id", req.AppID, "subject_request_id", req.ID, "attempt", req.Attempts, "err", err)
		req.Error = unmogrowp.ErrorMessage(err)
		if err := r.o.Requests.FinishSubjectRequest(context.WithoutCancel(ctx), req, nil); err != nil {
			r.log.Error("record a failed attempt", "err", err)
		}
		return false
	}
	now := r.o.Now()
	req.Status, req.Completed = unmogrowp.RequestCompleted, now
	if req.Type == unmogrowp.RequestErasure {
		req.LogPurgedBy = now.Add(r.o.LogRetention)
	}
	if err := r.o.Requests.FinishSubjectRequest(context.WithoutCancel(ctx), req, file); err != nil {
		r.log.Error("record a completed request; it is carried out again", "err", err)
		return false
	}
	r.log.Info("subject request completed", "app_id", req.AppID, "subject_request_id", req.ID, "type", req.Type,
		"took", now.Sub(begin).Round(time.Millisecond), "since_received", now.Sub(req.Received).Round(time.Millisecond))
	r.callback(req)
	return true
}

// erase deletes the subject from every store, then counts what is left, in passes until
// a count finds nothing. The tombstones, made with the request, keep new records of it
// out meanwhile.
func (r *Runner) erase(ctx context.Context, req *unmogrowp.SubjectRequest) error {
	if wait := req.Received.Add(r.o.Settle).Sub(r.o.Now()); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	sub := unmogrowp.SubjectOf(req)
	for pass := 1; ; pass++ {
		resolved, err := r.o.Analytics.ResolveSubject(ctx, sub)
		if err != nil {
			return err
		}
		tps, err := r.o.Analytics.SubjectTouchpoints(ctx, resolved)
		if err != nil {
			return err
		}
		for _, tp := range tps {
			if !slices.Contains(resolved.TouchpointIDs, tp.ID) {
				resolved.TouchpointIDs = append(resolved.TouchpointIDs, tp.ID)
			}
		}
		// The identities the devices carry are theirs too: a later click with the
		// device's advertising id is kept out as one with its device id is.
		var ts []unmogrowp.Tombstone
		for f, vs := range resolved.Raw {
			for _, v := range vs {
				ts = append(ts, unmogrowp.Tombstone{AppID: req.AppID, Field: f, Hash: unmogrowp.HashIdentity(v), RequestID: req.ID})
			}
		}
		if err := r.o.Requests.AddTombstones(ctx, ts); err != nil {
			return err
		}
		// What is stored after these marks, the deletion may not have seen.
		marks, err := r.o.Analytics.Watermarks(ctx)
		if err != nil {
			return err
		}
		if _, err := r.o.Analytics.EraseSubject(ctx, resolved); err != nil {
			return err
		}
		devices := resolved.Raw[unmogrowp.FieldDeviceID]
		if _, err := r.o.Requests.EraseDevices(ctx, req.AppID, devices); err != nil {
			return err
		}
		for _, f := range r.o.Forget {
			if err := f.Forget(ctx, req.AppID, devices, resolved.TouchpointIDs, resolved.EventIDs); err != nil {
				return err
			}
		}
		// Clean when nothing of the subject was stored since the marks: a batch the
		// pipeline filtered before the tombstones and stored after the deletion would
		// show here. Rows at or below them were there for the deletion to delete.
		resolved.After = marks
		left, err := r.o.Analytics.CountSubject(ctx, resolved)
		if err != nil {
			return err
		}
		if left == 0 {
			return nil
		}
		if pass == maxPasses {
			return fmt.Errorf("erase: rows of the subject were stored again after %d passes", pass)
		}
		sub = resolved // the next pass starts from what this one found
		sub.EventIDs, sub.After = nil, nil
	}
}

// access writes the subject's NDJSON file: one object a line, "kind" event, touchpoint or
// install, the others the API's names.
func (r *Runner) access(ctx context.Context, req *unmogrowp.SubjectRequest) ([]byte, error) {
	resolved, err := r.o.Analytics.ResolveSubject(ctx, unmogrowp.SubjectOf(req))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	rows := int64(0)
	write := func(v any) error {
		rows++
		return enc.Encode(v)
	}
	for _, d := range resolved.Raw[unmogrowp.FieldDeviceID] {
		events, err := r.o.Analytics.Events(ctx, unmogrowp.EventFilter{AppID: req.AppID, DeviceID: d})
		if err != nil {
			return nil, err
		}
		for i := range events {
			if err := write(EventRow(&events[i])); err != nil {
				return nil, err
			}
		}
		installs, _, err := r.o.Analytics.Installs(ctx, unmogrowp.InstallFilter{AppID: req.AppID, DeviceID: d})
		if err != nil {
			return nil, err
		}
		for i := range installs {
			if err := write(installRow{Kind: "install", Attribution: installs[i].Attribution}); err != nil {
				return nil, err
			}
		}
	}
	tps, err := r.o.Analytics.SubjectTouchpoints(ctx, resolved)
	if err != nil {
		return nil, err
	}
	for i := range tps {
		if err := write(TouchpointRow(&tps[i])); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	req.Results, req.ResultsExpire = rows, r.o.Now().Add(ResultsTTL)
	if buf.Len() == 0 {
		return []byte{}, nil // an empty file, not none
	}
	return buf.Bytes(), nil
}

// installRow is an install decision in the access file: the attribution object.
type installRow struct {
	Kind string `json:"kind"`
	unmogrowp.Attribution
}

// MarshalJSON writes the attribution object with "kind" first.
func (r installRow) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(r.Attribution)
	if err != nil || len(b) < 2 || b[0] != '{' {
		return b, err
	}
	out := append([]byte(`{"kind":"install"`), ',')
	if len(b) == 2 {
		out = out[:len(out)-1]
	}
	return append(out, b[1:]...), nil
}

// callback posts r's status to each of its callback URLs, signed, in the background,
// up to three attempts each (OpenDSR: at least once; retried when it may help).
func (r *Runner) callback(req *unmogrowp.SubjectRequest) {
	if r.o.Signer == nil || len(req.CallbackURLs) == 0 {
		return
	}
	now := r.o.Now()
	for _, u := range req.CallbackURLs {
		st := Status(req, r.o.ResultsURL(req.AppID, req.ID), now)
		st.StatusCallbackURL = u
		body, err := json.Marshal(st)
		if err != nil {
			r.log.Error("encode a callback", "err", err)
			continue
		}
		sig := r.o.Signer.Sign(body)
		d := &unmogrowp.Delivery{
			ID: req.ID + "." + req.Status, Method: "POST", URL: u, Body: body,
			Headers: map[string]string{
				"Content-Type": "application/json", HeaderSignature: sig, HeaderGDPRSignature: sig,
				HeaderProcessorDomain: r.o.Domain, HeaderGDPRProcessorDom: r.o.Domain,
			},
		}
		r.wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for attempt := 1; ; attempt++ {
				out := r.o.Sender.Send(ctx, d, "")
				if out.Result == postback.Delivered {
					return
				}
				if out.Result != postback.Retry || attempt == 3 {
					r.log.Warn("status callback not delivered", "subject_request_id", req.ID, "status", req.Status,
						"result", out.Result, "http_status", out.HTTPStatus, "err", out.Error)
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(attempt) * time.Second):
				}
			}
		})
	}
}
