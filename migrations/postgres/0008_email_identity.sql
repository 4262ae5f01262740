-- The email address a username stands for (dots, +tags and case set aside), so the policy can
-- see a second account for one inbox (email_alias).
ALTER TABLE accounts ADD COLUMN email_key TEXT;
CREATE INDEX accounts_email_key_idx ON accounts (email_key);
