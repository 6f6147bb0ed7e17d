-- Issue 3: spaces, principals, role bindings, integrations, audit log.

CREATE TABLE spaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    parent_id   TEXT REFERENCES spaces (id),
    inherit     BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    labels      JSONB NOT NULL DEFAULT '[]',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CHECK ((id = 'root') = (parent_id IS NULL))
);
CREATE INDEX spaces_parent ON spaces (parent_id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
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
    is_default            BOOLEAN NOT NULL,
    space_id              TEXT NOT NULL REFERENCES spaces (id),
    api_host              TEXT NOT NULL,
    user_facing_host      TEXT NOT NULL,
    labels                JSONB NOT NULL DEFAULT '[]',
    description           TEXT NOT NULL DEFAULT '',
    ca_bundle             TEXT NOT NULL DEFAULT '',
    token_sealed          BYTEA NOT NULL,
    webhook_secret_sealed BYTEA NOT NULL,
    token_user            TEXT NOT NULL DEFAULT '',
    token_user_id         BIGINT NOT NULL DEFAULT 0,
    token_scopes          JSONB NOT NULL DEFAULT '[]',
    token_expires_at      TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    created_by            TEXT NOT NULL DEFAULT ''
);
-- At most one default integration per provider (SPEC §2.1).
CREATE UNIQUE INDEX integrations_one_default ON integrations (provider) WHERE is_default;
CREATE INDEX integrations_created ON integrations (created_at, id);
CREATE INDEX integrations_space ON integrations (space_id);

CREATE TABLE audit_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    space_id      TEXT NOT NULL DEFAULT '',
    detail        JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id);
