package unmogrowp

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Cadences of a scheduled export: how long one period is.
const (
	CadenceHourly = "hourly" // one period per UTC hour
	CadenceDaily  = "daily"  // one period per UTC day
)

// File formats of a scheduled export's objects.
const (
	FileCSVGzip    = "csv.gz"    // the pulled export's CSV, gzip-compressed
	FileNDJSONGzip = "ndjson.gz" // the pulled export's NDJSON, gzip-compressed
	FileParquet    = "parquet"   // Apache Parquet, typed columns
)

// Statuses of an export run.
const (
	RunPending   = "pending"   // not written yet: its period has ended, it waits for its turn
	RunSucceeded = "succeeded" // its objects and _SUCCESS are written
	RunFailed    = "failed"    // the last attempt failed; it is retried with backoff
)

// MaxScheduledExportBackfill is how far before its creation a scheduled export may start.
const MaxScheduledExportBackfill = MaxExportRange

// ScheduledExport writes an app's raw reports to object storage, one set of objects per
// period of its cadence once the period has ended (docs/export.md, "Scheduled export").
type ScheduledExport struct {
	ID          string
	AppID       string
	Reports     []string // of ExportReports, each at most once
	Format      string   // FileCSVGzip, FileNDJSONGzip or FileParquet
	Cadence     string   // CadenceHourly or CadenceDaily
	Destination S3Destination
	// Start is the start of the first period written (a period boundary); the zero value
	// on creation means the period that holds CreatedAt.
	Start     time.Time
	CreatedAt time.Time
	// PlannedUntil is the end of the last period whose runs exist (zero before the first):
	// the scheduler adds the runs of the periods after it.
	PlannedUntil time.Time
}

// S3Destination is an S3-compatible bucket and where in it an export writes.
type S3Destination struct {
	Type      string // "s3"
	Endpoint  string // https://s3.eu-west-1.amazonaws.com, http://127.0.0.1:9000 (a URL, or a host[:port] taken as https)
	Region    string
	Bucket    string
	Prefix    string // the keys' start, "" or ending in "/"
	PathStyle bool   // bucket in the path (MinIO, SeaweedFS...) instead of the host name
	// AccessKeyID is shown by the API; SecretAccessKey never is. In a store,
	// SecretAccessKey is empty and SealedSecret holds it encrypted (SecretKey.Seal).
	AccessKeyID     string
	SecretAccessKey string
	SealedSecret    []byte
}

// Period returns the period of the export's cadence that holds t: [start, end) in UTC.
func (e *ScheduledExport) Period(t time.Time) (start, end time.Time) {
	t = t.UTC()
	if e.Cadence == CadenceHourly {
		start = t.Truncate(time.Hour)
		return start, start.Add(time.Hour)
	}
	start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 0, 1)
}

// Extension is the object name's extension of the export's format.
func (e *ScheduledExport) Extension() string { return e.Format }

// ObjectDir is the key prefix of one report's period:
// <prefix>app_id=<id>/report=<r>/dt=YYYY-MM-DD/[hour=HH/].
func (e *ScheduledExport) ObjectDir(report string, start time.Time) string {
	start = start.UTC()
	dir := fmt.Sprintf("%sapp_id=%s/report=%s/dt=%s/", e.Destination.Prefix, e.AppID, report, start.Format(time.DateOnly))
	if e.Cadence == CadenceHourly {
		dir += fmt.Sprintf("hour=%02d/", start.Hour())
	}
	return dir
}

// Validate normalizes e (lower-cases the format and cadence, trims the destination's
// strings, adds the prefix's trailing "/", sets Start to its period's start) and returns an
// *Error with code EINVALID naming the first field that is wrong: reports (empty, unknown
// or repeated), format, cadence, start (after now, or more than MaxScheduledExportBackfill
// before it), destination.type, destination.endpoint (not an http(s) URL or host),
// destination.bucket, destination.prefix, destination.access_key_id,
// destination.secret_access_key (required unless sealed is set).
func (e *ScheduledExport) Validate(now time.Time) error {
	if len(e.Reports) == 0 {
		return Errorf(EINVALID, "reports: at least one report is required: %s.", strings.Join(ExportReports, ", "))
	}
	for i, r := range e.Reports {
		if !slices.Contains(ExportReports, r) {
			return Errorf(EINVALID, "reports: %q is not a report; the reports are %s.", r, strings.Join(ExportReports, ", "))
		}
		if slices.Contains(e.Reports[:i], r) {
			return Errorf(EINVALID, "reports: %q is given twice.", r)
		}
	}
	e.Format, e.Cadence = strings.ToLower(e.Format), strings.ToLower(e.Cadence)
	switch {
	case !slices.Contains([]string{FileCSVGzip, FileNDJSONGzip, FileParquet}, e.Format):
		return Errorf(EINVALID, "format must be csv.gz, ndjson.gz or parquet.")
	case e.Cadence != CadenceHourly && e.Cadence != CadenceDaily:
		return Errorf(EINVALID, "cadence must be hourly or daily.")
	}
	if !e.Start.IsZero() {
		switch {
		case e.Start.After(now):
			return Errorf(EINVALID, "start must not be in the future.")
		case now.Sub(e.Start) > MaxScheduledExportBackfill:
			return Errorf(EINVALID, "start must be at most 93 days ago.")
		}
		e.Start, _ = e.Period(e.Start)
	}
	return e.Destination.validate()
}

