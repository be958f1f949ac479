-- The cost of a touchpoint (docs/cost.md): cost_model 'cpi', 'cpc' or 'cpm', or '' for a
-- touchpoint without cost (every touchpoint stored before this step); cost_value per
-- install, click or thousand impressions, in cost_currency ('' without cost). NOT NULL
-- like the other columns (DuckDB adds a column with a default, then takes the
-- constraint). Appended at the end: the appender's row order (touchpointColumns in
-- rows.go) follows the table's.
ALTER TABLE touchpoints ADD COLUMN cost_model VARCHAR DEFAULT '';
ALTER TABLE touchpoints ADD COLUMN cost_value DOUBLE DEFAULT 0;
ALTER TABLE touchpoints ADD COLUMN cost_currency VARCHAR DEFAULT '';
ALTER TABLE touchpoints ALTER COLUMN cost_model SET NOT NULL;
ALTER TABLE touchpoints ALTER COLUMN cost_value SET NOT NULL;
ALTER TABLE touchpoints ALTER COLUMN cost_currency SET NOT NULL;
