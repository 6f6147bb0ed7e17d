-- Placeholder on branch wt-notify only: migration 0025 belongs to another branch
-- merged before this one. DELETE this file at merge (the loader refuses two
-- files of one version, so a forgotten one fails loudly).
SELECT 1;
