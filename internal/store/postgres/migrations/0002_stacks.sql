-- Issue 4: stacks (SPEC §3).
-- integration_id is NULL while a stack is detached: deleting its
-- integration sets it NULL (SPEC §2.3); integration_ref keeps the id it last
-- used, so the stack can say which integration went away.
-- repository_key is the repository path in lower case, for webhook lookups
-- of stacks whose GitLab project id is unknown (0).

CREATE TABLE stacks (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL UNIQUE,
    space_id                 TEXT NOT NULL REFERENCES spaces (id),
    integration_id           TEXT REFERENCES integrations (id) ON DELETE SET NULL,
    integration_ref          TEXT NOT NULL,
    repository               TEXT NOT NULL,
    repository_key           TEXT NOT NULL,
    project_id               BIGINT NOT NULL DEFAULT 0,
    branch                   TEXT NOT NULL,
    project_root             TEXT NOT NULL DEFAULT '',
    additional_project_globs JSONB NOT NULL DEFAULT '[]',
    labels                   JSONB NOT NULL DEFAULT '[]',
    autodeploy               BOOLEAN NOT NULL DEFAULT FALSE,
    description              TEXT NOT NULL DEFAULT '',
    tool                     TEXT NOT NULL DEFAULT 'opentofu',
    tool_version             TEXT NOT NULL DEFAULT '',
    worker_pool              TEXT NOT NULL DEFAULT 'embedded',
    allow_fork_mrs           BOOLEAN NOT NULL DEFAULT FALSE,
    git_checkout             BOOLEAN NOT NULL DEFAULT FALSE,
    tracked_sha              TEXT,
    tracked_branch           TEXT,
    tracked_moved_at         TIMESTAMPTZ,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL,
    created_by               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX stacks_space ON stacks (space_id, id);
-- Every webhook delivery loads all stacks of one repository of one integration.
CREATE INDEX stacks_integration_project ON stacks (integration_id, project_id, id);
CREATE INDEX stacks_integration_repository ON stacks (integration_id, repository_key, id);
