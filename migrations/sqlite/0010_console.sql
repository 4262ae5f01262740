-- The analyst console's sign-ins, server-side so that any instance sees them and signing out
-- ends them everywhere. The id is the SHA-256 (hex) of the cookie's token: a leaked table
-- gives no usable cookie.
CREATE TABLE console_sessions (
    id          TEXT    PRIMARY KEY,
    analyst     TEXT    NOT NULL,
    csrf        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- The console's filters and charts stay on indexes at 100,000 attempts and more: per device,
-- per IP and per username newest first, and the overview's counts by time, verdict and codes
-- read from the index alone.
CREATE INDEX attempts_visitor_id_idx ON attempts (visitor_id, id);
CREATE INDEX attempts_ip_id_idx ON attempts (ip, id);
CREATE INDEX attempts_username_id_idx ON attempts (username, id);
CREATE INDEX attempts_created_verdict_idx ON attempts (created_at, verdict, codes);
