-- Touchpoints and install decisions.
--
-- touchpoints holds one row per Touchpoint (a click or an impression), every field in its
-- own typed column, and installs one row per install decision (the attribution of one
-- install event). Like events, neither has a primary key or an index: reports filter them
-- by app_id and time, which the per-row-group zone maps serve, and rows arrive close to
-- time order. Absent strings are '' (never NULL), as in events.
--
-- A touchpoint's "partition" and "offset" are its log record's; an install's are those of
-- its install event, so it joins its row in events on ("partition", "offset"). The
-- watermarks of log_watermarks cover touchpoints as well as events; installs add no log
-- position of their own.
--
-- installs stores the attribution object of API.md flattened, plus first_install_time.
-- touch_time is NULL for an organic install (it has no touchpoint), so that a report's
-- min/max or a CTIT histogram never meets a fake year-1 time. rejected is the JSON array
-- of the rejected touchpoints, '[]' when there are none, as VARCHAR for the reason given
-- for events.attribution; rejected_count is its length, kept beside it so that the
-- reports' rejected_installs (rejected_count > 0) needs no JSON parsing.
--
-- The column order is the appender's row order: see touchpointColumns and installColumns
-- in rows.go, checked on open.
CREATE TABLE touchpoints (
    "partition"     INTEGER   NOT NULL,
    "offset"        BIGINT    NOT NULL,
    touchpoint_id   VARCHAR   NOT NULL,
    app_id          VARCHAR   NOT NULL,
    type            VARCHAR   NOT NULL,
    link_id         VARCHAR   NOT NULL,
    media_source    VARCHAR   NOT NULL,
    campaign        VARCHAR   NOT NULL,
    adset           VARCHAR   NOT NULL,
    ad              VARCHAR   NOT NULL,
    site_id         VARCHAR   NOT NULL,
    channel         VARCHAR   NOT NULL,
    click_id        VARCHAR   NOT NULL,
    touch_time      TIMESTAMP NOT NULL,
    received_at     TIMESTAMP NOT NULL,
    ip              VARCHAR   NOT NULL,
    user_agent      VARCHAR   NOT NULL,
    idfa            VARCHAR   NOT NULL,
    gaid            VARCHAR   NOT NULL,
    android_id      VARCHAR   NOT NULL,
    device_id       VARCHAR   NOT NULL,
    deep_link_value VARCHAR   NOT NULL,
    sub1            VARCHAR   NOT NULL,
    sub2            VARCHAR   NOT NULL,
    sub3            VARCHAR   NOT NULL,
    sub4            VARCHAR   NOT NULL,
    sub5            VARCHAR   NOT NULL
);

CREATE TABLE installs (
    "partition"        INTEGER   NOT NULL,
    "offset"           BIGINT    NOT NULL,
    app_id             VARCHAR   NOT NULL,
    device_id          VARCHAR   NOT NULL,
    install_event_id   VARCHAR   NOT NULL,
    install_time       TIMESTAMP NOT NULL,
    attributed         BOOLEAN   NOT NULL,
    match_type         VARCHAR   NOT NULL,
    touch_type         VARCHAR   NOT NULL,
    touchpoint_id      VARCHAR   NOT NULL,
    touch_time         TIMESTAMP,
    media_source       VARCHAR   NOT NULL,
    campaign           VARCHAR   NOT NULL,
    adset              VARCHAR   NOT NULL,
    ad                 VARCHAR   NOT NULL,
    site_id            VARCHAR   NOT NULL,
    channel            VARCHAR   NOT NULL,
    click_id           VARCHAR   NOT NULL,
    deep_link_value    VARCHAR   NOT NULL,
    ctit_seconds       BIGINT    NOT NULL,
    is_reinstall       BOOLEAN   NOT NULL,
    is_reattribution   BOOLEAN   NOT NULL,
    rejected           VARCHAR   NOT NULL,
    rejected_count     INTEGER   NOT NULL,
    first_install_time TIMESTAMP NOT NULL
);
