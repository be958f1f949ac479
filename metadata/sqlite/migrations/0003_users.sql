-- Users, their sessions, and apps' owners.
--
-- Portable SQL on purpose: the postgres package mirrors this file with BIGINT for the
-- INTEGER times, and the queries in user.go read the same there.
--
-- users.email is stored trimmed and lower-cased (unmogrowp.NormalizeEmail), so the plain
-- UNIQUE constraint compares emails case-insensitively. password_hash is an encoded
-- argon2id hash (package password), '' for a user who signs in only with Google.
-- google_subject is the Google account's "sub" claim: NULL until the user signs in with
-- Google, unique once set (UNIQUE allows many NULLs). Times are unix microseconds, UTC.
CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT    NOT NULL DEFAULT '',
    google_subject TEXT    UNIQUE,
    created_at     INTEGER NOT NULL
);

-- Sessions: only the SHA-256 (hex) of the bearer token is stored, so a copy of the
-- database holds no usable token. Revoking a session deletes its row; a session goes with
-- its user.
CREATE TABLE sessions (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- A user's sessions (for the cascade, and for "sign out everywhere" later), and expired
-- sessions for a sweep.
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- apps.owner_id now references users (id), as 0001 announced: SQLite cannot add a foreign
-- key to an existing table, so apps is rebuilt following SQLite's documented procedure
-- (https://www.sqlite.org/lang_altertable.html#otheralter): the migrator runs this with
-- foreign_keys OFF (so DROP TABLE apps neither cascades into links nor fails) and checks
-- foreign_key_check before it commits. links keeps referring to "apps" by name, which the
-- rebuilt table then is.
--
-- No build before this migration wrote owner_id (apps came from the command line, with
-- NULL), and the users table is new and empty, so any owner_id that is not NULL is
-- orphaned; it is copied as NULL rather than left to fail the foreign key check and stop
-- the upgrade. An owner is never deleted by the product; if one is, their apps stay, as
-- apps without an owner (ON DELETE SET NULL), rather than vanish with their data.
CREATE TABLE apps_new (
    id              TEXT    NOT NULL PRIMARY KEY,
    owner_id        TEXT    REFERENCES users (id) ON DELETE SET NULL,
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

INSERT INTO apps_new (id, owner_id, name, platform, bundle_id, ios_url, android_url, web_url,
    sdk_key, server_key_hash, signing_secret, settings, created_at)
SELECT id, (SELECT u.id FROM users u WHERE u.id = apps.owner_id), name, platform, bundle_id,
    ios_url, android_url, web_url, sdk_key, server_key_hash, signing_secret, settings,
    created_at
FROM apps;

DROP TABLE apps;
ALTER TABLE apps_new RENAME TO apps;

-- The indexes of 0001, which DROP TABLE removed with the old table.
CREATE INDEX apps_created_at ON apps (created_at, id);
CREATE INDEX apps_owner_id ON apps (owner_id, created_at, id);
