-- What the velocity rules and the linked identities count. Each account keeps the device's other
-- identities (the high-recall visitor id, the page's linkedId), its email address's domain and
-- its network's autonomous system, each indexed with the creation time so a count in a window
-- reads only its own rows. Accounts made before this migration have no high-recall id, linked
-- id or ASN to count by; their email domain is read from the address kept since 0008.
ALTER TABLE accounts ADD COLUMN high_recall_id TEXT;
ALTER TABLE accounts ADD COLUMN linked_id TEXT;
ALTER TABLE accounts ADD COLUMN email_domain TEXT;
ALTER TABLE accounts ADD COLUMN asn TEXT;
-- The domain is what follows the address's last @.
UPDATE accounts SET email_domain = substr(email_key, length(rtrim(email_key, replace(email_key, '@', ''))) + 1)
 WHERE email_key LIKE '%@%';
CREATE INDEX accounts_high_recall_idx ON accounts (high_recall_id, created_at);
CREATE INDEX accounts_linked_idx ON accounts (linked_id, created_at);
CREATE INDEX accounts_email_domain_idx ON accounts (email_domain, created_at);
CREATE INDEX accounts_asn_idx ON accounts (asn, created_at);

-- Attempts per key (a rule, its window length and the value counted) in fixed windows aligned
-- on the epoch. One upsert adds one and answers the new count, so concurrent attempts each get
-- their own number. Rows whose window has ended are deleted in the background, by expires_at,
-- so instances whose policies differ never cut each other's windows short.
CREATE TABLE velocity_counters (
    name         TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (name, window_start)
);
CREATE INDEX velocity_counters_expiry_idx ON velocity_counters (expires_at);
