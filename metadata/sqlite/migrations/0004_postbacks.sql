-- Postbacks and webhooks (POSTBACKS.md), and the outbox of their deliveries.
--
-- A postback belongs to one app and goes with it (ON DELETE CASCADE). triggers and
-- event_types are JSON arrays of strings, headers a JSON object of string to string.
-- secret is kept as given: the delivery worker signs each request with it; no API answer
-- ever shows it. Booleans are 0 or 1. Times are unix microseconds, UTC.
CREATE TABLE postbacks (
    id            TEXT    NOT NULL PRIMARY KEY,
    app_id        TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    media_source  TEXT    NOT NULL DEFAULT '',
    send_all      INTEGER NOT NULL DEFAULT 0,
    triggers      TEXT    NOT NULL,
    event_types   TEXT    NOT NULL,
    method        TEXT    NOT NULL,
    url_template  TEXT    NOT NULL,
    body_template TEXT    NOT NULL DEFAULT '',
    headers       TEXT    NOT NULL,
    secret        TEXT    NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

-- An app's postbacks, oldest first; and the rows the cascade removes with an app.
CREATE INDEX postbacks_app_id ON postbacks (app_id, created_at, id);

-- The outbox (unmogrowp.Outbox): one row per delivery, its id deterministic so that the
-- pipeline's replay of the log inserts nothing twice (INSERT ... ON CONFLICT DO NOTHING).
-- No foreign key: a delivery outlives its postback (the log shows why it failed), and the
-- outbox takes deliveries of any app and postback id. headers is a JSON object or '';
-- body is NULL when empty. A claim sets leased to 1, lease_until and lease_token (random,
-- one per claim); Complete needs that token and sets leased back to 0. delivered_at is 0
-- until delivered.
CREATE TABLE postback_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    app_id          TEXT    NOT NULL,
    postback_id     TEXT    NOT NULL,
    activity_kind   TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    headers         TEXT    NOT NULL DEFAULT '',
    body            BLOB,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER NOT NULL DEFAULT 0,
    leased          INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    lease_token     TEXT    NOT NULL DEFAULT ''
);

-- Claim: the pending deliveries in due order; delivered and failed ones are not in it.
CREATE INDEX postback_deliveries_due ON postback_deliveries (next_attempt_at, created_at, id)
    WHERE status = 'pending';
-- List: one postback's deliveries, newest first (scanned backwards).
CREATE INDEX postback_deliveries_postback ON postback_deliveries (app_id, postback_id, created_at, id);
