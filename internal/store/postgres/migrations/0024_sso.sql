-- Issue 20: users from an OpenID Connect issuer, and role mappings that
-- give them roles from their groups.

-- A user from an issuer is named by (issuer, subject); local users have
-- both ''. Name and email are refreshed from the issuer at every login.
-- Such users have password_hash '', which no password matches.
ALTER TABLE users ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_external ON users (issuer, subject) WHERE issuer <> '';

-- A role mapping: members of group_path (lower case; GitLab paths are
-- case-insensitive) at issuer ('' = any issuer) get role on space_id.
CREATE TABLE role_mappings (
    id         TEXT PRIMARY KEY,
    issuer     TEXT NOT NULL,
    group_path TEXT NOT NULL,
    space_id   TEXT NOT NULL REFERENCES spaces (id),
    role       TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (issuer, group_path, space_id)
);

-- The roles a principal holds through mappings, apart from the hand-given
-- role_bindings: recomputed from the user's groups, never edited by hand.
CREATE TABLE mapped_roles (
    principal  TEXT NOT NULL,
    mapping_id TEXT NOT NULL REFERENCES role_mappings (id),
    space_id   TEXT NOT NULL REFERENCES spaces (id),
    role       TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    PRIMARY KEY (principal, mapping_id)
);
CREATE INDEX mapped_roles_mapping ON mapped_roles (mapping_id);
CREATE INDEX mapped_roles_space ON mapped_roles (space_id);
