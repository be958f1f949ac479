-- Teams: apps' members and their roles, invitations, personal access tokens, and apps'
-- audit logs (API.md, "Teams").
--
-- sqlite/migrations/0008_teams.sql in PostgreSQL's dialect: BIGINT for times, COLLATE "C"
-- for ids and hashes (as in 0001), the same queries (team.go). Times are unix
-- microseconds, UTC; 0 stands for "never" where a time may be absent.
--
-- A member is a user's role on an app. Exactly one owner per app: at most one by the
-- partial unique index, at least one because the store only ever moves ownership
-- (demoting the old owner and promoting the new one in one transaction) and refuses to
-- remove the owner. apps.owner_id stays, always the owner member's user id, so that the
-- app's owner reads as before. Members go with their app and with their user.
CREATE TABLE app_members (
    app_id   TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id  TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin', 'owner')),
    added_at BIGINT  NOT NULL,
    PRIMARY KEY (app_id, user_id)
);

-- A user's apps (GET /api/apps), and the rows the cascade removes with a user.
CREATE INDEX app_members_user_id ON app_members (user_id, app_id);
CREATE UNIQUE INDEX app_members_one_owner ON app_members (app_id) WHERE role = 'owner';

-- Every existing app's owner becomes its owner member.
INSERT INTO app_members (app_id, user_id, role, added_at)
SELECT id, owner_id, 'owner', created_at FROM apps WHERE owner_id IS NOT NULL;

-- Invitations: only the SHA-256 (hex) of the token is kept. Accepting one deletes it
-- (single use). invited_by becomes NULL if the inviter's user is deleted.
CREATE TABLE invitations (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id     TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    invited_by TEXT COLLATE "C" REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);

CREATE INDEX invitations_app_id ON invitations (app_id, created_at, id);

-- Personal access tokens: only the SHA-256 (hex) of the token is kept; revoking one
-- deletes its row. expires_at and last_used_at are 0 for never.
CREATE TABLE access_tokens (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL DEFAULT 0,
    last_used_at BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX access_tokens_user_id ON access_tokens (user_id, created_at, id);

-- The audit log: one row per change to an app, never a secret's value. The actor is kept
-- as it was (user_id and user_email, no foreign key), so that the log outlives the
-- user; it goes with its app. changes is a JSON object.
CREATE TABLE audit_log (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id     TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    at         BIGINT  NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    user_email TEXT    NOT NULL DEFAULT '',
    via        TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    changes    TEXT    NOT NULL DEFAULT '{}'
);

-- An app's log, newest first (scanned backwards).
CREATE INDEX audit_log_app_id ON audit_log (app_id, at, id);
