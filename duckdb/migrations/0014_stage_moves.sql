-- stage_moves holds the number of the last batch of the stage (stage.go) moved into this
-- file's tables: the stage's views show only the staged rows of later batches, so that a
-- reader sees each row once. The stage is in memory; after a restart its numbers go on
-- from this one.
CREATE TABLE stage_moves (through BIGINT NOT NULL);
INSERT INTO stage_moves VALUES (0);
