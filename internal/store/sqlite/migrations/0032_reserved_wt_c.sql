-- Placeholder for a migration of a branch built in parallel (wt-a, wt-b): delete at merge.
SELECT 1;
