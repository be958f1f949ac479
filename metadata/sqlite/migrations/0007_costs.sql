-- Imported cost (docs/cost.md): what an app spent per day (YYYY-MM-DD, a day in the
-- app's time zone) and media source, down to campaign, adset, ad and country ('' for all).
-- The primary key is the key of the upsert (INSERT ... ON CONFLICT DO UPDATE): a row
-- with the key of a stored one replaces it. WITHOUT ROWID keeps the rows in key order,
-- which is the order of an app's range of dates. A cost goes with its app (ON DELETE
-- CASCADE).
CREATE TABLE costs (
    app_id       TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    date         TEXT    NOT NULL,
    media_source TEXT    NOT NULL,
    campaign     TEXT    NOT NULL,
    adset        TEXT    NOT NULL,
    ad           TEXT    NOT NULL,
    country      TEXT    NOT NULL,
    cost         REAL    NOT NULL,
    currency     TEXT    NOT NULL,
    impressions  INTEGER NOT NULL,
    clicks       INTEGER NOT NULL,
    PRIMARY KEY (app_id, date, media_source, campaign, adset, ad, country)
) WITHOUT ROWID;
