-- The policies join the read cache (0031): every push delivery lists the
-- push policies, which rarely change.
INSERT INTO table_generations (name, generation) VALUES ('policies', 0);

CREATE TRIGGER policies_generation_insert AFTER INSERT ON policies
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'policies'; END;
CREATE TRIGGER policies_generation_update AFTER UPDATE ON policies
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'policies'; END;
CREATE TRIGGER policies_generation_delete AFTER DELETE ON policies
BEGIN UPDATE table_generations SET generation = generation + 1 WHERE name = 'policies'; END;
