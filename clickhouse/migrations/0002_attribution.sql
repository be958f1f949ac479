-- Touchpoints and install decisions.
--
-- touchpoints holds one row per Touchpoint (a click or an impression), installs one row per
-- install decision (the attribution of one install event). Both are ReplacingMergeTrees
-- keyed, like events, by app, time and log position, so a batch written again after a
-- crash replaces itself; times are Int64 microseconds, absent strings '' (see
-- 0001_events.sql).
--
-- A touchpoint's "partition" and "offset" are its log record's; an install's are those of
-- its install event, so it joins its row in events on ("partition", "offset").
-- log_watermarks covers touchpoints as well as events; installs add no log position of
-- their own.
--
-- installs stores the attribution object of API.md flattened, plus first_install_time.
-- touch_time is the zero time for an organic install. The rejected touchpoints are three
-- parallel arrays (touchpoint id, media source, reason), which ARRAY JOIN reads without
-- any JSON parsing.
CREATE TABLE IF NOT EXISTS touchpoints (
    "partition"     Int32,
    "offset"        Int64,
    touchpoint_id   String,
    app_id          String,
    type            String,
    link_id         String,
    media_source    String,
    campaign        String,
    adset           String,
    ad              String,
    site_id         String,
    channel         String,
    click_id        String,
    touch_time      Int64,
    received_at     Int64,
    ip              String,
    user_agent      String,
    idfa            String,
    gaid            String,
    android_id      String,
    device_id       String,
    deep_link_value String,
    sub1            String,
    sub2            String,
    sub3            String,
    sub4            String,
    sub5            String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(toDateTime(intDiv(touch_time, 1000000), 'UTC'))
ORDER BY (app_id, touch_time, "partition", "offset");

CREATE TABLE IF NOT EXISTS installs (
    "partition"            Int32,
    "offset"               Int64,
    app_id                 String,
    device_id              String,
    install_event_id       String,
    install_time           Int64,
    attributed             UInt8,
    match_type             String,
    touch_type             String,
    touchpoint_id          String,
    touch_time             Int64,
    media_source           String,
    campaign               String,
    adset                  String,
    ad                     String,
    site_id                String,
    channel                String,
    click_id               String,
    deep_link_value        String,
    ctit_seconds           Int64,
    is_reinstall           UInt8,
    is_reattribution       UInt8,
    rejected_touchpoint_id Array(String),
    rejected_media_source  Array(String),
    rejected_reason        Array(String),
    first_install_time     Int64
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(toDateTime(intDiv(install_time, 1000000), 'UTC'))
ORDER BY (app_id, install_time, "partition", "offset");
