-- Re-engagement of dormant devices (docs/attribution.md): a re-engagement is an install
-- decision (is_reattribution) made at a dormant device's returning event, told from the
-- install path's reinstalls and re-attributions by reattribution_kind ('reinstall',
-- 'reengagement', '' for a new install). original_media_source and original_campaign
-- are, for a re-engagement, the source its device's events go back to once the
-- re-attribution window is over ('' otherwise).
--
-- The decisions stored before this step are the install path's: reattribution_kind's
-- DEFAULT expression gives them 'reinstall' when they are a reinstall or a
-- re-attribution, computed on read for the parts written before (no mutation); every
-- insert since writes the column. ADD COLUMN run twice: see 0003_touchpoint_cost.sql.
ALTER TABLE installs ADD COLUMN reattribution_kind String DEFAULT if(is_reinstall OR is_reattribution, 'reinstall', '');
ALTER TABLE installs ADD COLUMN original_media_source String DEFAULT '';
ALTER TABLE installs ADD COLUMN original_campaign String DEFAULT '';
