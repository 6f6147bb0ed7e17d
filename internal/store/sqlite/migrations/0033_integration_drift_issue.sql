-- Issue 21, a drift issue per integration: an integration's drift_issue
-- (with drift_issue_labels, a JSON array) is the default of its stacks
-- that do not turn drift_issue on themselves.
ALTER TABLE integrations ADD COLUMN drift_issue INTEGER NOT NULL DEFAULT 0;
ALTER TABLE integrations ADD COLUMN drift_issue_labels TEXT NOT NULL DEFAULT '[]';
