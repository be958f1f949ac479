-- Reserved for the SKAdNetwork migration, which lands in another branch with this number:
-- migrations run 1, 2, 3... without gaps, and this one holds the place of 0005 until that
-- branch's 0005 replaces it (delete this file then). It changes nothing.
SELECT 1;
