-- Usernames are compared by a Unicode key and a confusable skeleton (src/username.rs), each
-- unique. Accounts written before this have no skeleton: after the SQL migrations, the
-- store re-keys them oldest first (src/store/usernames.rs). An account whose new key or
-- skeleton an older account already holds keeps a NULL skeleton (NULLs never collide in a
-- unique index, on either engine) and is reported by name.
ALTER TABLE accounts ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX accounts_username_skeleton_uq ON accounts (username_skeleton);
