-- Issue 13: VCS agent pools belong to a space, like integrations. Pools
-- created before this migration move to root, which is an ancestor of every
-- space, so every integration that named one can still use it
-- (docs/vcs-agents.md).

ALTER TABLE vcs_agent_pools ADD COLUMN space_id TEXT NOT NULL DEFAULT 'root' REFERENCES spaces (id);
CREATE INDEX vcs_agent_pools_space ON vcs_agent_pools (space_id, id);
