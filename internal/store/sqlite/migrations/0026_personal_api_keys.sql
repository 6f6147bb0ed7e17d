-- Issue 20: personal API keys. A personal key has no role bindings of its
-- own: it acts with its owner's current roles (hand-given and mapped), so
-- it never exceeds them and follows every change to them. created_by is
-- the owner ('user:<id>'); the key stops with the owner as any user's key.
ALTER TABLE api_keys ADD COLUMN personal INTEGER NOT NULL DEFAULT 0;
