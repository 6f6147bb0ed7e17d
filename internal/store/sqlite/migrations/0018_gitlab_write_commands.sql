-- Issue 18: merge request comment commands are answered through the
-- outbox like every other GitLab write: award emoji on the command's note
-- ('award') and a reply note ('reply'). The kind check allows them.
--
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter): nothing
-- references gitlab_writes and it has no triggers or views; its indexes
-- (0008, 0014) are created again below. The AUTOINCREMENT counter is
-- carried over before the rows, so ids keep growing past every id ever
-- handed out: the marks of gitlab_write_keys compare them.

CREATE TABLE gitlab_writes_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id  TEXT NOT NULL,
    run_id          TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL CHECK (kind IN ('status', 'note', 'deployment', 'award', 'reply')),
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
