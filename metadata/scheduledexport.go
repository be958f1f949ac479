package metadata

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.ExportStore = (*DB)(nil)

// ScheduledExportIDPrefix starts the id of a scheduled export.
const ScheduledExportIDPrefix = "exp_"

// scheduledExportColumns are the columns scanScheduledExport reads, in its order.
const scheduledExportColumns = `id, app_id, reports, format, cadence, dest_type, endpoint, region,
	bucket, prefix, path_style, access_key_id, secret_sealed, start_at, created_at, planned_until`

// exportRunColumns are the columns scanExportRun reads, in its order.
const exportRunColumns = `export_id, app_id, report, period_start, period_end, status, rows_written,
	bytes_written, sha256, last_error, attempts, rewrites, next_attempt_at, written_at, checked_at,
	lease_token`

func errScheduledExportNotFound() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such export.")
}

// CreateScheduledExport implements unmogrowp.ExportStore. The destination's secret must
// be sealed already (SealedSecret): the store keeps no secret in the clear.
func (db *DB) CreateScheduledExport(ctx context.Context, e *unmogrowp.ScheduledExport, now time.Time) error {
	if len(e.Destination.SealedSecret) == 0 {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "destination.secret_access_key must be sealed before it is stored.")
	}
	if !db.d.storable(e.AppID) {
		return errAppNotFound()
	}
	id, err := unmogrowp.NewID(ScheduledExportIDPrefix)
	if err != nil {
		return fmt.Errorf("create export: %w", err)
	}
	reports, err := json.Marshal(e.Reports)
	if err != nil {
		return fmt.Errorf("create export: %w", err)
	}
	created := now.UTC().Truncate(time.Microsecond)
	start := e.Start
	if start.IsZero() {
		start, _ = e.Period(created)
	}
	d := e.Destination
	if _, err := db.write.ExecContext(ctx, db.q(`INSERT INTO scheduled_exports (`+scheduledExportColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`),
		id, e.AppID, string(reports), e.Format, e.Cadence, d.Type, d.Endpoint, d.Region, d.Bucket,
		d.Prefix, d.PathStyle, d.AccessKeyID, d.SealedSecret, start.UnixMicro(), created.UnixMicro()); err != nil {
		if db.d.broke(err, foreignKey, "") {
			return errAppNotFound()
		}
		return db.fail("create export", err)
	}
	e.ID, e.CreatedAt, e.Start, e.PlannedUntil = id, created, start.UTC(), time.Time{}
	e.Destination.SecretAccessKey = ""
	return nil
}

// ScheduledExport implements unmogrowp.ExportStore.
func (db *DB) ScheduledExport(ctx context.Context, appID, id string) (*unmogrowp.ScheduledExport, error) {
	if !db.d.storable(appID) || !db.d.storable(id) {
		return nil, errScheduledExportNotFound()
	}
	return found[*unmogrowp.ScheduledExport](db, "get export", errScheduledExportNotFound)(scanScheduledExport(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+scheduledExportColumns+` FROM scheduled_exports WHERE id = ? AND app_id = ?`), id, appID)))
}

// ScheduledExports implements unmogrowp.ExportStore.
func (db *DB) ScheduledExports(ctx context.Context, appID string) ([]unmogrowp.ScheduledExport, error) {
	if !db.d.storable(appID) {
		return []unmogrowp.ScheduledExport{}, nil
	}
	q, args := `SELECT `+scheduledExportColumns+` FROM scheduled_exports ORDER BY created_at, id`, []any{}
	if appID != "" {
		q = `SELECT ` + scheduledExportColumns + ` FROM scheduled_exports WHERE app_id = ? ORDER BY created_at, id`
		args = append(args, appID)
	}
	rows, err := db.read.QueryContext(ctx, db.q(q), args...)
	if err != nil {
		return nil, db.fail("list exports", err)
	}
	es, err := collect(db, rows, "list exports", scanScheduledExport)
	if err != nil {
		return nil, err
	}
	out := make([]unmogrowp.ScheduledExport, len(es))
	for i, e := range es {
		out[i] = *e
	}
	return out, nil
}

// DeleteScheduledExport implements unmogrowp.ExportStore; the foreign key's cascade
// deletes the runs.
func (db *DB) DeleteScheduledExport(ctx context.Context, appID, id string) error {
	if !db.d.storable(appID) || !db.d.storable(id) {
		return errScheduledExportNotFound()
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM scheduled_exports WHERE id = ? AND app_id = ?`), id, appID)
	if err != nil {
		return db.fail("delete export", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.fail("delete export", err)
	} else if n == 0 {
		return errScheduledExportNotFound()
	}
	return nil
}

