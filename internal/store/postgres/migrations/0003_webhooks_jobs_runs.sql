-- Issue 4: webhook deliveries, the durable job queue, runs and their history.

-- One HTTP request GitLab sent, stored as received (SPEC §2.4). Ids are
-- ulids, so id order is arrival order.
CREATE TABLE webhook_deliveries (
    id             TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    dedupe_key     TEXT NOT NULL,
    event          TEXT NOT NULL,
    project        TEXT NOT NULL DEFAULT '',
    ref            TEXT NOT NULL DEFAULT '',
    headers        JSONB NOT NULL DEFAULT '{}',
    body           BYTEA NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('received', 'processing', 'processed', 'ignored', 'failed')),
    result         JSONB NOT NULL DEFAULT '{}',
    error          TEXT NOT NULL DEFAULT '',
    attempts       BIGINT NOT NULL DEFAULT 0,
    received_at    TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (integration_id, dedupe_key)
);
CREATE INDEX webhook_deliveries_integration ON webhook_deliveries (integration_id, id);

-- The job queue (docs/design/jobqueue.md). Finished jobs are deleted; jobs
-- that gave up stay, state 'failed', for operators to see.
CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedupe_key   TEXT,
    state        TEXT NOT NULL DEFAULT 'available' CHECK (state IN ('available', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_at       TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    give_up_at   TIMESTAMPTZ NOT NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    locked_by    TEXT,
    locked_until TIMESTAMPTZ
);
CREATE INDEX jobs_due ON jobs (state, run_at, id);
-- At most one pending job per (kind, dedupe key).
CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, dedupe_key) WHERE dedupe_key IS NOT NULL AND state = 'available';

CREATE TABLE runs (
    id                TEXT PRIMARY KEY,
    stack_id          TEXT NOT NULL,
    type              TEXT NOT NULL CHECK (type IN ('TRACKED', 'PROPOSED', 'TASK')),
    state             TEXT NOT NULL,
    commit_sha        TEXT NOT NULL DEFAULT '',
    branch            TEXT NOT NULL DEFAULT '',
    merge_request_iid BIGINT NOT NULL DEFAULT 0,
    merge_request_url TEXT NOT NULL DEFAULT '',
    trigger_kind      TEXT NOT NULL DEFAULT '',
    triggered_by      TEXT NOT NULL DEFAULT '',
    reason            TEXT NOT NULL DEFAULT '',
    delivery_id       TEXT NOT NULL DEFAULT '',
    delta_add         BIGINT NOT NULL DEFAULT 0,
    delta_change      BIGINT NOT NULL DEFAULT 0,
    delta_destroy     BIGINT NOT NULL DEFAULT 0,
    delta_import      BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX runs_stack ON runs (stack_id, id);
CREATE INDEX runs_sha ON runs (commit_sha);
CREATE INDEX runs_branch ON runs (branch, state);
CREATE INDEX runs_delivery ON runs (delivery_id) WHERE delivery_id <> '';
CREATE INDEX runs_merge_request ON runs (merge_request_iid) WHERE merge_request_iid <> 0;
-- Runs made by events are deduplicated per stack on (SHA, type) (SPEC
-- §4.2); the index catches two servers planning the same event at once.
CREATE UNIQUE INDEX runs_event_dedupe ON runs (stack_id, commit_sha, type) WHERE delivery_id <> '';

CREATE TABLE run_transitions (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    state  TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL,
    actor  TEXT NOT NULL DEFAULT '',
    note   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX run_transitions_run ON run_transitions (run_id, id);
