-- A delivery shows the outcome of one of its processings, which keeps it
-- (webhook_delivery_processings.result): result_from names that
-- processing. The outcome was also copied into the delivery's own row,
-- about 2 KB for a repository of 20 stacks, so that the row grew eightfold
-- when processed and filled a page of the WAL of its own
-- (docs/benchmarks.md). NULL: the row's own result is the outcome (a
-- delivery processed before this migration).
ALTER TABLE webhook_deliveries ADD COLUMN result_from INTEGER;
