-- The cost of a touchpoint (docs/cost.md): cost_model 'cpi', 'cpc' or 'cpm', or '' for a
-- touchpoint without cost (every touchpoint stored before this step); cost_value per
-- install, click or thousand impressions, in cost_currency ('' without cost).
--
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: the migration runner takes "column
-- already exists" of an ADD COLUMN as done (addColumnDone in migrate.go), which keeps
-- this step harmless to run twice.
ALTER TABLE touchpoints ADD COLUMN cost_model String DEFAULT '';
ALTER TABLE touchpoints ADD COLUMN cost_value Float64 DEFAULT 0;
ALTER TABLE touchpoints ADD COLUMN cost_currency String DEFAULT '';
