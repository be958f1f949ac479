-- Account security: the sessions list (an id, the last use, the sign-in's user agent and
-- address), password resets, and TOTP two-factor sign-in with recovery codes.
--
-- Portable SQL on purpose: the postgres package mirrors this file with BIGINT for the
-- INTEGER times, and the queries in account.go read the same there. Times are unix
-- microseconds, UTC.
--
-- sessions.id names a session in the list; it is no credential (the token's hash stays
-- the key). Sessions from before this migration get a random id and were last seen when
-- they were made.
ALTER TABLE sessions ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
UPDATE sessions SET id = 'ses_' || lower(hex(randomblob(10))), last_seen_at = created_at;
CREATE UNIQUE INDEX sessions_id ON sessions (id);

-- TOTP (RFC 6238): totp_secret is the base32 secret, pending while totp_enabled is 0 and
-- in use once it is 1 ('' when off). totp_last_step is the time step of the last code
-- accepted, so that a code is good once.
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Recovery codes: only the SHA-256 (hex) of each is kept; using one deletes it.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Password resets: only the SHA-256 (hex) of the token is kept; redeeming one deletes
-- every reset of its user (single use), as setting a password does.
CREATE TABLE password_resets (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX password_resets_user_id ON password_resets (user_id);
