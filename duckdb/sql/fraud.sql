-- FraudReport: the rejected touchpoints of every install decision in range (reinstalls,
-- re-attributions and attributed installs included), counted by media source and reason,
-- most first. rejected_count > 0 keeps the JSON parsing to the few installs with any.
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)).
SELECT r.media_source, r.reason, count(*) AS n
FROM (
    SELECT unnest(from_json(rejected, '[{"media_source":"VARCHAR","reason":"VARCHAR"}]')) AS r
    FROM installs
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3 AND rejected_count > 0
)
GROUP BY ALL
ORDER BY n DESC, r.media_source, r.reason
