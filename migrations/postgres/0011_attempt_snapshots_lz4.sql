-- An attempt's snapshot (the event and what the policy counted) is a few KiB of JSON, over the
-- 2 KiB at which PostgreSQL compresses a row's values. Its default method, pglz, was a fifth of
-- the server's CPU in a refusal flood (perf over bench/flood.sh); with lz4 the same run refused
-- 9 % more a second. Only new values change: rows written before keep pglz and read as before.
-- A server built without lz4 (or older than 14) keeps pglz rather than failing to start.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE attempts ALTER COLUMN signals SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'attempts.signals keeps pglz: this server has no lz4';
END
$$;
