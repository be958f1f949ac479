-- Scheduled exports to object storage (docs/export.md, "Scheduled export").
--
-- An export belongs to one app and goes with it (ON DELETE CASCADE). reports is a JSON
-- array of report names. secret_sealed is the destination's secret access key sealed with
-- the server's SECRETS_KEY (AES-256-GCM, bound to the app's id): the store never holds it
-- in the clear. path_style is 0 or 1. Times are unix microseconds, UTC; start_at is the
-- start of the first period written, planned_until the end of the last period whose runs
-- exist (the scheduler adds the runs of the periods after it).
CREATE TABLE scheduled_exports (
    id            TEXT    NOT NULL PRIMARY KEY,
    app_id        TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    reports       TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    cadence       TEXT    NOT NULL,
    dest_type     TEXT    NOT NULL,
    endpoint      TEXT    NOT NULL,
    region        TEXT    NOT NULL DEFAULT '',
    bucket        TEXT    NOT NULL,
    prefix        TEXT    NOT NULL DEFAULT '',
    path_style    INTEGER NOT NULL DEFAULT 0,
    access_key_id TEXT    NOT NULL,
    secret_sealed BLOB    NOT NULL,
    start_at      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    planned_until INTEGER NOT NULL DEFAULT 0
);

-- An app's exports, oldest first; and the rows the cascade removes with an app.
CREATE INDEX scheduled_exports_app_id ON scheduled_exports (app_id, created_at, id);

-- One row per report and period of an export (unmogrowp.ExportRun), added once the
-- period is due, and gone with its export. A claim sets lease_until and lease_token
-- (random, one per claim); CompleteExportRun needs that token. Times are unix
-- microseconds, UTC, 0 for none.
CREATE TABLE export_runs (
    export_id       TEXT    NOT NULL REFERENCES scheduled_exports (id) ON DELETE CASCADE,
    app_id          TEXT    NOT NULL,
    report          TEXT    NOT NULL,
    period_start    INTEGER NOT NULL,
    period_end      INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    rows_written    INTEGER NOT NULL DEFAULT 0,
    bytes_written   INTEGER NOT NULL DEFAULT 0,
    sha256          TEXT    NOT NULL DEFAULT '',
    last_error      TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    rewrites        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    written_at      INTEGER NOT NULL DEFAULT 0,
    checked_at      INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    lease_token     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (export_id, report, period_start)
);

-- Claim: runs to write (pending or failed) in due order.
CREATE INDEX export_runs_due ON export_runs (next_attempt_at, period_start)
    WHERE status <> 'succeeded';
-- Claim: written runs still within their late-data window, by when they were checked.
CREATE INDEX export_runs_check ON export_runs (checked_at, period_start)
    WHERE status = 'succeeded';
-- The runs list: an export's runs, newest period first.
CREATE INDEX export_runs_list ON export_runs (export_id, period_start DESC, report);
