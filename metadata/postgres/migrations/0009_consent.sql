-- Consent and the outbox's pruning: sqlite/migrations/0009_consent.sql in PostgreSQL's
-- dialect (BIGINT for offsets, BOOLEAN for booleans, COLLATE "C" for the ids).
--
-- device_consent keeps each device's latest statement of third_party_sharing
-- (unmogrowp.ConsentStore): where its record sits in the log (log_partition, log_offset),
-- so that a replay's older statement does not replace it, and what it said. A statement is
-- kept after its app is deleted, as the outbox's deliveries are.
CREATE TABLE device_consent (
    app_id        TEXT COLLATE "C" NOT NULL,
    device_id     TEXT COLLATE "C" NOT NULL,
    log_partition INTEGER NOT NULL,
    log_offset    BIGINT  NOT NULL,
    sharing       BOOLEAN NOT NULL,
    PRIMARY KEY (app_id, device_id)
);

-- Prune: the deliveries done with (delivered or failed), oldest first.
CREATE INDEX postback_deliveries_done ON postback_deliveries (created_at)
    WHERE status <> 'pending';

-- Claim: the due index again, covering what a claim filters on (host, and the lease), so
-- that passing over leased deliveries and the hosts a worker has its fill of reads the
-- index only, not each row.
DROP INDEX postback_deliveries_due;
CREATE INDEX postback_deliveries_due ON postback_deliveries (next_attempt_at, created_at, id, host, leased, lease_until)
    WHERE status = 'pending';
