-- Issue 19: the runs list and run pages name a run by its commit's title,
-- as the event that made the run told it ('' for runs made otherwise).
ALTER TABLE runs ADD COLUMN commit_title TEXT NOT NULL DEFAULT '';
