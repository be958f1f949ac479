-- Which devices of an app sent an event on which UTC day, for Stats' active devices
-- (activity.go says why). One row per app, day (midnight UTC) and device, the device id
-- as its key: md5_number's lower 63 bits, which the store computes in Go as deviceKey. A
-- row may repeat; readers count DISTINCT. Append writes it in the batch's transaction.
-- This step fills it from the events already stored.
CREATE TABLE device_days (
    app_id     VARCHAR   NOT NULL,
    day        TIMESTAMP NOT NULL,
    device_key BIGINT    NOT NULL
);

INSERT INTO device_days
SELECT app_id, day, (md5_number(device_id) & 9223372036854775807)::BIGINT
FROM (SELECT DISTINCT app_id, date_trunc('day', event_time) AS day, device_id FROM events)
ORDER BY day, app_id;
