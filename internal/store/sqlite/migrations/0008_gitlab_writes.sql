-- Issue 9: the outbox of writes to GitLab (commit statuses, merge request
-- notes, deployments), so that an outage or a restart delays them but loses
-- none (docs/design/feedback.md).

-- One row per intended write. key serialises writes to the same GitLab
-- object ("status|<integration>|<project>|<sha>|<name>", …); within a key
-- only the newest pending write is sent and the order (ord, rank, id) only
-- moves forward.
CREATE TABLE gitlab_writes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id  TEXT NOT NULL,
    run_id          TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL CHECK (kind IN ('status', 'note', 'deployment')),
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
CREATE INDEX gitlab_writes_key ON gitlab_writes (key, state, id);
CREATE INDEX gitlab_writes_run ON gitlab_writes (run_id, id) WHERE run_id <> '';

-- One row per key: when its next write is due and who holds it. Claiming a
-- key is a compare-and-set on lease_until, so one process writes a key at a
-- time; mark_* is the newest write GitLab has for the key.
CREATE TABLE gitlab_write_keys (
    key            TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL,
    due_at         TEXT,
    lease_owner    TEXT NOT NULL DEFAULT '',
    lease_until    TEXT,
    mark_ord       TEXT,
    mark_rank      INTEGER NOT NULL DEFAULT 0,
    mark_id        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX gitlab_write_keys_due ON gitlab_write_keys (due_at) WHERE due_at IS NOT NULL;

-- Ids GitLab gave to objects Hoist keeps editing: the note of a (merge
-- request, stack), the environment of a stack, the deployment of a run.
CREATE TABLE gitlab_refs (
    key        TEXT PRIMARY KEY,
    gitlab_id  INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- The latest status class of each run on a commit, per aggregated status
-- name (hoist/tracked, hoist/proposed, hoist/modules): aggregated statuses
-- combine them.
CREATE TABLE gitlab_commit_runs (
    integration_id TEXT NOT NULL,
    project        TEXT NOT NULL,
    sha            TEXT NOT NULL,
    name           TEXT NOT NULL,
    member         TEXT NOT NULL,
    ord            TEXT NOT NULL,
    state          TEXT NOT NULL,
    PRIMARY KEY (integration_id, project, sha, name, member)
);

ALTER TABLE integrations ADD COLUMN aggregate_statuses INTEGER NOT NULL DEFAULT 0;
