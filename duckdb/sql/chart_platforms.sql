-- Chart platforms: new installs per platform, most installs first. The platform is the
-- install event's (an install decision sits at its event's log position); 'unknown'
-- when the event has none or is missing.
-- $1 app id, $2 from, $3 to (install_time, which is the install event's time, in [$2, $3)).
SELECT coalesce(nullif(e.platform, ''), 'unknown') AS platform, count(*) AS installs
FROM installs i
LEFT JOIN events e
       ON e."partition" = i."partition" AND e."offset" = i."offset"
      AND e.app_id = $1 AND e.event_type = 'install' AND e.event_time >= $2 AND e.event_time < $3
WHERE i.app_id = $1 AND i.install_time >= $2 AND i.install_time < $3
  AND NOT i.is_reinstall AND NOT i.is_reattribution
  AND (i.attributed OR i.rejected_count = 0) -- a rejected install is not an install
GROUP BY 1
ORDER BY installs DESC, platform
