-- Every metrics scrape counts the GitLab writes still open
-- (docs/metrics.md); this index keeps the count off a full scan of a table
-- that only grows. (Runs are counted by state on runs_state, 0004.)
CREATE INDEX gitlab_writes_open ON gitlab_writes (kind, created_at) WHERE state IN ('pending', 'retrying');
