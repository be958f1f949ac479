-- Reserved for another branch's step 0010: a placeholder on branch w-links only, so that
-- the link windows step (0012) has no gap before it. Drop this file when the real 0010 is
-- merged.
SELECT 1;
