-- Chart media_sources: new installs per media source, most installs first; rejected
-- installs (not attributed, with rejected touchpoints) as 'rejected', whatever media
-- source a decision made before that bucket existed stored ('organic').
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)).
SELECT CASE WHEN NOT attributed AND rejected_count > 0 THEN 'rejected' ELSE media_source END AS source,
       count(*) AS installs
FROM installs
WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
  AND NOT is_reinstall AND NOT is_reattribution
GROUP BY source
ORDER BY installs DESC, source
