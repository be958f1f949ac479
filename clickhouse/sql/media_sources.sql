-- MediaSourceReport: one row per media source and campaign, most installs first.
-- $1 app id, $2 from, $3 to: touch_time, install_time and event_time in [$2, $3);
-- $4 the oldest touch time a rejected touchpoint may have ($2 minus the longest lookback),
-- to find the campaign of the rejected touchpoints.
--
-- Clicks and impressions come from touchpoints, installs (new ones: neither reinstalls
-- nor re-attributions) from installs, events from events (media source '' counts as
-- 'organic'); revenue is converted per day and currency: media_sources_revenue.sql.
-- A rejected install (a new install not attributed, with rejected touchpoints) is not an
-- install of any row: it counts once in rejected_installs, in the row of its first
-- rejected touchpoint (the one that came nearest to winning), whose campaign is looked up
-- in touchpoints ('' when not found: a missing row joins as ''). So the rows' rejected
-- installs add up to Stats'. reengagements counts the re-engagements of dormant devices
-- (reattribution_kind 'reengagement') by the source that re-engaged them; they are not
-- installs.
--
-- ClickHouse 18.16 has no WITH of subqueries and joins two tables per SELECT: each
-- source counts in its own columns, the five are stacked with UNION ALL and summed per
-- media source and campaign, which is what DuckDB's full outer union of keys and four
-- left joins give.
SELECT media_source, campaign,
       sum(clicks)            AS clicks,
       sum(impressions)       AS impressions,
       sum(installs)          AS installs,
       sum(events)            AS events,
       sum(rejected_installs) AS rejected_installs,
       sum(reengagements)     AS reengagements
FROM (
    SELECT media_source, campaign,
           countIf(type = 'click')      AS clicks,
           countIf(type = 'impression') AS impressions,
           toUInt64(0) AS installs, toUInt64(0) AS events, toUInt64(0) AS rejected_installs,
           toUInt64(0) AS reengagements
    FROM touchpoints FINAL
    WHERE app_id = $1 AND touch_time >= $2 AND touch_time < $3
    GROUP BY media_source, campaign

    UNION ALL

    SELECT media_source, campaign, toUInt64(0), toUInt64(0), count(), toUInt64(0), toUInt64(0), toUInt64(0)
    FROM installs FINAL
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
      AND NOT is_reinstall AND NOT is_reattribution AND (attributed OR length(rejected_reason) = 0)
    GROUP BY media_source, campaign

    UNION ALL

    SELECT media_source, campaign, toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0), count()
    FROM installs FINAL
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
      AND reattribution_kind = 'reengagement'
    GROUP BY media_source, campaign

    UNION ALL

    SELECT if(media_source = '', 'organic', media_source) AS source, campaign,
           toUInt64(0), toUInt64(0), toUInt64(0), count(), toUInt64(0), toUInt64(0)
    FROM events FINAL
    WHERE app_id = $1 AND event_time >= $2 AND event_time < $3
    GROUP BY source, campaign

    UNION ALL

    SELECT rejected_source, campaign, toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0),
           uniqExact("partition", "offset"), toUInt64(0)
    FROM (
        SELECT "partition", "offset", rejected_touchpoint_id[1] AS touchpoint_id, rejected_media_source[1] AS rejected_source
        FROM installs FINAL
        WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
          AND NOT attributed AND NOT is_reinstall AND NOT is_reattribution AND length(rejected_reason) > 0
    )
    ANY LEFT JOIN (
        -- No FINAL: a replayed touchpoint's copies have the same campaign.
        SELECT touchpoint_id, campaign
        FROM touchpoints
        WHERE app_id = $1 AND touch_time >= $4 AND touch_time < $3
    ) USING touchpoint_id
    GROUP BY rejected_source, campaign
)
GROUP BY media_source, campaign
ORDER BY installs DESC, clicks DESC, media_source, campaign
