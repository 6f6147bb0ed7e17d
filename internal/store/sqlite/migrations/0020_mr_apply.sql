-- Issue 18: a stack may apply before merge with the `/hoist apply`
-- merge request comment, and mr_apply_min_access is the GitLab access a
-- comment's author needs for `/hoist apply` and `/hoist unlock`.
ALTER TABLE stacks ADD COLUMN mr_apply INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stacks ADD COLUMN mr_apply_min_access TEXT NOT NULL DEFAULT 'maintainer';

-- A stack applied from a merge request is held for that merge request
-- until it is merged or closed (or `/hoist unlock`): one lock per stack.
CREATE TABLE stack_mr_locks (
    stack_id          TEXT PRIMARY KEY REFERENCES stacks (id) ON DELETE CASCADE,
    merge_request_iid INTEGER NOT NULL,
    merge_request_url TEXT NOT NULL DEFAULT '',
    locked_by         TEXT NOT NULL,
    run_id            TEXT NOT NULL DEFAULT '',
    locked_at         TEXT NOT NULL
);
