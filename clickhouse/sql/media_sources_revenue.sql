-- MediaSourceReport's revenue: the sum and the number of the events' revenue amounts per
-- media source ('' counts as 'organic'), campaign, local day (a day number since the
-- epoch) and currency; the caller converts each sum at its day's rate and adds it to the
-- row of its source and campaign.
-- $1 app id, $2 from, $3 to (event_time in [$2, $3)). LOCAL(t) is t's wall-clock time in
-- the report's zone (zone.go).
-- Revenue counts each event's within ±1e9 (unmogrowp.MaxRevenue) and NaN as 0, so that no sum
-- overflows to an infinity or NaN (see unmogrowp.Reports).
SELECT if(media_source = '', 'organic', media_source) AS source, campaign,
       intDiv(LOCAL(event_time), 86400000000) AS day, currency,
       sum(if(isNaN(revenue), 0, least(greatest(revenue, -1e9), 1e9))) AS revenue, count() AS amounts
FROM events FINAL
WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND has_revenue
GROUP BY source, campaign, day, currency
