-- Tracking links: the media source and campaign that clicks through /c/{id} and
-- impressions through /i/{id} are credited to, and where a click is redirected.
--
-- Portable SQL on purpose: the postgres package mirrors this file with BIGINT for the
-- INTEGER time, and the queries in link.go read the same there.
--
-- A link belongs to one app and goes with it: ON DELETE CASCADE (SQLite enforces it
-- because every connection turns foreign_keys on). Empty URLs fall back to the app's
-- when a click is redirected, so they are stored as ''. Times are unix microseconds, UTC.
CREATE TABLE links (
    id              TEXT    NOT NULL PRIMARY KEY,
    app_id          TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    media_source    TEXT    NOT NULL DEFAULT '',
    campaign        TEXT    NOT NULL DEFAULT '',
    adset           TEXT    NOT NULL DEFAULT '',
    ad              TEXT    NOT NULL DEFAULT '',
    site_id         TEXT    NOT NULL DEFAULT '',
    channel         TEXT    NOT NULL DEFAULT '',
    ios_url         TEXT    NOT NULL DEFAULT '',
    android_url     TEXT    NOT NULL DEFAULT '',
    web_url         TEXT    NOT NULL DEFAULT '',
    deep_link_value TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);

-- An app's links, newest first (scanned backwards); it also finds the links that the
-- cascade removes when an app is deleted, without a scan of the whole table.
CREATE INDEX links_app_id ON links (app_id, created_at, id);
