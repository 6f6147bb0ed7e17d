-- Generation counters of the tables whose rows every webhook reads and
-- that rarely change (a repository's stacks, the integrations): the store
-- keeps those rows in memory for as long as their table's generation has
-- not moved (sqlstore/readcache.go). Triggers bump it on every insert,
-- update and delete, whatever wrote the row (any server, a migration, a
-- person with the sqlite3 shell), so no write path can leave a server
-- with stale rows. A migration that rebuilds stacks or integrations must
-- create these triggers again: storetest's ReadCache test fails otherwise.
CREATE TABLE table_generations (
    name       TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);
INSERT INTO table_generations (name, generation) VALUES ('stacks', 0), ('integrations', 0);

CREATE TRIGGER stacks_generation_insert AFTER INSERT ON stacks
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'stacks'; END;
CREATE TRIGGER stacks_generation_update AFTER UPDATE ON stacks
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'stacks'; END;
CREATE TRIGGER stacks_generation_delete AFTER DELETE ON stacks
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'stacks'; END;

CREATE TRIGGER integrations_generation_insert AFTER INSERT ON integrations
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'integrations'; END;
CREATE TRIGGER integrations_generation_update AFTER UPDATE ON integrations
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'integrations'; END;
CREATE TRIGGER integrations_generation_delete AFTER DELETE ON integrations
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'integrations'; END;
