-- The policies join the read cache: see the SQLite migration.
INSERT INTO table_generations (name, generation) VALUES ('policies', 0);

CREATE TRIGGER policies_generation AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH STATEMENT EXECUTE FUNCTION bump_table_generation();
