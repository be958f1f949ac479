-- Stats: the dashboard's totals of one app over a time range.
-- $1 app id, $2 from, $3 to: install_time, touch_time and event_time in [$2, $3).
-- One pass over each table's rows of the app and range; FILTER counts several things
-- in that pass.
WITH i AS (
    SELECT
        count(*) FILTER (WHERE NOT is_reinstall AND NOT is_reattribution)                  AS installs,
        count(*) FILTER (WHERE NOT is_reinstall AND NOT is_reattribution AND NOT attributed) AS organic_installs,
        count(*) FILTER (WHERE NOT is_reinstall AND NOT is_reattribution AND attributed)     AS non_organic_installs,
        count(*) FILTER (WHERE is_reinstall)                                                 AS reinstalls,
        count(*) FILTER (WHERE NOT is_reinstall AND NOT is_reattribution AND NOT attributed
                           AND rejected_count > 0)                                           AS rejected_installs
    FROM installs
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
), t AS (
    SELECT
        count(*) FILTER (WHERE type = 'click')      AS clicks,
        count(*) FILTER (WHERE type = 'impression') AS impressions
    FROM touchpoints
    WHERE app_id = $1 AND touch_time >= $2 AND touch_time < $3
), e AS (
    SELECT
        count(*)                                      AS events,
        coalesce(sum(revenue), 0)                     AS revenue,
        count(DISTINCT device_id)                     AS active_devices,
        count(*) FILTER (WHERE event_type = 'session') AS sessions
    FROM events
    WHERE app_id = $1 AND event_time >= $2 AND event_time < $3
)
SELECT i.installs, i.organic_installs, i.non_organic_installs, i.reinstalls, i.rejected_installs,
       t.clicks, t.impressions, e.events, e.revenue, e.active_devices, e.sessions
FROM i, t, e
