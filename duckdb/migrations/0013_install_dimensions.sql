-- installs gains its install event's country, platform, app_version and os_version.
--
-- A breakdown (breakdown.go) groups and filters installs, rejected installs and
-- re-engagements by their event's dimensions: read by joining each decision to its event
-- (same app, "partition" and "offset"), that join and the scan of the install events it
-- needs cost a breakdown with compare about 470 of its 1,250 ms of CPU on 100M events.
-- With the columns here it reads them off the row. Each is the event's own column as the
-- events table stores it, from the event the breakdown joined: an install event for a new
-- install, a reinstall or a re-attribution, the returning event of any type for a
-- re-engagement; '' when there is none (a re-engagement at a click). Append writes them
-- (append.go, installDimensions); here they are filled from the stored events.
-- NOT NULL as in 0009: a default first, then the constraint, with installs_device_id
-- dropped for the ALTERs and made again before the UPDATE (DuckDB neither alters a table
-- an index depends on nor indexes one in a transaction that updated it).
DROP INDEX installs_device_id;
ALTER TABLE installs ADD COLUMN country VARCHAR DEFAULT '';
ALTER TABLE installs ADD COLUMN platform VARCHAR DEFAULT '';
ALTER TABLE installs ADD COLUMN app_version VARCHAR DEFAULT '';
ALTER TABLE installs ADD COLUMN os_version VARCHAR DEFAULT '';
ALTER TABLE installs ALTER COLUMN country SET NOT NULL;
ALTER TABLE installs ALTER COLUMN platform SET NOT NULL;
ALTER TABLE installs ALTER COLUMN app_version SET NOT NULL;
ALTER TABLE installs ALTER COLUMN os_version SET NOT NULL;
CREATE INDEX installs_device_id ON installs (device_id);

UPDATE installs x
SET country = ev.country, platform = ev.platform, app_version = ev.app_version, os_version = ev.os_version
FROM events ev
WHERE ev.app_id = x.app_id AND ev."partition" = x."partition" AND ev."offset" = x."offset"
  AND (ev.event_type = 'install' OR x.reattribution_kind = 'reengagement');
