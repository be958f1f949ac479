-- Chart installs: new installs (neither reinstalls nor re-attributions) per interval,
-- organic, non-organic and rejected (not attributed, with rejected touchpoints: not
-- organic). The caller zero-fills the intervals without installs.
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)), $4 the interval in microseconds
-- (UTC hours and days are whole multiples of it since the epoch). A day is the report's
-- zone's: LOCAL(t) is t's wall-clock time there (zone.go).
SELECT
    intDiv(LOCAL(install_time), $4) * $4 AS bucket,
    countIf(NOT attributed AND length(rejected_reason) = 0) AS organic,
    countIf(attributed)                                     AS non_organic,
    countIf(NOT attributed AND length(rejected_reason) > 0) AS rejected
FROM installs FINAL
WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
  AND NOT is_reinstall AND NOT is_reattribution
GROUP BY bucket
