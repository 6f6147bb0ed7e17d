-- Issue 5: running runs — execution details and leases, logs, managed
-- state with every version, worker pools and stack variables.

-- One row per run the scheduler has seen: what it waits for, who holds it,
-- and what its plan found. apply_started_at is set once, in the same
-- transaction that moves the run to APPLYING, so a run applies at most once.
CREATE TABLE run_exec (
    run_id           TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    worker_pool      TEXT NOT NULL DEFAULT '',
    blocked_by       TEXT NOT NULL DEFAULT '',
    lease_id         TEXT NOT NULL DEFAULT '',
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_expires_at TIMESTAMPTZ,
    token_hash       TEXT NOT NULL DEFAULT '',
    token_write      BOOLEAN NOT NULL DEFAULT FALSE,
    plan_sealed      BYTEA,
    resources        TEXT NOT NULL DEFAULT '[]',
    has_changes      BOOLEAN NOT NULL DEFAULT FALSE,
    apply_started_at TIMESTAMPTZ,
    error            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX run_exec_leases ON run_exec (lease_expires_at) WHERE lease_id <> '';
CREATE INDEX runs_state ON runs (state, id);

-- Run output, chunk by chunk, secrets already masked.
CREATE TABLE run_logs (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase  TEXT NOT NULL,
    body   TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX run_logs_run ON run_logs (run_id, id);

-- Every state a stack ever had (SPEC §4.4); the body is sealed (states hold
-- secrets). Kept when the stack is deleted.
CREATE TABLE state_versions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stack_id    TEXT NOT NULL,
    serial      BIGINT NOT NULL,
    lineage     TEXT NOT NULL,
    run_id      TEXT NOT NULL DEFAULT '',
    size        BIGINT NOT NULL,
    body_sealed BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX state_versions_stack ON state_versions (stack_id, id);

-- The http backend's lock, one per stack, held by a run.
CREATE TABLE state_locks (
    stack_id   TEXT PRIMARY KEY,
    lock_id    TEXT NOT NULL,
    info       TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Remote worker pools; the pool token is stored hashed.
CREATE TABLE worker_pools (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL DEFAULT ''
);

-- Stack environment variables; secret values are sealed and never read
-- back through the API.
CREATE TABLE stack_variables (
    stack_id     TEXT NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    secret       BOOLEAN NOT NULL DEFAULT FALSE,
    value        TEXT NOT NULL DEFAULT '',
    value_sealed BYTEA,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (stack_id, name)
);
