-- Issue 18, automerge: a stack with mr_automerge lets Hoist merge a merge
-- request once every stack it changes has applied from it. The lock keeps
-- the head the apply ran on and the stacks the merge request changed then;
-- a merge Hoist made itself is said so in the note after the merge.
ALTER TABLE stacks ADD COLUMN mr_automerge BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE stack_mr_locks ADD COLUMN head_sha TEXT NOT NULL DEFAULT '';
ALTER TABLE stack_mr_locks ADD COLUMN mr_stacks JSONB NOT NULL DEFAULT '[]';
ALTER TABLE stack_mr_merges ADD COLUMN by_hoist BOOLEAN NOT NULL DEFAULT FALSE;

-- Hoist's merge of a merge request (automerge) is a GitLab write of the
-- outbox, kind 'merge': the kind check is widened as in 0018.
ALTER TABLE gitlab_writes DROP CONSTRAINT gitlab_writes_kind_check,
    ADD CONSTRAINT gitlab_writes_kind_check CHECK (kind IN ('status', 'note', 'deployment', 'award', 'reply', 'merge')) NOT VALID;
