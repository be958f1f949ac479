-- Reserved: version 11 is another change's, still on its own branch. This file holds the
-- number so that 0014 applies; it is deleted when that change's own migration file lands.
SELECT 1;