func (d *S3Destination) validate() error {
	d.Type = strings.ToLower(strings.TrimSpace(d.Type))
	d.Endpoint, d.Region = strings.TrimSpace(d.Endpoint), strings.TrimSpace(d.Region)
	d.Bucket, d.AccessKeyID = strings.TrimSpace(d.Bucket), strings.TrimSpace(d.AccessKeyID)
	d.Prefix = strings.TrimLeft(d.Prefix, "/")
	if d.Prefix != "" && !strings.HasSuffix(d.Prefix, "/") {
		d.Prefix += "/"
	}
	switch {
	case d.Type != "s3":
		return Errorf(EINVALID, `destination.type must be "s3".`)
	case d.Endpoint == "":
		return Errorf(EINVALID, "destination.endpoint is required (such as https://s3.eu-west-1.amazonaws.com).")
	case !validEndpoint(d.Endpoint):
		return Errorf(EINVALID, "destination.endpoint must be an http or https URL with a host and nothing after it, or a host[:port].")
	case d.Bucket == "" || len(d.Bucket) > 63 || strings.ContainsAny(d.Bucket, "/ \\"):
		return Errorf(EINVALID, "destination.bucket must be a bucket name (1 to 63 characters, no slash).")
	case len(d.Prefix) > 512 || strings.Contains(d.Prefix, "//"):
		return Errorf(EINVALID, "destination.prefix must be at most 512 characters, without an empty segment (//).")
	case d.AccessKeyID == "":
		return Errorf(EINVALID, "destination.access_key_id is required.")
	case d.SecretAccessKey == "" && len(d.SealedSecret) == 0:
		return Errorf(EINVALID, "destination.secret_access_key is required.")
	}
	return nil
}

// validEndpoint reports whether s is an http(s) URL with a host and no path beyond "/",
// query or credentials, or a bare host[:port].
func validEndpoint(s string) bool {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.User == nil && u.Fragment == ""
}

// ExportRun is one report's period of a scheduled export: whether its objects are written,
// what they hold, and the attempts to write them.
type ExportRun struct {
	ExportID    string
	AppID       string
	Report      string
	PeriodStart time.Time
	PeriodEnd   time.Time
	Status      string // RunPending, RunSucceeded or RunFailed
	Rows        int64  // of the part written last
	Bytes       int64  // of the part written last
	SHA256      string // hex, of the part written last
	Error       string // of the last attempt that failed; "" once one succeeds
	Attempts    int    // writes tried, rewrites for late data included
	Rewrites    int    // writes after the first success: late data
	// NextAttemptAt is when a pending or failed run is tried (again).
	NextAttemptAt time.Time
	WrittenAt     time.Time // of the last successful write; zero before
	// CheckedAt is when the period's rows were last compared with what was written (late
	// data); zero before the first write.
	CheckedAt  time.Time
	LeaseToken string // of the claim that holds the run; "" in lists
}

// ExportRunClaim asks the export store for the runs a scheduler may work on now.
type ExportRunClaim struct {
	Now   time.Time
	Lease time.Duration // how long the claim holds the runs
	Limit int
	// LateWindow and Recheck: a succeeded run is claimed again to look for late data when
	// CheckedAt is at least Recheck old and before PeriodEnd+Delay+LateWindow.
	Delay, LateWindow, Recheck time.Duration
}

// ExportStore keeps the apps' scheduled exports and their runs: package metadata.
type ExportStore interface {
	// CreateScheduledExport stores e (validated by the caller, its secret sealed) with a new
	// ID, CreatedAt set to now and Start to the period of now when zero. Returns ENOTFOUND
	// for an unknown app.
	CreateScheduledExport(ctx context.Context, e *ScheduledExport, now time.Time) error
	// ScheduledExport returns the app's export. Returns ENOTFOUND for another app's or a
	// missing one.
	ScheduledExport(ctx context.Context, appID, id string) (*ScheduledExport, error)
	// ScheduledExports lists the app's exports, oldest first; appID "" lists every app's.
	ScheduledExports(ctx context.Context, appID string) ([]ScheduledExport, error)
	// DeleteScheduledExport deletes the export and its runs (the objects it wrote stay).
	// Returns ENOTFOUND for another app's or a missing one.
	DeleteScheduledExport(ctx context.Context, appID, id string) error

	// PlanExportRuns adds each of runs (all of the export exportID) that does not exist
	// yet, by report and period start, as RunPending, due at its NextAttemptAt (runs that
	// exist are left as they are), and moves the export's PlannedUntil to until, in one
	// transaction. Returns ENOTFOUND when the export is gone.
	PlanExportRuns(ctx context.Context, exportID string, until time.Time, runs []ExportRun) error
	// ClaimExportRuns leases up to c.Limit runs that are due (pending or failed with
	// NextAttemptAt <= c.Now, or succeeded and due for a late-data check) and not leased
	// by another claim, oldest period first, and returns them with their LeaseToken.
	// Concurrent claims, of any process, never return the same run while its lease holds.
	ClaimExportRuns(ctx context.Context, c ExportRunClaim) ([]ExportRun, error)
	// CompleteExportRun records the outcome of a claimed run (r's Status, Rows, Bytes,
	// SHA256, Error, Attempts, Rewrites, NextAttemptAt, WrittenAt, CheckedAt) and ends
	// its lease. Returns ECONFLICT when r.LeaseToken no longer holds it, ENOTFOUND when
	// the run is gone (its export deleted).
	CompleteExportRun(ctx context.Context, r ExportRun) error
	// ExportRuns lists an export's runs, newest period first, then by report, at most
	// limit. Returns ENOTFOUND for another app's or a missing export.
	ExportRuns(ctx context.Context, appID, exportID string, limit int) ([]ExportRun, error)
}
