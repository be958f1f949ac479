-- OpenDSR: sqlite/migrations/0010_opendsr.sql in PostgreSQL's dialect (BIGINT for times
-- and counts, BYTEA for bytes, BIGSERIAL for the tombstones' sequence, COLLATE "C" for
-- the ids).
CREATE TABLE opendsr_requests (
    app_id         TEXT COLLATE "C" NOT NULL,
    id             TEXT COLLATE "C" NOT NULL,
    type           TEXT    NOT NULL,
    regulation     TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    identities     TEXT    NOT NULL,
    callback_urls  TEXT    NOT NULL,
    submitted_at   BIGINT  NOT NULL,
    received_at    BIGINT  NOT NULL,
    expected_at    BIGINT  NOT NULL,
    completed_at   BIGINT  NOT NULL DEFAULT 0,
    log_purged_by  BIGINT  NOT NULL DEFAULT 0,
    response       BYTEA   NOT NULL,
    results        BIGINT  NOT NULL DEFAULT 0,
    results_expire BIGINT  NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    error          TEXT    NOT NULL DEFAULT '',
    lease_until    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, id)
);

CREATE INDEX opendsr_requests_open ON opendsr_requests (received_at)
    WHERE status IN ('pending', 'in_progress');

CREATE TABLE opendsr_tombstones (
    seq        BIGSERIAL PRIMARY KEY,
    app_id     TEXT COLLATE "C" NOT NULL,
    field      TEXT NOT NULL,
    hash       TEXT NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL
);

CREATE INDEX opendsr_tombstones_request ON opendsr_tombstones (app_id, request_id);

CREATE TABLE opendsr_files (
    app_id     TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    data       BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, request_id)
);

CREATE TABLE opendsr_keys (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    key  BYTEA NOT NULL,
    cert BYTEA NOT NULL
);

ALTER TABLE postback_deliveries ADD COLUMN device_id TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX postback_deliveries_device ON postback_deliveries (app_id, device_id)
    WHERE device_id <> '';
