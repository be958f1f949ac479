-- Chart revenue: the sum and the number of the events' revenue amounts per interval and
-- currency; the caller converts each sum to the reporting currency at its date and
-- zero-fills the intervals without revenue. Stats reads its revenue here too, by day.
-- $1 app id, $2 from, $3 to (event_time in [$2, $3)), $4 the interval in microseconds. A
-- day is the report's zone's: LOCAL(t) is t's wall-clock time there (zone.go).
-- Revenue counts each event's within ±1e9 (unmogrowp.MaxRevenue) and NaN as 0, so that no sum
-- overflows to an infinity or NaN (see unmogrowp.Reports).
SELECT intDiv(LOCAL(event_time), $4) * $4 AS bucket, currency,
       sum(if(isNaN(revenue), 0, least(greatest(revenue, -1e9), 1e9))) AS revenue, count() AS amounts
FROM events FINAL
WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND has_revenue
GROUP BY bucket, currency
