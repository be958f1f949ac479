-- Stats: the dashboard's totals of one app over a time range.
-- $1 app id, $2 from, $3 to: install_time, touch_time and event_time in [$2, $3), all
-- Unix microseconds. One pass over each table's rows of the app and range (FINAL: a
-- replayed row counts once); countIf counts several things in that pass. ClickHouse
-- 18.16 joins two tables per SELECT: the three one-row totals join in two steps.
-- A rejected install (not attributed, with rejected touchpoints) is neither organic nor
-- non-organic: it counts in rejected_installs only.
-- Revenue is not here: it is converted per day and currency (chart_revenue.sql).
SELECT installs, organic_installs, non_organic_installs, reinstalls, rejected_installs,
       clicks, impressions, events, active_devices, sessions
FROM (
    SELECT
        countIf(NOT is_reinstall AND NOT is_reattribution
                AND (attributed OR length(rejected_reason) = 0))              AS installs,
        countIf(NOT is_reinstall AND NOT is_reattribution AND NOT attributed
                AND length(rejected_reason) = 0)                              AS organic_installs,
        countIf(NOT is_reinstall AND NOT is_reattribution AND attributed)     AS non_organic_installs,
        countIf(is_reinstall)                                                 AS reinstalls,
        countIf(NOT is_reinstall AND NOT is_reattribution AND NOT attributed
                AND length(rejected_reason) > 0)                              AS rejected_installs
    FROM installs FINAL
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
)
CROSS JOIN (
    SELECT clicks, impressions, events, active_devices, sessions
    FROM (
        SELECT
            countIf(type = 'click')      AS clicks,
            countIf(type = 'impression') AS impressions
        FROM touchpoints FINAL
        WHERE app_id = $1 AND touch_time >= $2 AND touch_time < $3
    )
    CROSS JOIN (
        SELECT
            count()                       AS events,
            uniqExact(device_id)          AS active_devices,
            countIf(event_type = 'session') AS sessions
        FROM events FINAL
        WHERE app_id = $1 AND event_time >= $2 AND event_time < $3
    )
)
