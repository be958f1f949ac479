-- An index of the installs by device id, for Attribution: a device's install decision is
-- a point lookup however many installs the table holds (a scan of 3M installs took 80 ms,
-- the lookup 2 ms). DuckDB uses an ART index only for a lone equality on its column, so
-- Attribution filters on device_id alone and picks the app and the latest position itself.
-- Installs are never updated or deleted; the index costs their appends ~8%.
CREATE INDEX installs_device_id ON installs (device_id);
