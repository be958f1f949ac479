-- The fraud report's total of rejected installs: new installs (neither reinstalls nor
-- re-attributions) not attributed, with rejected touchpoints; what Stats counts.
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)).
SELECT count()
FROM installs FINAL
WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
  AND NOT is_reinstall AND NOT is_reattribution AND NOT attributed AND length(rejected_reason) > 0
