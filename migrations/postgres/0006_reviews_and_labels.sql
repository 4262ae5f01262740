-- The review queue and labels. An account's status is active, review (created but held for
-- an analyst) or banned; the older review flag stays in step for readers of the old schema.
ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
UPDATE accounts SET status = 'review' WHERE review <> 0;
CREATE INDEX accounts_status_idx ON accounts (status, id);

-- Every label an analyst gave an attempt; the latest one counts, the rest is history.
CREATE TABLE attempt_labels (
    id          BIGSERIAL PRIMARY KEY,
    attempt_id  BIGINT  NOT NULL,
    -- fraud or legit.
    label       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX attempt_labels_attempt_idx ON attempt_labels (attempt_id, id);
