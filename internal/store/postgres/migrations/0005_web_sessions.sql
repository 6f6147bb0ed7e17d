-- Issue 6: web UI sessions and failed login attempts.
-- A session row holds the SHA-256 of the session id (the cookie value is
-- never stored) and the session's CSRF token.
CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY,
    principal  TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_principal ON web_sessions (principal);

-- One row per failed login, keyed by "user:<username>" or "addr:<ip>", for
-- the sliding-window rate limit shared by every server on the database.
CREATE TABLE login_failures (
    id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT NOT NULL,
    at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
