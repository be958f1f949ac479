-- Reserved for another branch's step 0011: a placeholder on branch w-links only, so that
-- the link windows step (0012) has no gap before it. Drop this file when the real 0011 is
-- merged.
SELECT 1;
