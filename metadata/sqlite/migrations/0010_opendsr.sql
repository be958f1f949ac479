-- OpenDSR (docs/privacy.md): subject requests, the tombstones of erased identities, the
-- access and portability files, the processor's signing key, and each postback delivery's
-- device, so that an erasure deletes the deliveries it owes.
--
-- opendsr_requests keeps each request as received (identities and callback URLs as JSON
-- text, the 201's body in response, so that a repeat is answered the same) and what
-- became of it. Times are unix microseconds, 0 for none. lease_until is the claim of the
-- erasure job that holds it (unmogrowp.SubjectRequestStore.ClaimSubjectRequest).
CREATE TABLE opendsr_requests (
    app_id         TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    regulation     TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    identities     TEXT    NOT NULL,
    callback_urls  TEXT    NOT NULL,
    submitted_at   INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    expected_at    INTEGER NOT NULL,
    completed_at   INTEGER NOT NULL DEFAULT 0,
    log_purged_by  INTEGER NOT NULL DEFAULT 0,
    response       BLOB    NOT NULL,
    results        INTEGER NOT NULL DEFAULT 0,
    results_expire INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    error          TEXT    NOT NULL DEFAULT '',
    lease_until    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, id)
);

-- The job's claim: the requests still to do, oldest first.
CREATE INDEX opendsr_requests_open ON opendsr_requests (received_at)
    WHERE status IN ('pending', 'in_progress');

-- An erased identity: the SHA-256 (lower-case hex) of a value of an event field. seq
-- rises with every tombstone added, so that max(seq) and count(*) together change with
-- every addition and removal (unmogrowp.SubjectRequestStore.TombstoneVersion).
CREATE TABLE opendsr_tombstones (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id     TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    request_id TEXT    NOT NULL
);

CREATE INDEX opendsr_tombstones_request ON opendsr_tombstones (app_id, request_id);

-- The NDJSON file of an access or portability request, until it expires.
CREATE TABLE opendsr_files (
    app_id     TEXT    NOT NULL,
    request_id TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, request_id)
);

-- The processor's key and certificate (PEM), made once: one row.
CREATE TABLE opendsr_keys (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    key  BLOB    NOT NULL,
    cert BLOB    NOT NULL
);

-- The device a delivery is about ('' for those enqueued before this version).
ALTER TABLE postback_deliveries ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
CREATE INDEX postback_deliveries_device ON postback_deliveries (app_id, device_id)
    WHERE device_id <> '';
