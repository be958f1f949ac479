-- Stats: the dashboard's totals of one app over a time range.
-- $1 app id, $2 from, $3 to: install_time, touch_time and event_time in [$2, $3).
-- One pass over each table's rows of the app and range; FILTER counts several things
-- in that pass. Active devices: the whole UTC days of the range, [$4, $5), from
-- device_days; the partial days at its ends, [$2, $4) and [$5, $3), from events (with
-- $4 = $5 = $3 when the range holds no whole day).
-- A rejected install (not attributed, with rejected touchpoints) is neither organic nor
-- non-organic: it counts in rejected_installs only.
-- Revenue is not here: it is converted per day and currency (chart_revenue.sql).
WITH i AS (
    SELECT
        count(*) FILTER (WHERE NOT is_reinstall AND NOT is_reattribution
                           AND (attributed OR rejected_count = 0))                           AS installs,
        count(*) FILTER (WHERE NOT is_reinstall AND NOT is_reattribution AND NOT attributed
                           AND rejected_count = 0)                                           AS organic_installs,
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
    -- By event type first: cheaper than a FILTER on every row.
    SELECT
        coalesce(sum(n), 0)                           AS events,
        coalesce(sum(n) FILTER (WHERE event_type = 'session'), 0) AS sessions
    FROM (
        SELECT event_type, count(*) AS n
        FROM events
        WHERE app_id = $1 AND event_time >= $2 AND event_time < $3
        GROUP BY event_type
    )
), d AS (
    SELECT count(DISTINCT device_key) AS active_devices
    FROM (
        SELECT device_key FROM device_days
        WHERE app_id = $1 AND day >= $4 AND day < $5
        UNION ALL
        SELECT device_key(device_id)
        FROM (
            -- Two ranges, not one OR: each prunes row groups by their event_time bounds.
            SELECT device_id FROM events WHERE app_id = $1 AND event_time >= $2 AND event_time < $4
            UNION
            SELECT device_id FROM events WHERE app_id = $1 AND event_time >= $5 AND event_time < $3
        )
    )
)
SELECT i.installs, i.organic_installs, i.non_organic_installs, i.reinstalls, i.rejected_installs,
       t.clicks, t.impressions, e.events, d.active_devices, e.sessions
FROM i, t, e, d
