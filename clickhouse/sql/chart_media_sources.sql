-- Chart media_sources: new installs per media source, most installs first.
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)).
SELECT media_source, count() AS installs
FROM installs FINAL
WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
  AND NOT is_reinstall AND NOT is_reattribution
GROUP BY media_source
ORDER BY installs DESC, media_source
