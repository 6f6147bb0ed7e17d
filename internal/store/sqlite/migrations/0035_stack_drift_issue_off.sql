-- Issue 21, a stack that turns its drift issue off: drift_issue (on, with
-- the stack's labels) and drift_issue_off (off, whatever the integration
-- says) make three states with neither meaning "as the integration says",
-- what every existing stack keeps. Both at once is refused. Added, not
-- rebuilt: a rebuild would drop the generation triggers of 0031.
ALTER TABLE stacks ADD COLUMN drift_issue_off INTEGER NOT NULL DEFAULT 0
    CHECK (drift_issue_off = 0 OR drift_issue = 0);
-- Servers still running the previous version cache stacks by generation.
UPDATE table_generations SET generation = generation + 1 WHERE name = 'stacks';
