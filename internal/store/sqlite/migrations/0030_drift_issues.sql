-- Issue 21, GitLab issues for drifted stacks: a stack with drift_issue on
-- has one GitLab issue in its project opened when it becomes drifted and
-- closed when the drift is gone, labelled with drift_issue_labels (a JSON
-- array). The issue's iid is kept in gitlab_refs under the write's key.
ALTER TABLE stacks ADD COLUMN drift_issue INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stacks ADD COLUMN drift_issue_labels TEXT NOT NULL DEFAULT '[]';

-- Opening, editing and closing that issue is a GitLab write of the outbox,
-- kind 'issue': the kind check allows it. SQLite cannot alter a CHECK
-- constraint, so the table is rebuilt as in 0018 and 0022.

CREATE TABLE gitlab_writes_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id  TEXT NOT NULL,
    run_id          TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL CHECK (kind IN ('status', 'note', 'deployment', 'award', 'reply', 'merge', 'issue')),
    key             TEXT NOT NULL,
    ord             TEXT NOT NULL DEFAULT '',
    rank            INTEGER NOT NULL DEFAULT 0,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'done', 'skipped', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    result          TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'gitlab_writes_new', seq FROM sqlite_sequence WHERE name = 'gitlab_writes';
INSERT INTO gitlab_writes_new (id, integration_id, run_id, kind, key, ord, rank, payload, state, attempts,
        next_attempt_at, last_error, result, created_at, updated_at)
    SELECT id, integration_id, run_id, kind, key, ord, rank, payload, state, attempts,
        next_attempt_at, last_error, result, created_at, updated_at FROM gitlab_writes;
DROP TABLE gitlab_writes;
ALTER TABLE gitlab_writes_new RENAME TO gitlab_writes;
CREATE INDEX gitlab_writes_key ON gitlab_writes (key, state, id);
CREATE INDEX gitlab_writes_run ON gitlab_writes (run_id, id) WHERE run_id <> '';
CREATE INDEX gitlab_writes_open ON gitlab_writes (kind, created_at) WHERE state IN ('pending', 'retrying');
