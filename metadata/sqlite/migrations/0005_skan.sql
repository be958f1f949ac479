-- SKAdNetwork and AdAttributionKit (SKAN.md).
--
-- app_store_id mirrors the app setting of that name (settings.app_store_id; NULL for
-- none), so that an intake postback finds its app by index and a second app cannot claim
-- the same id (the UNIQUE index; NULLs do not collide).
ALTER TABLE apps ADD COLUMN app_store_id INTEGER;
CREATE UNIQUE INDEX apps_app_store_id ON apps (app_store_id);

-- An app's conversion-value schema and network mapping, each a JSON document as the API
-- takes it ('' when not set). Goes with its app.
CREATE TABLE skan_configs (
    app_id   TEXT NOT NULL PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    schema   TEXT NOT NULL DEFAULT '',
    networks TEXT NOT NULL DEFAULT ''
);
