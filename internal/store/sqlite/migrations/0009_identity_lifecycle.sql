-- Issue 13: disabled users, expiring API keys, and a login rate limit that
-- reserves its slot before the password is checked.

-- NULL while the user may log in; set when a root admin disabled it.
ALTER TABLE users ADD COLUMN disabled_at TEXT;

-- NULL for a key that never expires.
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
-- A user's keys (created_by = 'user:<id>') stop with the user.
CREATE INDEX api_keys_created_by ON api_keys (created_by);

-- Every login attempt records its failure rows up front, tagged with a
-- random attempt id, and deletes them again when the password was right.
ALTER TABLE login_failures ADD COLUMN attempt TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_attempt ON login_failures (attempt);
