-- The decision API: an app that keeps its own users reserves a device slot with its own user
-- id (account_ref) and no password, and can release it by the decision's id. SQLite cannot
-- drop NOT NULL in place, so the table is rebuilt, ids kept.
CREATE TABLE accounts_next (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT,
    username_key  TEXT,
    username_skeleton TEXT,
    password_hash TEXT,
    visitor_id    TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    review        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    account_ref   TEXT,
    decision_id   TEXT,
    -- Every account is either a user of ours (a password) or a slot of an app's user.
    CHECK (password_hash IS NOT NULL OR account_ref IS NOT NULL)
);
INSERT INTO accounts_next (id, username, username_key, username_skeleton, password_hash, visitor_id, event_id, review, created_at)
    SELECT id, username, username_key, username_skeleton, password_hash, visitor_id, event_id, review, created_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_next RENAME TO accounts;
CREATE UNIQUE INDEX accounts_username_key_uq ON accounts (username_key);
CREATE UNIQUE INDEX accounts_username_skeleton_uq ON accounts (username_skeleton);
CREATE UNIQUE INDEX accounts_event_id_uq ON accounts (event_id);
CREATE INDEX accounts_visitor_idx ON accounts (visitor_id, created_at);
CREATE UNIQUE INDEX accounts_decision_id_uq ON accounts (decision_id);

ALTER TABLE attempts ADD COLUMN endpoint TEXT NOT NULL DEFAULT 'signup';
ALTER TABLE attempts ADD COLUMN decision_id TEXT;
ALTER TABLE attempts ADD COLUMN account_ref TEXT;
