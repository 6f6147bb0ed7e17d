-- Issue 21, a stack that turns its drift issue off: see the SQLite migration.
ALTER TABLE stacks ADD COLUMN drift_issue_off BOOLEAN NOT NULL DEFAULT FALSE,
    ADD CONSTRAINT stacks_drift_issue_mode CHECK (NOT (drift_issue AND drift_issue_off));
UPDATE table_generations SET generation = generation + 1 WHERE name = 'stacks';
