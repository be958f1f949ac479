-- FraudReport: the rejected touchpoints of every install decision in range (reinstalls,
-- re-attributions and attributed installs included), by media source and reason: how many
-- distinct touchpoints, and how many distinct install decisions rejected one, most
-- touchpoints first. A touchpoint that several installs rejected counts once; an install
-- counts once per row whatever number of that row's touchpoints it rejected. ARRAY JOIN
-- makes a row of each rejected touchpoint (and none of an install without any).
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)).
SELECT rejected_source, reason, uniqExact(touchpoint_id) AS touchpoints, uniqExact("partition", "offset") AS installs
FROM installs FINAL
ARRAY JOIN rejected_touchpoint_id AS touchpoint_id, rejected_media_source AS rejected_source, rejected_reason AS reason
WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
GROUP BY rejected_source, reason
ORDER BY touchpoints DESC, installs DESC, rejected_source, reason
