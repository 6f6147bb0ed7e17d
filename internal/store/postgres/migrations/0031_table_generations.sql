-- Generation counters of stacks and integrations for the servers' read
-- cache: see the SQLite migration. One bump per statement, whatever it
-- changed; old replicas that do not read the counters are unaffected.
CREATE TABLE table_generations (
    name       TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO table_generations (name, generation) VALUES ('stacks', 0), ('integrations', 0);

CREATE FUNCTION bump_table_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE table_generations SET generation = generation + 1 WHERE name = TG_TABLE_NAME;
    RETURN NULL;
END;
$$;

CREATE TRIGGER stacks_generation AFTER INSERT OR UPDATE OR DELETE ON stacks
    FOR EACH STATEMENT EXECUTE FUNCTION bump_table_generation();
CREATE TRIGGER integrations_generation AFTER INSERT OR UPDATE OR DELETE ON integrations
    FOR EACH STATEMENT EXECUTE FUNCTION bump_table_generation();
