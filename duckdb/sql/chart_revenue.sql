-- Chart revenue: the sum and the number of the events' revenue amounts per interval and
-- currency; the caller converts each sum to the reporting currency at its date and
-- zero-fills the intervals without revenue. Stats reads its revenue here too, by day.
-- $1 app id, $2 from, $3 to (event_time in [$2, $3)), $4 'hour' or 'day'. A day is the
-- report's zone's: LOCAL(t) is t's wall-clock time there (zone.go).
-- Revenue is summed by revenue_sum (migration 0006), which no stored value can overflow.
SELECT date_trunc($4, LOCAL(event_time)) AS bucket, currency,
       revenue_sum(revenue) AS revenue, count(revenue) AS amounts
FROM events
WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND revenue IS NOT NULL
GROUP BY ALL
