-- Apps and their keys: sqlite/migrations/0001_apps.sql in PostgreSQL's dialect. The
-- columns, their meaning and the indexes are the same; only the types differ, so that the
-- queries in app.go read as SQLite's do.
--
-- Identifiers and keys are COLLATE "C": compared and ordered byte by byte, as Go and
-- SQLite compare them, whatever the database's locale (Apps orders ties by id), and with
-- the cheapest comparisons in the indexes.
--
-- owner_id is NULL for apps created on the command line; 0003 makes it reference users.
-- Only the SHA-256 (hex) of the server key is stored. settings is the JSON of
-- unmogrowp.AppSettings. Times are unix microseconds, UTC, as in SQLite.
CREATE TABLE apps (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    owner_id        TEXT COLLATE "C",
    name            TEXT   NOT NULL,
    platform        TEXT   NOT NULL DEFAULT '',
    bundle_id       TEXT   NOT NULL DEFAULT '',
    ios_url         TEXT   NOT NULL DEFAULT '',
    android_url     TEXT   NOT NULL DEFAULT '',
    web_url         TEXT   NOT NULL DEFAULT '',
    sdk_key         TEXT COLLATE "C" NOT NULL UNIQUE,
    server_key_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    signing_secret  TEXT   NOT NULL,
    settings        JSONB  NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE INDEX apps_created_at ON apps (created_at, id);
CREATE INDEX apps_owner_id ON apps (owner_id, created_at, id);
