-- Fraud labels reported back to Fingerprint (PATCH /v4/events/{id} {"suspect": true}),
-- through an outbox written with the label, so a crash loses none.
CREATE TABLE label_reports (
    id          BIGSERIAL PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    -- pending, sent or failed.
    status      TEXT    NOT NULL DEFAULT 'pending',
    tries       BIGINT  NOT NULL DEFAULT 0,
    next_at     BIGINT  NOT NULL,
    lease_until BIGINT  NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX label_reports_due_idx ON label_reports (status, next_at);
