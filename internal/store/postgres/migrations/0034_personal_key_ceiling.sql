-- Issue 20: a personal API key's ceiling. Its owner may bound it below
-- their own roles: max_role caps the role in every space ('' caps
-- nothing), and with space_limited the key reaches only the spaces listed
-- in api_key_spaces and their descendants. A listed space that is deleted
-- leaves the list (cascade) but space_limited stays: a key whose spaces
-- are all gone reaches nothing, never everything.
ALTER TABLE api_keys ADD COLUMN max_role TEXT NOT NULL DEFAULT '' CHECK (max_role IN ('', 'read', 'write', 'admin'));
ALTER TABLE api_keys ADD COLUMN space_limited BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE api_key_spaces (
    key_id   TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    space_id TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, space_id)
);
CREATE INDEX api_key_spaces_space ON api_key_spaces (space_id);
