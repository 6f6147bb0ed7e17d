-- Issue 21: notification targets (webhooks, Slack-compatible incoming
-- webhooks) in a space, the outbox of their deliveries with each attempt,
-- and the integration token expiry notices already raised
-- (docs/design/notifications.md).

-- url_sealed and secret_sealed are sealed with the server's key (never
-- returned by the API); url_host is what the UI shows. due_at, lease_owner
-- and lease_until serialise a target's deliveries: one process sends them,
-- oldest first.
CREATE TABLE notification_targets (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    space_id      TEXT NOT NULL REFERENCES spaces (id),
    kind          TEXT NOT NULL CHECK (kind IN ('webhook', 'slack')),
    events        JSONB NOT NULL DEFAULT '[]',
    url_sealed    BYTEA NOT NULL,
    url_host      TEXT NOT NULL,
    secret_sealed BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT NOT NULL,
    due_at        TIMESTAMPTZ,
    lease_owner   TEXT NOT NULL DEFAULT '',
    lease_until   TIMESTAMPTZ
);
CREATE INDEX notification_targets_due ON notification_targets (due_at) WHERE due_at IS NOT NULL;

-- One row per notification to send to one target; redeliveries are new
-- rows (redelivery_of names the first). payload is the event as the
-- documented JSON body.
CREATE TABLE notification_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id       TEXT NOT NULL REFERENCES notification_targets (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    redelivery_of   BIGINT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX notification_deliveries_target ON notification_deliveries (target_id, state, id);

CREATE TABLE notification_attempts (
    delivery_id BIGINT NOT NULL REFERENCES notification_deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL CHECK (number >= 1),
    at          TIMESTAMPTZ NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, number)
);

-- A token_expiring notice is raised once per integration, token expiry
-- and threshold (30, 7, 1 days): a renewed token starts again.
CREATE TABLE token_expiry_notices (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    expires_at     TIMESTAMPTZ NOT NULL,
    days           INTEGER NOT NULL,
    sent_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, expires_at, days)
);
