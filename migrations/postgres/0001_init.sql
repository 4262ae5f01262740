-- Times are milliseconds since the Unix epoch, the same on every backend.
CREATE TABLE accounts (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT    NOT NULL,
    -- Trimmed and lower-cased: the unique index makes "Ann" and " ann" one account.
    username_key  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    visitor_id    TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    review        BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX accounts_username_key_uq ON accounts (username_key);
-- A requestId creates at most one account.
CREATE UNIQUE INDEX accounts_event_id_uq ON accounts (event_id);
CREATE INDEX accounts_visitor_idx ON accounts (visitor_id, created_at);

CREATE TABLE attempts (
    id          BIGSERIAL PRIMARY KEY,
    event_id    TEXT,
    visitor_id  TEXT,
    ip          TEXT,
    username    TEXT,
    verdict     TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    codes       TEXT    NOT NULL DEFAULT '[]',
    signals     TEXT,
    policy_hash TEXT,
    shadow      BIGINT  NOT NULL DEFAULT 0,
    account_id  BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX attempts_created_idx ON attempts (created_at);
CREATE INDEX attempts_event_idx ON attempts (event_id);

CREATE TABLE webhook_events (
    event_id    TEXT PRIMARY KEY,
    body        TEXT    NOT NULL,
    received_at BIGINT  NOT NULL
);
