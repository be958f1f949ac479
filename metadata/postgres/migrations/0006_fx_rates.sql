-- Exchange rates: sqlite/migrations/0006_fx_rates.sql in PostgreSQL's dialect (DOUBLE
-- PRECISION for the rate, BIGINT for the version, COLLATE "C" as in 0001).
--
-- One row per date and quoted currency: one unit of base buys rate units of currency. All
-- of a date's rows have the same base; a new load of a date replaces all of its rows.
CREATE TABLE fx_rates (
    date     TEXT COLLATE "C" NOT NULL,
    base     TEXT COLLATE "C" NOT NULL,
    currency TEXT COLLATE "C" NOT NULL,
    rate     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (date, currency)
);

-- One row whose version each load of rates increases (in the load's transaction).
CREATE TABLE fx_rates_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);
INSERT INTO fx_rates_version (id, version) VALUES (1, 0);
