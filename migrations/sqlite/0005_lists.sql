-- The analyst's levers: allow, review and block entries, and a record of who did what.
CREATE TABLE list_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- visitor_id, ip (an address or CIDR), email_domain or email.
    kind        TEXT    NOT NULL,
    -- Normalised: a CIDR in its network form, an address or domain in lower case.
    value       TEXT    NOT NULL,
    -- allow, review or block.
    action      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    expires_at  INTEGER,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX list_entries_kind_value_idx ON list_entries (kind, value);

-- Bumped in the same transaction as every change, so each instance reloads its copy of the
-- lists only when they changed.
CREATE TABLE list_version (
    id      INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);
INSERT INTO list_version (id, version) VALUES (1, 0);

CREATE TABLE analyst_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    actor       TEXT    NOT NULL,
    -- list_add, list_remove, approve, ban, label, ...
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
