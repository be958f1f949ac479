-- Users, their sessions, and apps' owners: sqlite/migrations/0003_users.sql in
-- PostgreSQL's dialect.
--
-- users.email is stored trimmed and lower-cased (unmogrowp.NormalizeEmail), so the plain
-- UNIQUE constraint compares emails case-insensitively. password_hash is an encoded
-- argon2id hash (package password), '' for a user who signs in only with Google.
-- google_subject is the Google account's "sub" claim: NULL until the user signs in with
-- Google, unique once set (UNIQUE allows many NULLs). The store tells which of the two
-- unique constraints a duplicate broke by their names, users_email_key and
-- users_google_subject_key (PostgreSQL's default names, spelled out here). Times are unix
-- microseconds, UTC.
CREATE TABLE users (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    email          TEXT   NOT NULL,
    name           TEXT   NOT NULL DEFAULT '',
    password_hash  TEXT   NOT NULL DEFAULT '',
    google_subject TEXT COLLATE "C",
    created_at     BIGINT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_google_subject_key UNIQUE (google_subject)
);

-- Sessions: only the SHA-256 (hex) of the bearer token is stored, so a copy of the
-- database holds no usable token. Revoking a session deletes its row; a session goes with
-- its user.
CREATE TABLE sessions (
    token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- A user's sessions (for the cascade, and for "sign out everywhere" later), and expired
-- sessions for a sweep.
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- apps.owner_id now references users (id). PostgreSQL adds the foreign key in place (SQLite
-- has to rebuild the table). As in SQLite, an owner_id that names no user (none can: the
-- users table is new) becomes NULL rather than stop the upgrade, and an owner who is
-- deleted leaves their apps without an owner (ON DELETE SET NULL).
UPDATE apps SET owner_id = NULL
WHERE owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = apps.owner_id);

ALTER TABLE apps ADD CONSTRAINT apps_owner_id_fkey
    FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE SET NULL;
