-- The decision API: an app that keeps its own users reserves a device slot with its own user
-- id (account_ref) and no password, and can release it by the decision's id.
ALTER TABLE accounts
    ALTER COLUMN username DROP NOT NULL,
    ALTER COLUMN username_key DROP NOT NULL,
    ALTER COLUMN password_hash DROP NOT NULL,
    ADD COLUMN account_ref TEXT,
    ADD COLUMN decision_id TEXT,
    -- Every account is either a user of ours (a password) or a slot of an app's user.
    ADD CONSTRAINT accounts_credential_ck CHECK (password_hash IS NOT NULL OR account_ref IS NOT NULL);
CREATE UNIQUE INDEX accounts_decision_id_uq ON accounts (decision_id);

ALTER TABLE attempts
    ADD COLUMN endpoint TEXT NOT NULL DEFAULT 'signup',
    ADD COLUMN decision_id TEXT,
    ADD COLUMN account_ref TEXT;
