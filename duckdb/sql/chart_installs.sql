-- Chart installs: new installs (neither reinstalls nor re-attributions) per interval,
-- organic, non-organic and rejected (not attributed, with rejected touchpoints: not
-- organic). The caller zero-fills the intervals without installs. A day is the report's
-- zone's: LOCAL(t) is t's wall-clock time there (zone.go).
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)), $4 'hour' or 'day'.
SELECT
    date_trunc($4, LOCAL(install_time))                           AS bucket,
    count(*) FILTER (WHERE NOT attributed AND rejected_count = 0) AS organic,
    count(*) FILTER (WHERE attributed)                            AS non_organic,
    count(*) FILTER (WHERE NOT attributed AND rejected_count > 0) AS rejected
FROM installs
WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
  AND NOT is_reinstall AND NOT is_reattribution
GROUP BY bucket
