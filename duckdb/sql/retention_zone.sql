-- RetentionReport in a zone other than UTC: retention.sql with the days of the report's
-- zone. device_days holds UTC days, which are not the zone's, so the devices' active
-- days come from the events themselves, read only for the cohorts' devices and named by
-- their ids (hashing every event's id into its key costs more than the join). LOCAL(t)
-- is t's wall-clock time in the zone (zone.go).
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)); $4, $5 the event times that can
-- count (from the first cohort's local day to $6 days after the last); $6 the last day.
WITH cohort AS (
    SELECT device_id AS device, CAST(LOCAL(install_time) AS DATE) AS d
    FROM installs
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
      AND NOT is_reinstall AND NOT is_reattribution
      AND (attributed OR rejected_count = 0) -- a rejected install is not an install
), sizes AS (
    SELECT d, count(*) AS installs FROM cohort GROUP BY d
), active AS (
    SELECT DISTINCT device_id AS device, CAST(LOCAL(event_time) AS DATE) AS ed
    FROM events
    WHERE app_id = $1 AND event_time >= $4 AND event_time < $5
      AND device_id IN (SELECT device FROM cohort)
), ret AS (
    SELECT c.d, date_diff('day', c.d, a.ed) AS day, count(DISTINCT c.device) AS devices
    FROM cohort c JOIN active a ON a.device = c.device
    WHERE a.ed >= c.d AND a.ed <= c.d + CAST($6 AS INTEGER)
    GROUP BY ALL
)
SELECT s.d, s.installs, r.day, r.devices
FROM sizes s LEFT JOIN ret r ON r.d = s.d
ORDER BY s.d, r.day
