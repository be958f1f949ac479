-- Apps and their keys.
--
-- Portable SQL on purpose: the postgres package mirrors this file with BIGINT for the
-- INTEGER times and JSONB for settings, and the queries in app.go read the same there.
--
-- owner_id is NULL for apps created on the command line. It will reference users(id) once
-- the users table exists; a later migration rebuilds this table to add that foreign key
-- (migrations run with foreign_keys off and end with a foreign_key_check, as SQLite's
-- documented table rebuild requires).
--
-- Keys: sdk_key is public and stored as is; only the SHA-256 (hex) of the server key is
-- stored; signing_secret is stored as is because the server needs it to check signatures.
-- Times are unix microseconds, UTC.
CREATE TABLE apps (
    id              TEXT    NOT NULL PRIMARY KEY,
    owner_id        TEXT,
    name            TEXT    NOT NULL,
    platform        TEXT    NOT NULL DEFAULT '',
    bundle_id       TEXT    NOT NULL DEFAULT '',
    ios_url         TEXT    NOT NULL DEFAULT '',
    android_url     TEXT    NOT NULL DEFAULT '',
    web_url         TEXT    NOT NULL DEFAULT '',
    sdk_key         TEXT    NOT NULL UNIQUE,
    server_key_hash TEXT    NOT NULL UNIQUE,
    signing_secret  TEXT    NOT NULL,
    settings        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE INDEX apps_created_at ON apps (created_at, id);
CREATE INDEX apps_owner_id ON apps (owner_id, created_at, id);
