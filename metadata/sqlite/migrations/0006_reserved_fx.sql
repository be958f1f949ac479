-- Reserved for the exchange-rates step (0006) of another branch: a placeholder on branch
-- w-cost only, so that the costs step (0007) has no gap before it. Drop this file when
-- the real 0006 is merged.
SELECT 1;
