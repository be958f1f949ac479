-- Reserved: version 11 is another change's, still on its own branch (0009 consent and
-- outbox, 0010 to 0012 others). This file holds the number so that 0013 applies; it is
-- deleted when that change's own migration file lands.
SELECT 1;
