-- The events table and the log watermarks.
--
-- events holds one row per Event, every field in its own typed column, in a
-- ReplacingMergeTree whose sorting key ends with the event's log position: a row is
-- identified by ("partition", "offset"), and a batch written again after a crash (the
-- pipeline replays the log from the watermarks) replaces its earlier copy. The key starts
-- with app_id and event_time, which every report filters on, so a report reads only the
-- granules of its app and range. Until a merge collapses them, a replayed row and its
-- earlier copy are both on disk: every read says FINAL.
--
-- Times are Int64 microseconds since the Unix epoch, UTC: exact for every time the
-- store keeps (microsecond precision, the zero time included, which is
-- -62135596800000000), the same in ClickHouse 18.16 and today (no DateTime64), and free
-- of the server's time zone. UTC hours and days are whole multiples of them.
--
-- Absent strings are '' and nothing is Nullable: revenue is 0 with has_revenue 0 when the
-- event has none (0 is a real revenue), install_begin_at is the zero time when absent,
-- attribution and event_data hold the JSON exactly as sent ('' when empty).
--
-- Partitions are months of event time, so old data can be dropped a month at a time.
CREATE TABLE IF NOT EXISTS events (
    "partition"      Int32,
    "offset"         Int64,
    event_id         String,
    app_id           String,
    event_type       String,
    device_id        String,
    user_id          String,
    session_id       String,
    event_time       Int64,
    received_at      Int64,
    platform         String,
    os_version       String,
    app_version      String,
    device_model     String,
    country          String,
    language         String,
    idfa             String,
    gaid             String,
    idfv             String,
    android_id       String,
    att_status       String,
    install_referrer String,
    install_begin_at Int64,
    revenue          Float64,
    has_revenue      UInt8,
    currency         String,
    ip               String,
    user_agent       String,
    attribution      String,
    event_data       String,
    media_source     String,
    campaign         String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(toDateTime(intDiv(event_time, 1000000), 'UTC'))
ORDER BY (app_id, event_time, "partition", "offset");

-- The highest stored offset of each log partition, among events and touchpoints. Append
-- writes its rows last, once all of a batch's rows are in, so a batch counts as stored
-- only when it is whole. A partition may have several rows until a merge keeps the one
-- with the highest version (the offset, mapped order-preserving to UInt64): readers take
-- max("offset").
CREATE TABLE IF NOT EXISTS log_watermarks (
    "partition" Int32,
    "offset"    Int64,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY "partition";
