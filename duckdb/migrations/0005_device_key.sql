-- device_key(id): a device id's key in device_days, the first 8 bytes of its MD5 as a
-- little-endian integer with the top bit cleared, as deviceKey computes it in Go
-- (activity.go). The reports that join device_days with device ids call it; 0003 spelled
-- it out before the macro existed.
CREATE MACRO device_key(id) AS (md5_number(id) & 9223372036854775807)::BIGINT;
