-- Issue 21: schedules per stack, drift detection and task runs.
--
-- A schedule fires its stack's drift run or task on a cron expression in
-- a time zone. next_run_at is the claim: a scheduler fires a schedule only
-- by moving next_run_at on from the value it read, in one conditional
-- UPDATE, so two servers on one database never both fire one firing, and
-- a server that was down fires a schedule whose firings it missed once.
CREATE TABLE stack_schedules (
    id          TEXT PRIMARY KEY,
    stack_id    TEXT NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('drift', 'task')),
    cron        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    command     TEXT NOT NULL DEFAULT '[]',
    reconcile   BOOLEAN NOT NULL DEFAULT FALSE,
    next_run_at TEXT NOT NULL,
    last_run_at TEXT,
    last_run_id TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX stack_schedules_stack ON stack_schedules (stack_id, id);
CREATE INDEX stack_schedules_due ON stack_schedules (next_run_at);

-- A task run's command (a JSON array of arguments) and the schedule that
-- made a run ('' for runs made otherwise).
ALTER TABLE runs ADD COLUMN task_command TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN schedule_id TEXT NOT NULL DEFAULT '';

-- The drift mark of a stack: what its last finished drift run found.
CREATE TABLE stack_drift (
    stack_id   TEXT PRIMARY KEY REFERENCES stacks (id) ON DELETE CASCADE,
    drifted    BOOLEAN NOT NULL,
    run_id     TEXT NOT NULL,
    resources  TEXT NOT NULL DEFAULT '[]',
    checked_at TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
