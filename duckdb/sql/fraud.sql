-- FraudReport: the rejected touchpoints of every install decision in range (reinstalls,
-- re-attributions and attributed installs included), by media source and reason: how many
-- distinct touchpoints, and how many distinct install decisions rejected one, most
-- touchpoints first. A touchpoint that several installs rejected counts once; an install
-- counts once per row whatever number of that row's touchpoints it rejected.
-- rejected_count > 0 keeps the JSON parsing to the few installs with any.
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)).
SELECT r.media_source, r.reason,
       count(DISTINCT r.touchpoint_id)          AS touchpoints,
       count(DISTINCT ("partition", "offset")) AS installs
FROM (
    SELECT "partition", "offset",
           unnest(from_json(rejected, '[{"touchpoint_id":"VARCHAR","media_source":"VARCHAR","reason":"VARCHAR"}]')) AS r
    FROM installs
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3 AND rejected_count > 0
)
GROUP BY ALL
ORDER BY touchpoints DESC, installs DESC, r.media_source, r.reason
