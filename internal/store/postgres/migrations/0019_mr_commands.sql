-- Issue 18: merge request comment commands are acted on once. A command
-- note is claimed in the transaction that writes what it did, so a
-- redelivered (or reprocessed) comment finds its claim and does nothing.
CREATE TABLE mr_command_notes (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    project_id     BIGINT NOT NULL,
    note_id        BIGINT NOT NULL,
    delivery_id    TEXT NOT NULL,
    command        TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, project_id, note_id)
);

-- A `/hoist plan` comment plans a commit again: its run is kept once by the
-- note's claim above, so the dedupe of event runs per (stack, commit, type)
-- leaves runs of comments out.
DROP INDEX runs_event_dedupe;
CREATE UNIQUE INDEX runs_event_dedupe ON runs (stack_id, commit_sha, type) WHERE delivery_id <> '' AND trigger_kind <> 'note';

-- The GitLab access level a comment's author needs for `/hoist plan`.
ALTER TABLE stacks ADD COLUMN mr_plan_min_access TEXT NOT NULL DEFAULT 'developer';
