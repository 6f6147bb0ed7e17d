-- Issue 18: what GitLab must say about a merge request before
-- `/hoist apply` applies a stack from it (approved, mergeable, undiverged),
-- a JSON array.
ALTER TABLE stacks ADD COLUMN apply_requirements TEXT NOT NULL DEFAULT '[]';

-- A stack applied before merge whose merge request was merged: the tracked
-- branch's run on the merged commit should plan no changes, and the merge
-- request's note says whether it did. Written when the merge releases the
-- lock; merge_commit_sha is '' for a fast-forward merge (the head is the
-- tracked commit then).
CREATE TABLE stack_mr_merges (
    stack_id          TEXT NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    merge_request_iid INTEGER NOT NULL,
    merge_request_url TEXT NOT NULL DEFAULT '',
    head_sha          TEXT NOT NULL,
    merge_commit_sha  TEXT NOT NULL DEFAULT '',
    merged_at         TEXT NOT NULL,
    PRIMARY KEY (stack_id, merge_request_iid)
);
CREATE INDEX stack_mr_merges_head ON stack_mr_merges (stack_id, head_sha);
CREATE INDEX stack_mr_merges_merge ON stack_mr_merges (stack_id, merge_commit_sha);
