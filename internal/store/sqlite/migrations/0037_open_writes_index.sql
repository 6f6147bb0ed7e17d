-- A key's writes are looked up by key only while they are open (the
-- dispatcher's claim and the key's next due time): the index on
-- (key, state, id) held every write ever made, at keys random across the
-- table, so each write inserted into, and each resolution moved within, a
-- page of its own, written to the WAL at every commit. Holding the open
-- writes alone, it stays a few pages that the commits share
-- (docs/benchmarks.md).
DROP INDEX gitlab_writes_key;
CREATE INDEX gitlab_writes_key ON gitlab_writes (key, id) WHERE state IN ('pending', 'retrying');
