-- Issue 20: what Hoist keeps of a user's OpenID Connect login to recompute
-- their mapped roles between logins (--oidc-refresh).

-- One row per user from an issuer, replaced at every login. refresh_token
-- is sealed with the encryption key (NULL when the issuer gave none: the
-- mapped roles are then dropped at the first refresh, until the next
-- login). next_sync_at is when a refresh is due; a server takes a due row
-- by moving it forward in one UPDATE, so one replica refreshes it.
CREATE TABLE oidc_grants (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    refresh_token BLOB,
    synced_at     TEXT NOT NULL,
    next_sync_at  TEXT NOT NULL
);
CREATE INDEX oidc_grants_due ON oidc_grants (next_sync_at);
