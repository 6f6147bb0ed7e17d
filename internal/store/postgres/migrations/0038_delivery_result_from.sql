-- The processing whose outcome a delivery shows: see the SQLite migration.
-- On PostgreSQL the delivery's own result is still written too, for a
-- replica of the previous version during a rolling upgrade.
ALTER TABLE webhook_deliveries ADD COLUMN result_from INTEGER;
