-- Chart revenue: the sum of the events' revenue per interval, whatever the currency.
-- The caller zero-fills the intervals without revenue.
-- $1 app id, $2 from, $3 to (event_time in [$2, $3)), $4 'hour' or 'day'.
-- Revenue is summed by revenue_sum (migration 0006), which no stored value can overflow.
SELECT date_trunc($4, event_time) AS bucket, revenue_sum(revenue) AS revenue
FROM events
WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND revenue IS NOT NULL
GROUP BY bucket
