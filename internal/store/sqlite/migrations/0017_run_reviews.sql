-- Issue 17 phase 2: reviews of runs that approval policies hold in
-- PENDING_REVIEW. A review is a fact about the run: it goes with the run.
CREATE TABLE run_reviews (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    reviewer   TEXT NOT NULL, -- the principal
    role       TEXT NOT NULL,
    decision   TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    note       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX run_reviews_run ON run_reviews (run_id, id);
