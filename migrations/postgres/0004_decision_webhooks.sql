-- Decision webhooks: an attempt to be announced names its delivery, written in the same
-- transaction, so a crash between the two cannot lose one. The payload is built from the
-- attempt at send time; the attempt never changes, so every retry sends the same body.
ALTER TABLE attempts ADD COLUMN delivery_id TEXT;
CREATE UNIQUE INDEX attempts_delivery_id_uq ON attempts (delivery_id);

CREATE TABLE webhook_deliveries (
    id           TEXT    PRIMARY KEY,
    -- pending, delivered or failed (gave up after the retry window).
    status       TEXT    NOT NULL DEFAULT 'pending',
    tries        BIGINT  NOT NULL DEFAULT 0,
    next_at      BIGINT  NOT NULL,
    -- An instance sending it holds it until then; the others leave it alone.
    lease_until  BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   BIGINT  NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_at);
