-- The decisions stored before 0009 are the install path's: its reinstalls and
-- re-attributions are 'reinstall' (0009's comment says why this is a step of its own).
-- A store whose 0009 made the update itself (it did, before it was split) is unchanged.
UPDATE installs SET reattribution_kind = 'reinstall' WHERE (is_reinstall OR is_reattribution) AND reattribution_kind = '';
