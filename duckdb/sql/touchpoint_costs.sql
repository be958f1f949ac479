-- TouchpointCosts: the cost the app's touchpoints carry, per local day of the touch, media
-- source, campaign and currency. $1 app id, $2 from, $3 to: touch_time in [$2, $3).
-- LOCAL(t) is t's wall-clock time in the report's zone (zone.go).
--
-- A cpc click costs its cost_value, a cpm impression a thousandth of it; a cpi touchpoint
-- costs its cost_value once per install it won that the reports count (attributed,
-- neither a reinstall nor a re-attribution), found through installs.touchpoint_id. A won
-- touchpoint is older than its install, so install_time >= $2 only narrows the scan.
-- Go rounds the sums (unmogrowp.RoundMoney): their last bits depend on the threads' order.
WITH c AS (
    SELECT touch_time, media_source, campaign, cost_currency,
           CASE cost_model WHEN 'cpm' THEN cost_value / 1000 ELSE cost_value END AS amount
    FROM touchpoints
    WHERE app_id = $1 AND touch_time >= $2 AND touch_time < $3
      AND ((cost_model = 'cpc' AND type = 'click') OR (cost_model = 'cpm' AND type = 'impression'))

    UNION ALL

    SELECT tp.touch_time, tp.media_source, tp.campaign, tp.cost_currency, tp.cost_value
    FROM installs i
    JOIN touchpoints tp ON tp.touchpoint_id = i.touchpoint_id
    WHERE i.app_id = $1 AND i.install_time >= $2 AND i.touch_time >= $2 AND i.touch_time < $3
      AND i.attributed AND NOT i.is_reinstall AND NOT i.is_reattribution
      AND tp.app_id = $1 AND tp.touch_time >= $2 AND tp.touch_time < $3 AND tp.cost_model = 'cpi'
)
SELECT strftime(LOCAL(touch_time), '%Y-%m-%d') AS date, media_source, campaign, cost_currency, sum(amount)
FROM c
GROUP BY ALL
ORDER BY ALL
