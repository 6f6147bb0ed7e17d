-- Issue 21: agent_pool_empty. Whether each VCS agent pool had a connected
-- agent (on any server) when last looked at, across replicas: servers
-- compare the presence rows (0015) with this row and change it with a
-- compare-and-set, in the transaction that enqueues the notification, so
-- that the pool's emptying (and its recovery) is notified once whichever
-- server sees it. No row: the pool never had an agent. last_seen_at is
-- when a server last saw one of its agents (refreshed at most once per
-- check interval); a pool is empty when none was seen for the grace. The
-- row goes with its pool (this is the first table referencing
-- vcs_agent_pools: a later SQLite rebuild of that table must keep it).
CREATE TABLE vcs_agent_pool_watch (
    pool_id         TEXT PRIMARY KEY REFERENCES vcs_agent_pools (id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('up', 'empty')),
    changed_at      TEXT NOT NULL,
    last_agent_id   TEXT NOT NULL DEFAULT '',
    last_agent_name TEXT NOT NULL DEFAULT '',
    last_seen_at    TEXT NOT NULL
);
