-- Issue 14: a failed run keeps OpenTofu's own error (error_detail), and a
-- run says whether it has a plan (planned), so that a run that never
-- planned shows no "+0 ~0 -0".
--
-- Runs from before this migration planned when they reached a state only a
-- reported plan leads to (FINISHED: a plan or an apply ended; UNCONFIRMED
-- and the apply states); tasks never plan.

ALTER TABLE runs ADD COLUMN planned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE runs ADD COLUMN error_detail TEXT NOT NULL DEFAULT '';
UPDATE runs SET planned = TRUE
    WHERE type <> 'TASK' AND EXISTS (SELECT 1 FROM run_transitions t WHERE t.run_id = runs.id
        AND t.state IN ('FINISHED', 'UNCONFIRMED', 'CONFIRMED', 'PREPARING_APPLY', 'APPLYING'));
