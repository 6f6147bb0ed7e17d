-- Issue 14: each processing of a webhook delivery keeps its own outcome —
-- number 0 when it arrives, 1, 2… when it is redelivered — instead of the
-- next one overwriting it. The delivery's status, result and error columns
-- stay the latest processing's, as before. Rows appear when a processing
-- starts (or is requested, for redeliveries), so the webhook intake writes
-- nothing more per delivery.

CREATE TABLE webhook_delivery_processings (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL CHECK (number >= 0),
    kind         TEXT NOT NULL CHECK (kind IN ('received', 'redelivered')),
    requested_by TEXT NOT NULL DEFAULT '',
    requested_at TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('received', 'processing', 'processed', 'ignored', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    result       TEXT NOT NULL DEFAULT '{}',
    error        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, number)
);

-- Deliveries processed before this migration keep what their (latest)
-- processing did, as processing 0.
INSERT INTO webhook_delivery_processings
    (delivery_id, number, kind, requested_at, finished_at, status, attempts, result, error)
SELECT id, 0, 'received', received_at,
       CASE WHEN status IN ('processed', 'ignored', 'failed') THEN updated_at END,
       status, attempts, result, error
FROM webhook_deliveries WHERE attempts > 0;