func scanScheduledExport(row scanner) (*unmogrowp.ScheduledExport, error) {
	var e unmogrowp.ScheduledExport
	var reports string
	var start, created, planned int64
	d := &e.Destination
	if err := row.Scan(&e.ID, &e.AppID, &reports, &e.Format, &e.Cadence, &d.Type, &d.Endpoint, &d.Region,
		&d.Bucket, &d.Prefix, &d.PathStyle, &d.AccessKeyID, &d.SealedSecret, &start, &created, &planned); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(reports), &e.Reports); err != nil {
		return nil, fmt.Errorf("export %s: decode reports: %w", e.ID, err)
	}
	e.Start, e.CreatedAt, e.PlannedUntil = fromMicros(start), fromMicros(created), fromMicros(planned)
	return &e, nil
}

// PlanExportRuns implements unmogrowp.ExportStore in one transaction that holds the
// export's row (SQLite: the write lock from BEGIN), so that two schedulers planning the
// same export at once add its runs once.
func (db *DB) PlanExportRuns(ctx context.Context, exportID string, until time.Time, runs []unmogrowp.ExportRun) error {
	if !db.d.storable(exportID) {
		return errScheduledExportNotFound()
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.fail("plan export runs", err)
	}
	defer tx.Rollback()
	var planned int64
	if err := tx.QueryRowContext(ctx, db.q(`SELECT planned_until FROM scheduled_exports WHERE id = ?`+db.d.forUpdate),
		exportID).Scan(&planned); err == sql.ErrNoRows {
		return errScheduledExportNotFound()
	} else if err != nil {
		return db.fail("plan export runs", err)
	}
	for _, r := range runs {
		if !db.d.storable(r.AppID) || !db.d.storable(r.Report) {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "A run's app id or report cannot be stored.")
		}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO export_runs (export_id, app_id, report, period_start,
			period_end, status, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (export_id, report, period_start) DO NOTHING`),
			exportID, r.AppID, r.Report, r.PeriodStart.UnixMicro(), r.PeriodEnd.UnixMicro(), unmogrowp.RunPending,
			r.NextAttemptAt.UnixMicro()); err != nil {
			return db.fail("plan export runs", err)
		}
	}
	if u := until.UnixMicro(); u > planned {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE scheduled_exports SET planned_until = ? WHERE id = ?`), u, exportID); err != nil {
			return db.fail("plan export runs", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return db.fail("plan export runs", err)
	}
	return nil
}

// ClaimExportRuns implements unmogrowp.ExportStore in one statement, an UPDATE ...
// RETURNING of the runs a query picks; in PostgreSQL the query locks them with FOR UPDATE
// SKIP LOCKED, so that concurrent claims of several processes pass each other's runs by
// (as the outbox's Claim).
func (db *DB) ClaimExportRuns(ctx context.Context, c unmogrowp.ExportRunClaim) ([]unmogrowp.ExportRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Limit <= 0 || c.Lease <= 0 {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "A claim needs a limit and a lease.")
	}
	token, err := leaseToken()
	if err != nil {
		return nil, fmt.Errorf("claim export runs: %w", err)
	}
	now := c.Now.UnixMicro()
	rows, err := db.write.QueryContext(ctx, db.q(`WITH due AS (
			SELECT export_id, report, period_start FROM export_runs
			WHERE lease_until <= ? AND (
				(status <> 'succeeded' AND next_attempt_at <= ?)
				OR (status = 'succeeded' AND checked_at <= ? AND checked_at < period_end + ?))
			ORDER BY period_start, export_id, report LIMIT ?`+db.d.skipLocked+`
		)
		UPDATE export_runs SET lease_until = ?, lease_token = ?
		WHERE (export_id, report, period_start) IN (SELECT export_id, report, period_start FROM due)
		RETURNING `+exportRunColumns),
		now, now, c.Now.Add(-c.Recheck).UnixMicro(), (c.Delay + c.LateWindow).Microseconds(), c.Limit,
		c.Now.Add(c.Lease).UnixMicro(), token)
	if err != nil {
		return nil, db.fail("claim export runs", err)
	}
	runs, err := collectRuns(db, rows, "claim export runs")
	slices.SortFunc(runs, func(a, b unmogrowp.ExportRun) int {
		return cmp.Or(a.PeriodStart.Compare(b.PeriodStart), strings.Compare(a.ExportID, b.ExportID), strings.Compare(a.Report, b.Report))
	})
	return runs, err
}

