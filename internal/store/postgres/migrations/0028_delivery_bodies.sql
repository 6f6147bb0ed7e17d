-- A delivery's body in a table of its own, written once at intake
-- (docs/design/transactions.md, group commit): processing updates the
-- delivery's row several times and should not carry the body along.
-- Additive: the bodies are copied, and webhook_deliveries.body keeps them
-- (and the intake keeps writing it) while replicas of the previous
-- version, which read only that column, may run; reads take this table
-- first. A later release stops writing the old column.
CREATE TABLE webhook_delivery_bodies (
    delivery_id TEXT PRIMARY KEY REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    body        BYTEA NOT NULL
);
INSERT INTO webhook_delivery_bodies (delivery_id, body) SELECT id, body FROM webhook_deliveries;
