-- Issue 8: modules and their versions (SPEC §4.5).
-- integration_id has no foreign key: deleting an integration is allowed
-- while modules use it (SPEC §2.3); such a module is detached until it is
-- pointed at another integration, and says so.

CREATE TABLE modules (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    provider       TEXT NOT NULL,
    space_id       TEXT NOT NULL REFERENCES spaces (id),
    integration_id TEXT NOT NULL,
    repository     TEXT NOT NULL,
    project_id     INTEGER NOT NULL DEFAULT 0,
    branch         TEXT NOT NULL,
    project_root   TEXT NOT NULL DEFAULT '',
    labels         TEXT NOT NULL DEFAULT '[]',
    description    TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX modules_space ON modules (space_id, id);
CREATE INDEX modules_repository ON modules (integration_id, project_id);
CREATE INDEX modules_repository_path ON modules (integration_id, repository);

-- Versions are never deleted with their tag and never reused: the primary
-- key is the normalised version.
CREATE TABLE module_versions (
    module_id  TEXT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    version    TEXT NOT NULL,
    sha        TEXT NOT NULL,
    tag        TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL CHECK (state IN ('published', 'bad')),
    note       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (module_id, version)
);
CREATE INDEX module_versions_created ON module_versions (module_id, created_at, version);
