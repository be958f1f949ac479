-- Per-link attribution windows: click_lookback_days and view_lookback_hours override the
-- app's settings for the touchpoints of the link; 0 keeps the app's (every existing link).
ALTER TABLE links ADD COLUMN click_lookback_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN view_lookback_hours INTEGER NOT NULL DEFAULT 0;
