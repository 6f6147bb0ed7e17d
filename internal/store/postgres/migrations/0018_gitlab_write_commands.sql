-- Issue 18: merge request comment commands are answered through the
-- outbox like every other GitLab write: award emoji on the command's note
-- ('award') and a reply note ('reply'). The kind check allows them.
--
-- Additive: the check is replaced by a wider one in one statement, and
-- every row a previous version writes still passes it. NOT VALID spares a
-- scan of a table that only grows, under an exclusive lock: the rows
-- already there passed the narrower check.
ALTER TABLE gitlab_writes DROP CONSTRAINT gitlab_writes_kind_check,
    ADD CONSTRAINT gitlab_writes_kind_check CHECK (kind IN ('status', 'note', 'deployment', 'award', 'reply')) NOT VALID;
