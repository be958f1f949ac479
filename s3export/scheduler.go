// Package s3export writes the apps' scheduled exports to S3-compatible object storage
// (docs/export.md, "Scheduled export"): a Scheduler in the serve or consumer process turns
// each ended period into runs, claims them under a lease in the metadata store, so that of
// several processes one writes a given period, renders each report's rows from the
// analytics store into a part (CSV or NDJSON gzipped, or Parquet) and uploads it with a
// _SUCCESS manifest. Periods within the late window are rendered again from time to time,
// and rewritten whole when their rows changed.
package s3export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Defaults of Config.
const (
	DefaultDelay      = 15 * time.Minute
	DefaultLateWindow = 6 * time.Hour
	DefaultInterval   = time.Minute
	DefaultLease      = 15 * time.Minute
	// MaxBackoff bounds the wait before a failed run is tried again.
	MaxBackoff = time.Hour
	// planBatch bounds the periods one export plans per tick (a backfill of 93 days of
	// hours takes a few ticks).
	planBatch = 500
	// claimBatch is how many runs one claim takes.
	claimBatch = 4
)

// DeliveryExporter streams an app's postback deliveries, for the postback_deliveries
// report: package metadata.
type DeliveryExporter interface {
	// ExportDeliveries calls fn with each of the app's deliveries created in [from, to),
	// oldest first (ties by id), and returns fn's first error.
	ExportDeliveries(ctx context.Context, appID string, from, to time.Time, fn func(*unmogrowp.Delivery) error) error
}

// Config is what a Scheduler needs. Store, Results and Key are required.
type Config struct {
	Store      unmogrowp.ExportStore
	Results    unmogrowp.Exporter
	Deliveries DeliveryExporter // nil: the postback_deliveries report's runs fail, saying why
	// Key opens the destinations' secrets (SECRETS_KEY). nil: every run fails, saying
	// that the server has no SECRETS_KEY.
	Key *unmogrowp.SecretKey
	// Open opens a destination's bucket; nil: OpenS3.
	Open Opener
	// Delay is how long after its end a period is written (EXPORT_DELAY); LateWindow how
	// long after that its rows are compared with what was written, and the period
	// rewritten when they changed (EXPORT_LATE_WINDOW). 0: the defaults.
	Delay, LateWindow time.Duration
	// LateCheck is how often a period within the late window is rendered again and
	// compared with what was written (EXPORT_LATE_CHECK); 0: a 24th of LateWindow.
	LateCheck time.Duration
	// Interval is how often the scheduler looks for work; a failed run waits Interval,
	// then twice that, and so on up to MaxBackoff. 0: DefaultInterval.
	Interval time.Duration
	// Lease is how long a claim holds a run: a process that dies while writing one leaves
	// it to another after that. 0: DefaultLease.
	Lease  time.Duration
	TmpDir string // where parts are written before upload; "": os.TempDir()
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
}

// Scheduler runs the scheduled exports. Any number of processes may run one on the same
// metadata store: each run is claimed by one at a time.
type Scheduler struct{ cfg Config }

