-- Reserved: version 7 is another change's, still on its own branch (0005 SKAN, 0006
-- fx rates, 0007 costs). This file holds the number so that 0008 applies; it is deleted
-- when that change's own migration file lands.
SELECT 1;
