-- Issue 16: the VCS agents connected to each server process, so that a
-- server without an agent of a pool relays its GitLab calls to one that has
-- one (docs/design/replicas.md). One row per server, pool and agent; the
-- server rewrites its rows on every connect and disconnect and every 10 s
-- (seen_at), deletes them when it stops, and readers ignore rows not seen
-- for 30 s (a server that crashed). No reference to vcs_agent_pools: a
-- deleted pool's agents are disconnected, and its rows go with the next
-- rewrite.
CREATE TABLE vcs_agent_presence (
    server_id    TEXT NOT NULL,
    address      TEXT NOT NULL,
    pool_id      TEXT NOT NULL,
    agent_id     TEXT NOT NULL,
    agent_name   TEXT NOT NULL DEFAULT '',
    streams      INTEGER NOT NULL,
    connected_at TEXT NOT NULL,
    seen_at      TEXT NOT NULL,
    PRIMARY KEY (server_id, pool_id, agent_id)
);
CREATE INDEX vcs_agent_presence_seen ON vcs_agent_presence (seen_at);
