-- A delivery's body in a table of its own, written once at intake
-- (docs/design/transactions.md, group commit): processing updates the
-- delivery's row (status, attempts, result) several times, and SQLite
-- rewrites a row's whole record on update, the body's overflow pages
-- with it. The bodies move here; the old column keeps '' (SQLite serves
-- one server: no replica of the previous version reads it).
CREATE TABLE webhook_delivery_bodies (
    delivery_id TEXT PRIMARY KEY REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    body        BLOB NOT NULL
);
INSERT INTO webhook_delivery_bodies (delivery_id, body) SELECT id, body FROM webhook_deliveries;
UPDATE webhook_deliveries SET body = X'';
