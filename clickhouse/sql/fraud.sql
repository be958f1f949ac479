-- FraudReport: the rejected touchpoints of every install decision in range (reinstalls,
-- re-attributions and attributed installs included), counted by media source and reason,
-- most first. ARRAY JOIN makes a row of each rejected touchpoint (and none of an install
-- without any).
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)).
SELECT rejected_source, reason, count() AS n
FROM installs FINAL
ARRAY JOIN rejected_media_source AS rejected_source, rejected_reason AS reason
WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
GROUP BY rejected_source, reason
ORDER BY n DESC, rejected_source, reason
