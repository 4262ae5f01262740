-- Every refused signup writes an attempt row, and each index on attempts is one more tree that
-- row must enter. Two entered for nothing, and one lookup had no index at all:
-- - attempts_created_idx repeats the first column of attempts_created_verdict_idx, which
--   serves every query by time as well;
-- - the delivery index held a NULL for every attempt not announced by webhook (all of them
--   when webhooks are off); unique only among the ids present, it need hold only those;
-- - the review queue and a label's attempt look an account's attempt up by account_id, which
--   scanned the attempts from the first (seconds at a few hundred thousand rows). Only the few
--   attempts that created an account carry one, so a bot's row never enters this index.
DROP INDEX attempts_created_idx;
DROP INDEX attempts_delivery_id_uq;
CREATE UNIQUE INDEX attempts_delivery_id_uq ON attempts (delivery_id)
    WHERE delivery_id IS NOT NULL;
CREATE INDEX attempts_account_id_idx ON attempts (account_id, id)
    WHERE account_id IS NOT NULL;
