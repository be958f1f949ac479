-- Chart events: events per interval and event type, the $5 most frequent types of the
-- range each its own series, the others summed as 'other'. Series come ranked, most
-- events first ('other' last). The caller zero-fills the intervals without events. A day
-- is the report's zone's: LOCAL(t) is t's wall-clock time there (zone.go).
-- $1 app id, $2 from, $3 to (event_time in [$2, $3)), $4 'hour' or 'day', $5 how many types.
-- One scan of the events; the ranking works on the small per-interval aggregate.
WITH c AS (
    SELECT date_trunc($4, LOCAL(event_time)) AS bucket, event_type, count(*) AS n
    FROM events
    WHERE app_id = $1 AND event_time >= $2 AND event_time < $3
    GROUP BY ALL
), ranked AS (
    SELECT event_type, row_number() OVER (ORDER BY sum(n) DESC, event_type) AS rank
    FROM c
    GROUP BY event_type
)
SELECT c.bucket,
       CASE WHEN r.rank <= $5 THEN c.event_type ELSE 'other' END AS series,
       least(r.rank, $5 + 1)                                      AS rank,
       sum(c.n)                                                   AS n
FROM c JOIN ranked r USING (event_type)
GROUP BY ALL
ORDER BY rank, c.bucket
