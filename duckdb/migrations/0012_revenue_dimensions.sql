-- device_revenue gains the event's type and breakdown dimensions.
--
-- A breakdown's revenue (breakdown.go) is summed per local day and currency, grouped by
-- the event's media source, campaign, country, platform, app version or OS version and
-- filtered on them and on the event type: read from the events, that grouping costs
-- every event of the range (on 100M events, the breakdown by country with compare spent
-- more than half its time on it) where a few in a hundred have a revenue. With the
-- columns here it reads device_revenue instead. Each is the event's own column as the
-- events table stores it ('' when absent; media_source '' for organic). The table is
-- made again from the stored events (as 0011 filled it).
DROP TABLE device_revenue;
CREATE TABLE device_revenue (
    app_id       VARCHAR   NOT NULL,
    event_time   TIMESTAMP NOT NULL,
    device_key   BIGINT    NOT NULL,
    currency     VARCHAR   NOT NULL,
    revenue      DOUBLE    NOT NULL,
    event_type   VARCHAR   NOT NULL,
    media_source VARCHAR   NOT NULL,
    campaign     VARCHAR   NOT NULL,
    country      VARCHAR   NOT NULL,
    platform     VARCHAR   NOT NULL,
    app_version  VARCHAR   NOT NULL,
    os_version   VARCHAR   NOT NULL
);

INSERT INTO device_revenue
SELECT app_id, event_time, device_key(device_id), currency, revenue,
       event_type, media_source, campaign, country, platform, app_version, os_version
FROM events
WHERE revenue IS NOT NULL
ORDER BY event_time;
