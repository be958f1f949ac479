-- RetentionReport: cohorts of new installs (neither reinstalls nor re-attributions) by
-- local install day, and per day N = 0..$6 after it how many of the cohort's devices have
-- an event on that local day (LOCAL(t) is t's wall-clock time in the report's zone:
-- zone.go). A cohort whose devices have no event in range comes once with
-- day 0 and 0 devices (a missing row joins as 0s; the install event itself normally
-- gives day 0).
-- $1 app id, $2 from, $3 to (install_time in [$2, $3)); $4, $5 the event times that can
-- count (from the first cohort's day to $6 days after the last); $6 the last day. Days
-- are whole days since the epoch: intDiv(LOCAL(time), 86400000000).
-- The events are reduced to distinct (device, day), then joined with the cohorts, which
-- are the smaller side: ClickHouse builds its hash table from the right.
SELECT d, installs, day_n, devices
FROM (
    SELECT intDiv(LOCAL(install_time), 86400000000) AS d, count() AS installs
    FROM installs FINAL
    WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
      AND NOT is_reinstall AND NOT is_reattribution
      AND (attributed OR length(rejected_reason) = 0) -- a rejected install is not an install
    GROUP BY d
)
ALL LEFT JOIN (
    SELECT d, ed - d AS day_n, uniqExact(device_id) AS devices
    FROM (
        SELECT DISTINCT device_id, intDiv(LOCAL(event_time), 86400000000) AS ed
        FROM events FINAL
        WHERE app_id = $1 AND event_time >= $4 AND event_time < $5
    )
    ALL INNER JOIN (
        SELECT device_id, intDiv(LOCAL(install_time), 86400000000) AS d
        FROM installs FINAL
        WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
          AND NOT is_reinstall AND NOT is_reattribution
          AND (attributed OR length(rejected_reason) = 0) -- a rejected install is not an install
    ) USING device_id
    WHERE ed >= d AND ed <= d + $6
    GROUP BY d, day_n
) USING d
ORDER BY d, day_n
