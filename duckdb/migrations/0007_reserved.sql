-- Reserved for the touchpoint cost columns (another change); kept empty here so that the
-- SKAN migration 0008 follows without a gap. Replace with that change's 0007 on merge.
SELECT 1;
