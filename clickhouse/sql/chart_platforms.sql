-- Chart platforms: new installs per platform, most installs first. The platform is the
-- install event's (an install decision sits at its event's log position); 'unknown'
-- when the event has none or is missing (a missing row joins as '').
-- $1 app id, $2 from, $3 to (install_time, which is the install event's time, in [$2, $3)).
SELECT if(platform = '', 'unknown', platform) AS platform_name, count() AS installs
FROM (
    SELECT "partition", "offset"
    FROM installs FINAL
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
      AND NOT is_reinstall AND NOT is_reattribution
      AND (attributed OR length(rejected_reason) = 0) -- a rejected install is not an install
)
ANY LEFT JOIN (
    SELECT "partition", "offset", platform
    FROM events FINAL
    WHERE app_id = $1 AND event_type = 'install' AND event_time >= $2 AND event_time < $3
) USING ("partition", "offset")
GROUP BY platform_name
ORDER BY installs DESC, platform_name
