-- LTVReport: the cohorts of new installs (neither reinstalls nor re-attributions) by local
-- install day and group, and what their devices paid from their install until the end of
-- each day N = 0..$7 after it. Three kinds of rows:
--   'i': a cohort's installs (n, currency, revenue NULL);
--   'r': the sum and number of its revenue amounts of day n in one currency, which the
--        caller converts at the date of day n and accumulates;
--   'p': how many of its devices paid (revenue above 0) for the first time on day n.
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)); $4 the grouping: 'media_source',
-- 'campaign' or 'none'; $5, $6 the event times that can count (the first cohort's local
-- day to $7 days after the last's); $7 the last day. LOCAL(t) is t's wall-clock time in
-- the report's zone (zone.go).
-- Revenue is summed by revenue_sum (migration 0006), which no stored value can overflow.
-- The amounts come from device_revenue (revenue.go), the events' revenues by device key:
-- the cohorts' devices are keyed the same way.
WITH cohort AS (
    SELECT device_key(device_id) AS device_key, install_time, CAST(LOCAL(install_time) AS DATE) AS d,
           CASE WHEN $4 = 'none' THEN '' ELSE media_source END AS src,
           CASE WHEN $4 = 'campaign' THEN campaign ELSE '' END AS camp
    FROM installs
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
      AND NOT is_reinstall AND NOT is_reattribution
      AND (attributed OR rejected_count = 0) -- a rejected install is not an install
), paid AS (
    SELECT c.d, c.src, c.camp, c.device_key, e.currency, e.revenue,
           date_diff('day', c.d, CAST(LOCAL(e.event_time) AS DATE)) AS n
    FROM cohort c
    JOIN device_revenue e ON e.device_key = c.device_key
    WHERE e.app_id = $1 AND e.event_time >= $5 AND e.event_time < $6
      AND e.event_time >= c.install_time
), paid_in AS (
    SELECT * FROM paid WHERE n <= CAST($7 AS INTEGER)
)
SELECT 'i' AS kind, d, src, camp, NULL AS n, NULL AS currency, NULL AS revenue, count(*) AS amounts
FROM cohort GROUP BY ALL
UNION ALL
SELECT 'r', d, src, camp, n, currency, revenue_sum(revenue), count(*)
FROM paid_in GROUP BY ALL
UNION ALL
SELECT 'p', d, src, camp, n, NULL, NULL, count(*)
FROM (
    SELECT d, src, camp, device_key, min(n) AS n
    FROM paid_in WHERE revenue > 0
    GROUP BY ALL
)
GROUP BY ALL
