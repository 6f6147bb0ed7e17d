-- Issue 17 phase 1: policies as code (Rego), their explicit attachments to
-- stacks, and the record of every evaluation. (Numbered 0016 in the issue's
-- plan: renumber at merge if 0015 is taken; the file is self-contained.)

CREATE TABLE policies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL CHECK (type IN ('push', 'plan', 'approval')),
    space_id    TEXT NOT NULL REFERENCES spaces (id),
    labels      JSONB NOT NULL DEFAULT '[]',
    description TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX policies_type ON policies (type, id);
CREATE INDEX policies_space ON policies (space_id, id);

CREATE TABLE stack_policies (
    stack_id   TEXT NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    policy_id  TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (stack_id, policy_id)
);
CREATE INDEX stack_policies_policy ON stack_policies (policy_id);

-- input is TEXT, not JSONB: a recorded input is kept byte for byte, and
-- JSONB refuses strings holding \u0000, which a hostile input may carry.
-- Evaluations outlive their policy, stack and run: they are the history of
-- decisions, so no foreign keys.
CREATE TABLE policy_evaluations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy_id      TEXT NOT NULL,
    policy_version BIGINT NOT NULL,
    type           TEXT NOT NULL,
    stack_id       TEXT NOT NULL DEFAULT '',
    run_id         TEXT NOT NULL DEFAULT '',
    delivery_id    TEXT NOT NULL DEFAULT '',
    input          TEXT NOT NULL DEFAULT '{}',
    outcome        TEXT NOT NULL,
    messages       JSONB NOT NULL DEFAULT '[]',
    error          TEXT NOT NULL DEFAULT '',
    duration_us    BIGINT NOT NULL DEFAULT 0,
    at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX policy_evaluations_run ON policy_evaluations (run_id, id) WHERE run_id <> '';
CREATE INDEX policy_evaluations_delivery ON policy_evaluations (delivery_id, id) WHERE delivery_id <> '';
