-- Reserved for the SKAdNetwork step (0005) of another branch: a placeholder on branch
-- w-cost only, so that the costs step (0007) has no gap before it. Drop this file when
-- the real 0005 is merged.
SELECT 1;
