-- Reserved for the scheduled exports step 0011, still on its own branch: a placeholder so
-- that the steps after it (0012 on) have no gap. Replace this file with the real 0011 when
-- it is merged.
SELECT 1;