// New returns a scheduler of cfg.
func New(cfg Config) *Scheduler {
	if cfg.Delay <= 0 {
		cfg.Delay = DefaultDelay
	}
	if cfg.LateWindow <= 0 {
		cfg.LateWindow = DefaultLateWindow
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.LateCheck <= 0 {
		cfg.LateCheck = cfg.LateWindow / 24
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Open == nil {
		cfg.Open = OpenS3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Scheduler{cfg: cfg}
}

// Recheck is how often a written period is rendered again to look for late data:
// LateCheck, at least Interval.
func (s *Scheduler) Recheck() time.Duration { return max(s.cfg.Interval, s.cfg.LateCheck) }

// Run ticks every Interval until ctx is done, logging what a tick fails at, and returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("scheduled exports", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick plans the runs of the periods that became due and works through every run due
// now: it returns when none is left (a destination's failure is recorded in its run, not
// returned). It returns the metadata store's error.
func (s *Scheduler) Tick(ctx context.Context) error {
	exports, err := s.cfg.Store.ScheduledExports(ctx, "")
	if err != nil {
		return fmt.Errorf("list exports: %w", err)
	}
	byID := make(map[string]*unmogrowp.ScheduledExport, len(exports))
	for i := range exports {
		e := &exports[i]
		byID[e.ID] = e
		if err := s.plan(ctx, e); err != nil && unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
			return fmt.Errorf("plan export %s: %w", e.ID, err)
		}
	}
	for ctx.Err() == nil {
		leaseEnd := time.Now().Add(s.cfg.Lease)
		runs, err := s.cfg.Store.ClaimExportRuns(ctx, unmogrowp.ExportRunClaim{
			Now: s.cfg.Now(), Lease: s.cfg.Lease, Limit: claimBatch,
			Delay: s.cfg.Delay, LateWindow: s.cfg.LateWindow, Recheck: s.Recheck(),
		})
		if err != nil {
			return fmt.Errorf("claim export runs: %w", err)
		}
		if len(runs) == 0 {
			return nil
		}
		for _, r := range runs {
			e := byID[r.ExportID]
			if e == nil { // created after the list
				if e, err = s.cfg.Store.ScheduledExport(ctx, r.AppID, r.ExportID); err != nil {
					continue // deleted meanwhile: its runs are gone with it
				}
			}
			if err := s.runOne(ctx, e, r, leaseEnd); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// plan adds the runs of e's periods that have ended Delay ago and have none yet.
func (s *Scheduler) plan(ctx context.Context, e *unmogrowp.ScheduledExport) error {
	now := s.cfg.Now()
	p := e.Start
	if e.PlannedUntil.After(p) {
		p = e.PlannedUntil
	}
	var runs []unmogrowp.ExportRun
	var until time.Time
	for n := 0; n < planBatch; n++ {
		start, end := e.Period(p)
		if end.Add(s.cfg.Delay).After(now) {
			break
		}
		for _, report := range e.Reports {
			runs = append(runs, unmogrowp.ExportRun{
				ExportID: e.ID, AppID: e.AppID, Report: report, PeriodStart: start, PeriodEnd: end,
				NextAttemptAt: end.Add(s.cfg.Delay),
			})
		}
		p, until = end, end
	}
	if until.IsZero() {
		return nil
	}
	return s.cfg.Store.PlanExportRuns(ctx, e.ID, until, runs)
}

// manifest is the _SUCCESS object of a period.
type manifest struct {
	AppID       string         `json:"app_id"`
	ExportID    string         `json:"export_id"`
	Report      string         `json:"report"`
	Format      string         `json:"format"`
	PeriodStart time.Time      `json:"period_start"`
	PeriodEnd   time.Time      `json:"period_end"`
	WrittenAt   time.Time      `json:"written_at"`
	Rows        int64          `json:"rows"`
	Parts       []manifestPart `json:"parts"`
}

type manifestPart struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// contentTypes of the parts by format.
var contentTypes = map[string]string{
	unmogrowp.FileCSVGzip:    "application/gzip",
	unmogrowp.FileNDJSONGzip: "application/gzip",
	unmogrowp.FileParquet:    "application/vnd.apache.parquet",
}

// runOne renders r's period and writes it when it was never written, or when its rows
// changed since (late data), then records the outcome. A failure to render or upload is
// recorded in the run, which is retried with backoff; only the metadata store's errors
// are returned. The upload must end by leaseEnd, when the claim lets the run go: a
// destination that stalls fails the run then, rather than holding the scheduler, whose
// runs go one at a time.
func (s *Scheduler) runOne(ctx context.Context, e *unmogrowp.ScheduledExport, r unmogrowp.ExportRun, leaseEnd time.Time) error {
	checked := s.cfg.Now()
	part, err := s.render(ctx, e, r)
	if part != nil {
		defer os.Remove(part.Path)
	}
	written := r.Status == unmogrowp.RunSucceeded || !r.WrittenAt.IsZero()
	switch {
	case err != nil:
	case r.Status == unmogrowp.RunSucceeded && part.SHA256 == r.SHA256:
		// The rows are those written: nothing late.
		r.CheckedAt = checked
		return s.complete(ctx, r)
	default:
		uctx, cancel := context.WithDeadline(ctx, leaseEnd)
		err = s.upload(uctx, e, r, part, checked)
		if err != nil && ctx.Err() == nil && uctx.Err() != nil {
			err = fmt.Errorf("the destination did not take the export before the run's lease ended (%v after its claim): %w", s.cfg.Lease, err)
		}
		cancel()
	}
	r.Attempts++
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // stopping: the lease runs out and another claim retries
		}
		successes := 0
		if written {
			successes = 1 + r.Rewrites
		}
		r.Status, r.Error = unmogrowp.RunFailed, err.Error()
		r.NextAttemptAt = s.cfg.Now().Add(backoff(s.cfg.Interval, r.Attempts-successes))
		s.cfg.Logger.Warn("scheduled export run failed", "export_id", e.ID, "app_id", e.AppID, "report", r.Report,
			"period_start", r.PeriodStart, "attempts", r.Attempts, "err", err)
		return s.complete(ctx, r)
	}
	if written {
		r.Rewrites++
	}
	r.Status, r.Error = unmogrowp.RunSucceeded, ""
	r.Rows, r.Bytes, r.SHA256 = part.Rows, part.Bytes, part.SHA256
	r.WrittenAt, r.CheckedAt = s.cfg.Now(), checked
	return s.complete(ctx, r)
}

// complete records r, ignoring a lost lease (another process took the run over) and a
// deleted export.
func (s *Scheduler) complete(ctx context.Context, r unmogrowp.ExportRun) error {
	err := s.cfg.Store.CompleteExportRun(ctx, r)
	switch unmogrowp.ErrorCode(err) {
	case "":
		return nil
	case unmogrowp.ECONFLICT, unmogrowp.ENOTFOUND:
		s.cfg.Logger.Warn("scheduled export run not recorded", "export_id", r.ExportID, "report", r.Report, "err", err)
		return nil
	}
	return fmt.Errorf("complete export run: %w", err)
}

// backoff is the wait after the failures-th failure in a row: base, doubled each time, at
// most MaxBackoff.
func backoff(base time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// render writes r's rows into a part file.
func (s *Scheduler) render(ctx context.Context, e *unmogrowp.ScheduledExport, r unmogrowp.ExportRun) (*Part, error) {
	part, pw, finish, err := newPart(s.cfg.TmpDir, r.Report, e.Format)
	if err != nil {
		return nil, err
	}
	write := func(row []unmogrowp.ExportValue) error {
		part.Rows++
		return pw.WriteRow(row)
	}
	q := unmogrowp.ExportQuery{AppID: e.AppID, Report: r.Report, From: r.PeriodStart, To: r.PeriodEnd}
	switch r.Report {
	case unmogrowp.ExportSKANPostbacks:
		// No store holds SKAN postbacks yet: the part has no rows.
	case unmogrowp.ExportPostbackDeliveries:
		if s.cfg.Deliveries == nil {
			err = errors.New("the delivery log is not available on this server")
			break
		}
		row := make([]unmogrowp.ExportValue, len(unmogrowp.ExportFields[r.Report]))
		err = s.cfg.Deliveries.ExportDeliveries(ctx, e.AppID, q.From, q.To, func(d *unmogrowp.Delivery) error {
			unmogrowp.DeliveryRow(row, d)
			return write(row)
		})
	default:
		err = s.cfg.Results.Export(ctx, q, write)
	}
	if ferr := finish(); err == nil {
		err = ferr
	}
	if err != nil {
		return part, fmt.Errorf("read %s rows: %w", r.Report, err)
	}
	return part, nil
}

// upload writes the part, then the _SUCCESS manifest that lists it: a reader that finds
// _SUCCESS finds the part it names (an object is replaced whole).
func (s *Scheduler) upload(ctx context.Context, e *unmogrowp.ScheduledExport, r unmogrowp.ExportRun, part *Part, at time.Time) error {
	if s.cfg.Key == nil {
		return errors.New("SECRETS_KEY is not set on this server, so the destination's secret cannot be read")
	}
	d := e.Destination
	secret, err := s.cfg.Key.Open(d.SealedSecret, e.AppID)
	if err != nil {
		return fmt.Errorf("destination secret: %w (was SECRETS_KEY changed?)", err)
	}
	d.SecretAccessKey = secret
	b, err := s.cfg.Open(d)
	if err != nil {
		return err
	}
	dir := e.ObjectDir(r.Report, r.PeriodStart)
	f, err := os.Open(part.Path)
	if err != nil {
		return fmt.Errorf("open part: %w", err)
	}
	defer f.Close()
	if err := b.Put(ctx, dir+part.Name, f, part.Bytes, contentTypes[e.Format]); err != nil {
		return err
	}
	m, err := json.MarshalIndent(manifest{
		AppID: e.AppID, ExportID: e.ID, Report: r.Report, Format: e.Format,
		PeriodStart: r.PeriodStart.UTC(), PeriodEnd: r.PeriodEnd.UTC(), WrittenAt: at.UTC(), Rows: part.Rows,
		Parts: []manifestPart{{Name: part.Name, Rows: part.Rows, Bytes: part.Bytes, SHA256: part.SHA256}},
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	m = append(m, '\n')
	return b.Put(ctx, dir+"_SUCCESS", bytes.NewReader(m), int64(len(m)), "application/json")
}
