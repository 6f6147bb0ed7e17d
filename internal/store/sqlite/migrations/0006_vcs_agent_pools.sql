-- Issue 7: VCS agent pools. The pool token is stored only as its SHA-256
-- (like API keys); connected agents live in each server's memory.

CREATE TABLE vcs_agent_pools (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    token_hash  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    rotated_at  TEXT NOT NULL
);
