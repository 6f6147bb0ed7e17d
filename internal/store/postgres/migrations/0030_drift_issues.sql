-- Issue 21, GitLab issues for drifted stacks: see the SQLite migration.
ALTER TABLE stacks ADD COLUMN drift_issue BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE stacks ADD COLUMN drift_issue_labels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE gitlab_writes DROP CONSTRAINT gitlab_writes_kind_check,
    ADD CONSTRAINT gitlab_writes_kind_check CHECK (kind IN ('status', 'note', 'deployment', 'award', 'reply', 'merge', 'issue')) NOT VALID;
