-- Imported cost: sqlite/migrations/0007_costs.sql in PostgreSQL's dialect (DOUBLE
-- PRECISION, BIGINT, COLLATE "C" on the key's text so that it sorts by bytes as SQLite
-- does).
--
-- What an app spent per day (YYYY-MM-DD, a day in the app's time zone) and media source,
-- down to campaign, adset, ad and country ('' for all). The primary key is the key of the
-- upsert (INSERT ... ON CONFLICT DO UPDATE): a row with the key of a stored one replaces
-- it. A cost goes with its app (ON DELETE CASCADE).
CREATE TABLE costs (
    app_id       TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    date         TEXT COLLATE "C" NOT NULL,
    media_source TEXT COLLATE "C" NOT NULL,
    campaign     TEXT COLLATE "C" NOT NULL,
    adset        TEXT COLLATE "C" NOT NULL,
    ad           TEXT COLLATE "C" NOT NULL,
    country      TEXT COLLATE "C" NOT NULL,
    cost         DOUBLE PRECISION NOT NULL,
    currency     TEXT NOT NULL,
    impressions  BIGINT NOT NULL,
    clicks       BIGINT NOT NULL,
    PRIMARY KEY (app_id, date, media_source, campaign, adset, ad, country)
);
