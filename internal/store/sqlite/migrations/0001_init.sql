-- Issue 3: spaces, principals, role bindings, integrations, audit log.
-- Times are fixed-width UTC text (2006-01-02T15:04:05.000000Z) so that text
-- order is time order; JSON columns are text.

CREATE TABLE spaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    parent_id   TEXT REFERENCES spaces (id),
    inherit     INTEGER NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    labels      TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK ((id = 'root') = (parent_id IS NULL))
);
CREATE INDEX spaces_parent ON spaces (parent_id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX api_keys_created ON api_keys (created_at, id);

CREATE TABLE role_bindings (
    principal TEXT NOT NULL,
    space_id  TEXT NOT NULL REFERENCES spaces (id),
    role      TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    PRIMARY KEY (principal, space_id)
);
CREATE INDEX role_bindings_space ON role_bindings (space_id);

CREATE TABLE integrations (
    id                    TEXT PRIMARY KEY,
    provider              TEXT NOT NULL,
    name                  TEXT NOT NULL,
    is_default            INTEGER NOT NULL,
    space_id              TEXT NOT NULL REFERENCES spaces (id),
    api_host              TEXT NOT NULL,
    user_facing_host      TEXT NOT NULL,
    labels                TEXT NOT NULL DEFAULT '[]',
    description           TEXT NOT NULL DEFAULT '',
    ca_bundle             TEXT NOT NULL DEFAULT '',
    token_sealed          BLOB NOT NULL,
    webhook_secret_sealed BLOB NOT NULL,
    token_user            TEXT NOT NULL DEFAULT '',
    token_user_id         INTEGER NOT NULL DEFAULT 0,
    token_scopes          TEXT NOT NULL DEFAULT '[]',
    token_expires_at      TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    created_by            TEXT NOT NULL DEFAULT ''
);
-- At most one default integration per provider (SPEC §2.1).
CREATE UNIQUE INDEX integrations_one_default ON integrations (provider) WHERE is_default;
CREATE INDEX integrations_created ON integrations (created_at, id);
CREATE INDEX integrations_space ON integrations (space_id);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    space_id      TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id);
