-- The open writes alone in the key index: see the SQLite migration.
DROP INDEX gitlab_writes_key;
CREATE INDEX gitlab_writes_key ON gitlab_writes (key, id) WHERE state IN ('pending', 'retrying');
