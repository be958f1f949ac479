-- MediaSourceReport's revenue: the sum and the number of the events' revenue amounts per
-- media source ('' counts as 'organic'), campaign, local day and currency; the caller
-- converts each sum at its day's rate and adds it to the row of its source and campaign.
-- $1 app id, $2 from, $3 to (event_time in [$2, $3)). LOCAL(t) is t's wall-clock time in
-- the report's zone (zone.go).
-- Revenue is summed by revenue_sum (migration 0006), which no stored value can overflow.
SELECT coalesce(nullif(media_source, ''), 'organic') AS media_source, campaign,
       CAST(LOCAL(event_time) AS DATE) AS day, currency,
       revenue_sum(revenue) AS revenue, count(revenue) AS amounts
FROM events
WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND revenue IS NOT NULL
GROUP BY ALL
