-- Chart revenue: the sum of the events' revenue per interval, whatever the currency.
-- The caller zero-fills the intervals without revenue.
-- $1 app id, $2 from, $3 to (event_time in [$2, $3)), $4 the interval in microseconds.
-- Revenue counts each event's within ±1e9 (unmogrowp.MaxRevenue) and NaN as 0, so that no sum
-- overflows to an infinity or NaN (see unmogrowp.Reports).
SELECT intDiv(event_time, $4) * $4 AS bucket, sum(if(isNaN(revenue), 0, least(greatest(revenue, -1e9), 1e9))) AS revenue
FROM events FINAL
WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND has_revenue
GROUP BY bucket
