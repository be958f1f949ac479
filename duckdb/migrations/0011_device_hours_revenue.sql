-- device_days gains hours, and device_revenue keeps the events' revenues by device.
--
-- device_days' hours: the UTC hours of the day in which the device sent an event, as
-- a bit mask (bit h for hour h, 0 to 23), so that the retention report in a zone whose
-- offsets are whole hours reduces a device's UTC days to the zone's local days without
-- reading the events (retention.go). A device-day may still be stored more than once; its
-- rows' masks together are the hours of its events (readers OR them, or test each row).
-- The table is made again from the stored events (as 0003 filled it): the rows stored so
-- far know no hours.
DROP TABLE device_days;
CREATE TABLE device_days (
    app_id     VARCHAR   NOT NULL,
    day        TIMESTAMP NOT NULL,
    device_key BIGINT    NOT NULL,
    hours      INTEGER   NOT NULL
);

INSERT INTO device_days
SELECT app_id, day, device_key(device_id), bit_or((1 << hour(event_time))::INTEGER)
FROM (SELECT app_id, date_trunc('day', event_time) AS day, device_id, event_time FROM events)
GROUP BY app_id, day, device_id
ORDER BY day, app_id;

-- device_revenue: a row for each event with a revenue, its device as its key, which the
-- LTV report reads instead of the events (revenue.go). Append writes it in the batch's
-- transaction; this step fills it from the events already stored.
CREATE TABLE device_revenue (
    app_id     VARCHAR   NOT NULL,
    event_time TIMESTAMP NOT NULL,
    device_key BIGINT    NOT NULL,
    currency   VARCHAR   NOT NULL,
    revenue    DOUBLE    NOT NULL
);

INSERT INTO device_revenue
SELECT app_id, event_time, device_key(device_id), currency, revenue
FROM events
WHERE revenue IS NOT NULL
ORDER BY event_time;
