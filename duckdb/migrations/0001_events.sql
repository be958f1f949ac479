-- The events table and the log watermarks.
--
-- events holds one row per Event, every field in its own typed column. There is no primary
-- key and no index: DuckDB keeps min/max zone maps per row group for every column, which is
-- what the reports' filters (app_id, event_type, event_time, ...) use, and a unique index
-- would slow every append down. Rows arrive close to event-time order, so the event_time
-- zone maps stay tight without sorting.
--
-- Absent strings are '' (never NULL), so the low-cardinality columns reports group by
-- (app_id, event_type, platform, country, media_source, campaign) compress to dictionaries
-- and compare without NULL handling. install_begin_at is NULL when absent, revenue is NULL
-- when the event has none (0 is a real revenue). attribution and event_data hold the JSON
-- exactly as sent, as VARCHAR (NULL when empty): DuckDB's JSON type would make the driver
-- re-encode it on the way in and decode it on the way out, and the json_* functions and
-- the ->> operator take VARCHAR as well.
--
-- The column order is the appender's row order: see columns in store.go, checked on open.
CREATE TABLE events (
    "partition"      INTEGER   NOT NULL,
    "offset"         BIGINT    NOT NULL,
    event_id         VARCHAR   NOT NULL,
    app_id           VARCHAR   NOT NULL,
    event_type       VARCHAR   NOT NULL,
    device_id        VARCHAR   NOT NULL,
    user_id          VARCHAR   NOT NULL,
    session_id       VARCHAR   NOT NULL,
    event_time       TIMESTAMP NOT NULL,
    received_at      TIMESTAMP NOT NULL,
    platform         VARCHAR   NOT NULL,
    os_version       VARCHAR   NOT NULL,
    app_version      VARCHAR   NOT NULL,
    device_model     VARCHAR   NOT NULL,
    country          VARCHAR   NOT NULL,
    language         VARCHAR   NOT NULL,
    idfa             VARCHAR   NOT NULL,
    gaid             VARCHAR   NOT NULL,
    idfv             VARCHAR   NOT NULL,
    android_id       VARCHAR   NOT NULL,
    att_status       VARCHAR   NOT NULL,
    install_referrer VARCHAR   NOT NULL,
    install_begin_at TIMESTAMP,
    revenue          DOUBLE,
    currency         VARCHAR   NOT NULL,
    ip               VARCHAR   NOT NULL,
    user_agent       VARCHAR   NOT NULL,
    attribution      VARCHAR,
    event_data       VARCHAR,
    media_source     VARCHAR   NOT NULL,
    campaign         VARCHAR   NOT NULL
);

-- The highest stored offset of each log partition, written in the same transaction as the
-- events, so that reading it never scans events and it is exact after a crash.
CREATE TABLE log_watermarks (
    "partition" INTEGER PRIMARY KEY,
    "offset"    BIGINT  NOT NULL
);
