-- LTVReport: the cohorts of new installs (neither reinstalls nor re-attributions) by local
-- install day (a day number since the epoch) and group, and what their devices paid from
-- their install until the end of each day N = 0..$7 after it. Three kinds of rows:
--   'i': a cohort's installs (n 0, currency '', revenue 0);
--   'r': the sum and number of its revenue amounts of day n in one currency, which the
--        caller converts at the date of day n and accumulates;
--   'p': how many of its devices paid (revenue above 0) for the first time on day n.
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)); $4 the grouping: 'media_source',
-- 'campaign' or 'none'; $5, $6 the event times that can count (the first cohort's local
-- day to $7 days after the last's); $7 the last day. LOCAL(t) is t's wall-clock time in
-- the report's zone (zone.go).
-- ClickHouse 18.16 has no WITH of subqueries and joins two tables per SELECT: the cohort
-- is spelled out in each part; the events, the larger side, are on the left (ClickHouse
-- builds its hash table from the right).
-- Revenue counts each event's within ±1e9 (unmogrowp.MaxRevenue) and NaN as 0, so that no sum
-- overflows to an infinity or NaN (see unmogrowp.Reports).
SELECT 'i' AS kind, d, src, camp, toInt64(0) AS n, '' AS currency, toFloat64(0) AS revenue, count() AS amounts
FROM (
    SELECT intDiv(LOCAL(install_time), 86400000000) AS d,
           if($4 = 'none', '', media_source) AS src, if($4 = 'campaign', campaign, '') AS camp
    FROM installs FINAL
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
      AND NOT is_reinstall AND NOT is_reattribution
      AND (attributed OR length(rejected_reason) = 0) -- a rejected install is not an install
)
GROUP BY d, src, camp

UNION ALL

SELECT 'r', d, src, camp, n, currency,
       sum(if(isNaN(revenue), 0, least(greatest(revenue, -1e9), 1e9))), count()
FROM (
    SELECT d, src, camp, ed - d AS n, currency, revenue
    FROM (
        SELECT device_id, event_time, intDiv(LOCAL(event_time), 86400000000) AS ed, currency, revenue
        FROM events FINAL
        WHERE app_id = $1 AND event_time >= $5 AND event_time < $6 AND has_revenue
    )
    ALL INNER JOIN (
        SELECT device_id, install_time, intDiv(LOCAL(install_time), 86400000000) AS d,
               if($4 = 'none', '', media_source) AS src, if($4 = 'campaign', campaign, '') AS camp
        FROM installs FINAL
        WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
          AND NOT is_reinstall AND NOT is_reattribution
          AND (attributed OR length(rejected_reason) = 0) -- a rejected install is not an install
    ) USING device_id
    WHERE event_time >= install_time AND ed - d <= $7
)
GROUP BY d, src, camp, n, currency

UNION ALL

SELECT 'p', d, src, camp, n, '', toFloat64(0), count()
FROM (
    SELECT d, src, camp, device_id, min(ed - d) AS n
    FROM (
        SELECT device_id, event_time, intDiv(LOCAL(event_time), 86400000000) AS ed
        FROM events FINAL
        WHERE app_id = $1 AND event_time >= $5 AND event_time < $6 AND has_revenue AND revenue > 0
    )
    ALL INNER JOIN (
        SELECT device_id, install_time, intDiv(LOCAL(install_time), 86400000000) AS d,
               if($4 = 'none', '', media_source) AS src, if($4 = 'campaign', campaign, '') AS camp
        FROM installs FINAL
        WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
          AND NOT is_reinstall AND NOT is_reattribution
          AND (attributed OR length(rejected_reason) = 0) -- a rejected install is not an install
    ) USING device_id
    WHERE event_time >= install_time AND ed - d <= $7
    GROUP BY d, src, camp, device_id
)
GROUP BY d, src, camp, n