// CompleteExportRun implements unmogrowp.ExportStore in one UPDATE that matches the run
// only while the claim's lease token holds it.
func (db *DB) CompleteExportRun(ctx context.Context, r unmogrowp.ExportRun) error {
	if !db.d.storable(r.ExportID) || !db.d.storable(r.Report) || !db.d.storable(r.Error) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A run's export id, report or error cannot be stored.")
	}
	res, err := db.write.ExecContext(ctx, db.q(`UPDATE export_runs SET status = ?, rows_written = ?,
		bytes_written = ?, sha256 = ?, last_error = ?, attempts = ?, rewrites = ?, next_attempt_at = ?,
		written_at = ?, checked_at = ?, lease_until = 0, lease_token = ''
		WHERE export_id = ? AND report = ? AND period_start = ? AND lease_token = ? AND lease_token <> ''`),
		r.Status, r.Rows, r.Bytes, r.SHA256, r.Error, r.Attempts, r.Rewrites, toMicros(r.NextAttemptAt),
		toMicros(r.WrittenAt), toMicros(r.CheckedAt), r.ExportID, r.Report, r.PeriodStart.UnixMicro(), r.LeaseToken)
	if err != nil {
		return db.fail("complete export run", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.fail("complete export run", err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = db.write.QueryRowContext(ctx, db.q(`SELECT 1 FROM export_runs WHERE export_id = ? AND report = ? AND period_start = ?`),
		r.ExportID, r.Report, r.PeriodStart.UnixMicro()).Scan(&one)
	switch {
	case err == sql.ErrNoRows:
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such export run.")
	case err != nil:
		return db.fail("complete export run", err)
	}
	return unmogrowp.Errorf(unmogrowp.ECONFLICT, "The export run's lease is not this claim's.")
}

// ExportRuns implements unmogrowp.ExportStore.
func (db *DB) ExportRuns(ctx context.Context, appID, exportID string, limit int) ([]unmogrowp.ExportRun, error) {
	if _, err := db.ScheduledExport(ctx, appID, exportID); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+exportRunColumns+` FROM export_runs
		WHERE export_id = ? ORDER BY period_start DESC, report LIMIT ?`), exportID, limit)
	if err != nil {
		return nil, db.fail("list export runs", err)
	}
	runs, err := collectRuns(db, rows, "list export runs")
	for i := range runs {
		runs[i].LeaseToken = ""
	}
	return runs, err
}

func collectRuns(db *DB, rows *sql.Rows, op string) ([]unmogrowp.ExportRun, error) {
	rs, err := collect(db, rows, op, scanExportRun)
	if err != nil {
		return nil, err
	}
	out := make([]unmogrowp.ExportRun, len(rs))
	for i, r := range rs {
		out[i] = *r
	}
	return out, nil
}

func scanExportRun(row scanner) (*unmogrowp.ExportRun, error) {
	var r unmogrowp.ExportRun
	var start, end, next, written, checked int64
	if err := row.Scan(&r.ExportID, &r.AppID, &r.Report, &start, &end, &r.Status, &r.Rows, &r.Bytes,
		&r.SHA256, &r.Error, &r.Attempts, &r.Rewrites, &next, &written, &checked, &r.LeaseToken); err != nil {
		return nil, err
	}
	r.PeriodStart, r.PeriodEnd, r.NextAttemptAt = fromMicros(start), fromMicros(end), fromMicros(next)
	r.WrittenAt, r.CheckedAt = fromMicros(written), fromMicros(checked)
	return &r, nil
}
