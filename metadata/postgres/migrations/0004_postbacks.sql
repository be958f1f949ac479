-- Postbacks and webhooks, and the outbox of their deliveries: sqlite/migrations/
-- 0004_postbacks.sql in PostgreSQL's dialect (BIGINT for times, BOOLEAN for booleans,
-- BYTEA for the body, COLLATE "C" for the ids as in 0001).
--
-- A postback belongs to one app and goes with it (ON DELETE CASCADE). triggers and
-- event_types are JSON arrays of strings, headers a JSON object of string to string, kept
-- as text. secret is kept as given: the delivery worker signs each request with it; no API
-- answer ever shows it. Times are unix microseconds, UTC.
CREATE TABLE postbacks (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id        TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    media_source  TEXT    NOT NULL DEFAULT '',
    send_all      BOOLEAN NOT NULL DEFAULT FALSE,
    triggers      TEXT    NOT NULL,
    event_types   TEXT    NOT NULL,
    method        TEXT    NOT NULL,
    url_template  TEXT    NOT NULL,
    body_template TEXT    NOT NULL DEFAULT '',
    headers       TEXT    NOT NULL,
    secret        TEXT    NOT NULL DEFAULT '',
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT  NOT NULL
);

-- An app's postbacks, oldest first; and the rows the cascade removes with an app.
CREATE INDEX postbacks_app_id ON postbacks (app_id, created_at, id);

-- The outbox (unmogrowp.Outbox): one row per delivery, its id deterministic so that the
-- pipeline's replay of the log inserts nothing twice (INSERT ... ON CONFLICT DO NOTHING).
-- No foreign key: a delivery outlives its postback (the log shows why it failed), and the
-- outbox takes deliveries of any app and postback id. headers is a JSON object or '';
-- body is NULL when empty. A claim (SELECT ... FOR UPDATE SKIP LOCKED, so that consumers
-- claim side by side) sets leased, lease_until and lease_token (random, one per claim);
-- Complete needs that token and clears leased. delivered_at is 0 until delivered.
CREATE TABLE postback_deliveries (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id          TEXT COLLATE "C" NOT NULL,
    postback_id     TEXT COLLATE "C" NOT NULL,
    activity_kind   TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    host            TEXT COLLATE "C" NOT NULL,
    method          TEXT    NOT NULL,
    headers         TEXT    NOT NULL DEFAULT '',
    body            BYTEA,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    delivered_at    BIGINT  NOT NULL DEFAULT 0,
    leased          BOOLEAN NOT NULL DEFAULT FALSE,
    lease_until     BIGINT  NOT NULL DEFAULT 0,
    lease_token     TEXT COLLATE "C" NOT NULL DEFAULT ''
);

-- Claim: the pending deliveries in due order; delivered and failed ones are not in it.
CREATE INDEX postback_deliveries_due ON postback_deliveries (next_attempt_at, created_at, id)
    WHERE status = 'pending';
-- List: one postback's deliveries, newest first (scanned backwards).
CREATE INDEX postback_deliveries_postback ON postback_deliveries (app_id, postback_id, created_at, id);
