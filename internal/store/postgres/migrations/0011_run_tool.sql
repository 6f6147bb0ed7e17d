-- Issue 14: the tool a run executes with, as its worker found it
-- (`tofu version -json`), shown on the run; "" until the worker says.
ALTER TABLE run_exec ADD COLUMN tool TEXT NOT NULL DEFAULT '';
ALTER TABLE run_exec ADD COLUMN tool_version TEXT NOT NULL DEFAULT '';

-- git_checkout was stored and never honoured: workspaces always came from
-- the archive API. It is now refused; stacks that had it say the truth.
UPDATE stacks SET git_checkout = FALSE WHERE git_checkout;
