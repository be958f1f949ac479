-- Chart events: events per interval and event type. The caller ranks the types (most
-- events first, ties by name), gives the most frequent ones their own series and sums
-- the others as 'other', and zero-fills the intervals without events: without window
-- functions (ClickHouse 18.16), ranking in SQL would scan the events twice, while the
-- rows here are few (intervals times types).
-- $1 app id, $2 from, $3 to (event_time in [$2, $3)), $4 the interval in microseconds. A
-- day is the report's zone's: LOCAL(t) is t's wall-clock time there (zone.go).
SELECT intDiv(LOCAL(event_time), $4) * $4 AS bucket, event_type, count() AS n
FROM events FINAL
WHERE app_id = $1 AND event_time >= $2 AND event_time < $3
GROUP BY bucket, event_type
