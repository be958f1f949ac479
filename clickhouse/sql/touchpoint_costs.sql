-- TouchpointCosts: the cost the app's touchpoints carry, per local day of the touch, media
-- source, campaign and currency. $1 app id, $2 from, $3 to: touch_time in [$2, $3).
-- LOCAL(t) is t's wall-clock time in the report's zone (zone.go).
--
-- A cpc click costs its cost_value, a cpm impression a thousandth of it; a cpi touchpoint
-- costs its cost_value once per install it won that the reports count (attributed,
-- neither a reinstall nor a re-attribution), found through installs.touchpoint_id. A won
-- touchpoint is older than its install, so install_time >= $2 only narrows the scan.
-- FINAL, so that a batch written again after a crash counts once.
-- Go rounds the sums (unmogrowp.RoundMoney): their last bits depend on the order of adding.
SELECT toString(toDate(toDateTime(intDiv(LOCAL(touch_time), 1000000), 'UTC'))) AS date,
       media_source, campaign, cost_currency, sum(amount) AS amount
FROM (
    SELECT touch_time, media_source, campaign, cost_currency,
           if(cost_model = 'cpm', cost_value / 1000, cost_value) AS amount
    FROM touchpoints FINAL
    WHERE app_id = $1 AND touch_time >= $2 AND touch_time < $3
      AND ((cost_model = 'cpc' AND type = 'click') OR (cost_model = 'cpm' AND type = 'impression'))

    UNION ALL

    SELECT touch_time, media_source, campaign, cost_currency, cost_value
    FROM (
        SELECT touchpoint_id
        FROM installs FINAL
        WHERE app_id = $1 AND install_time >= $2 AND touch_time >= $2 AND touch_time < $3
          AND attributed AND NOT is_reinstall AND NOT is_reattribution
    )
    ALL INNER JOIN (
        SELECT touchpoint_id, touch_time, media_source, campaign, cost_currency, cost_value
        FROM touchpoints FINAL
        WHERE app_id = $1 AND touch_time >= $2 AND touch_time < $3 AND cost_model = 'cpi'
    ) USING touchpoint_id
)
GROUP BY date, media_source, campaign, cost_currency
ORDER BY date, media_source, campaign, cost_currency
