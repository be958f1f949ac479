-- RetentionReport: cohorts of new installs (neither reinstalls nor re-attributions) by
-- UTC install day, and per day N = 0..$6 after it how many of the cohort's devices have
-- an event on that UTC day. A cohort comes once with day NULL when none of its devices has
-- an event in range (the install event itself normally gives day 0).
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)); $4, $5 the UTC days whose events
-- can count (from the first cohort's day to $6 days after the last); $6 the last day.
-- The devices' active days come from device_days (activity.go), which holds them already
-- reduced to distinct (device, day), a device as its key: the cohorts' device ids are
-- keyed the same way.
WITH cohort AS (
    SELECT device_key(device_id) AS device_key, CAST(install_time AS DATE) AS d
    FROM installs
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
      AND NOT is_reinstall AND NOT is_reattribution
      AND (attributed OR rejected_count = 0) -- a rejected install is not an install
), sizes AS (
    SELECT d, count(*) AS installs FROM cohort GROUP BY d
), active AS (
    SELECT device_key, CAST(day AS DATE) AS ed
    FROM device_days
    WHERE app_id = $1 AND day >= $4 AND day < $5
), ret AS (
    SELECT c.d, date_diff('day', c.d, a.ed) AS day, count(DISTINCT c.device_key) AS devices
    FROM cohort c JOIN active a ON a.device_key = c.device_key
    WHERE a.ed >= c.d AND a.ed <= c.d + CAST($6 AS INTEGER)
    GROUP BY ALL
)
SELECT s.d, s.installs, r.day, r.devices
FROM sizes s LEFT JOIN ret r ON r.d = s.d
ORDER BY s.d, r.day
