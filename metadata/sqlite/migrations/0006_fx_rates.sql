-- Exchange rates (unmogrowp.FXRates): shared by every app of the server, loaded by the
-- operator (PUT /api/fx-rates, unmogrowp fx import). One row per date and quoted currency:
-- one unit of base buys rate units of currency. All of a date's rows have the same base; a
-- new load of a date replaces all of its rows. Dates are YYYY-MM-DD, which sort as dates.
CREATE TABLE fx_rates (
    date     TEXT NOT NULL,
    base     TEXT NOT NULL,
    currency TEXT NOT NULL,
    rate     REAL NOT NULL,
    PRIMARY KEY (date, currency)
);

-- One row whose version each load of rates increases (in the load's transaction), so that
-- a process caching the rates reads one row to know whether they changed.
CREATE TABLE fx_rates_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO fx_rates_version (id, version) VALUES (1, 0);
