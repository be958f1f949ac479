-- Re-engagement of dormant devices (docs/attribution.md): a re-engagement is an install
-- decision (is_reattribution) made at a dormant device's returning event, told from the
-- install path's reinstalls and re-attributions by reattribution_kind ('reinstall',
-- 'reengagement', '' for a new install). original_media_source and original_campaign
-- are, for a re-engagement, the source its device's events go back to once the
-- re-attribution window is over ('' otherwise). NOT NULL as in 0007 (a default first,
-- then the constraint); appended at the end: the appender's order (installColumns)
-- follows. DuckDB alters no table that an index depends on: installs_device_id (0004) is
-- dropped for the step and made again. The decisions stored before this step are the
-- install path's, and 0010 marks their reinstalls and re-attributions 'reinstall': DuckDB
-- neither alters nor indexes a table in a transaction that updated it, and each step is
-- one transaction.
DROP INDEX installs_device_id;
ALTER TABLE installs ADD COLUMN reattribution_kind VARCHAR DEFAULT '';
ALTER TABLE installs ADD COLUMN original_media_source VARCHAR DEFAULT '';
ALTER TABLE installs ADD COLUMN original_campaign VARCHAR DEFAULT '';
ALTER TABLE installs ALTER COLUMN reattribution_kind SET NOT NULL;
ALTER TABLE installs ALTER COLUMN original_media_source SET NOT NULL;
ALTER TABLE installs ALTER COLUMN original_campaign SET NOT NULL;
CREATE INDEX installs_device_id ON installs (device_id);
