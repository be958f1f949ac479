-- SKAdNetwork and AdAttributionKit: sqlite/migrations/0005_skan.sql in PostgreSQL's
-- dialect. The unique index is named as PostgreSQL names a one-column UNIQUE constraint
-- (apps_app_store_id_key), which is how the store tells which one a write broke.
--
-- app_store_id mirrors the app setting of that name (NULL for none), so that an intake
-- postback finds its app by index and a second app cannot claim the same id.
ALTER TABLE apps ADD COLUMN app_store_id BIGINT;
CREATE UNIQUE INDEX apps_app_store_id_key ON apps (app_store_id);

-- An app's conversion-value schema and network mapping, each a JSON document as the API
-- takes it ('' when not set). Goes with its app.
CREATE TABLE skan_configs (
    app_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    schema   TEXT NOT NULL DEFAULT '',
    networks TEXT NOT NULL DEFAULT ''
);
