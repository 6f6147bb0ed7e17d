-- Issue 13: VCS agent pools belong to a space, like integrations. Pools
-- created before this migration move to root, which is an ancestor of every
-- space, so every integration that named one can still use it
-- (docs/vcs-agents.md).
--
-- SQLite cannot add a column that references another table with a non-NULL
-- default, so the table is rebuilt; nothing references vcs_agent_pools.

CREATE TABLE vcs_agent_pools_new (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    space_id    TEXT NOT NULL DEFAULT 'root' REFERENCES spaces (id),
    description TEXT NOT NULL DEFAULT '',
    token_hash  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    rotated_at  TEXT NOT NULL
);
INSERT INTO vcs_agent_pools_new (id, name, space_id, description, token_hash, created_at, created_by, rotated_at)
    SELECT id, name, 'root', description, token_hash, created_at, created_by, rotated_at FROM vcs_agent_pools;
DROP TABLE vcs_agent_pools;
ALTER TABLE vcs_agent_pools_new RENAME TO vcs_agent_pools;
CREATE INDEX vcs_agent_pools_space ON vcs_agent_pools (space_id, id);
