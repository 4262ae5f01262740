#!/usr/bin/env bash
# What an attempt's row costs the database to write, under the schema a build migrates: every
# refused signup writes one, so each index on `attempts` is paid a flood's rate times over.
# Writes the same fixed work each round into a fresh schema, 8 rows a commit (a group commit's
# batch), and prints, a row:
#   PostgreSQL: WAL bytes, the server's CPU, the indexes' size;
#   SQLite (WAL mode, synchronous = FULL, as the service opens it): pages written to the WAL;
#   and, written again without fsync, the CPU of the statements (SQLite runs in the process).
# SQLite's pages repeat exactly, PostgreSQL's WAL and index bytes within about 1 % (its rows
# are random); the CPU drifts with the machine, so compare builds in alternated rounds:
#
#   bash bench/attempt_rows.sh                               # the current build
#   SIGNUP_GUARD_BIN=/tmp/old-build bash bench/attempt_rows.sh
#   ROUNDS=1 TRANSACTIONS=500 bash bench/attempt_rows.sh     # a quick check
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-2}
TRANSACTIONS=${TRANSACTIONS:-3000}   # per client, 2 clients, 8 rows each
PG_ADMIN_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $TRANSACTIONS =~ ^[1-9][0-9]*$ ]] ||
  { echo "ROUNDS and TRANSACTIONS are whole numbers above 0" >&2; exit 2; }
for tool in psql pgbench python3; do
  command -v $tool >/dev/null ||
    { echo "needs $tool (apt-get install postgresql python3)" >&2; exit 2; }
done
if [[ -z ${SIGNUP_GUARD_BIN:-} ]]; then
  cargo build --release --quiet --bin signup-guard
fi
BIN=${SIGNUP_GUARD_BIN:-target/release/signup-guard}

WORK=$(mktemp -d)
DB=sg_rows_$$_$RANDOM
PG_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$DB")
cleanup() {
  psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null ||
    echo "could not drop the database $DB" >&2
  rm -rf "$WORK"
}
trap cleanup EXIT

# The row of a bot refused in the flood benchmark. The bench's full v4 event (8 KB) stands in
# for its snapshot, which is smaller (about 2 KiB): the same for every build compared.
EVENT=crates/fingerprint/benches/event_v4.json
python3 bench/attempt_rows.py pgbench-script >"$WORK/insert.sql"
psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE $DB" >/dev/null
migrate() {
  DATABASE_URL="$1" "$BIN" migrate >"$WORK/migrate.log" 2>&1 ||
    { cat "$WORK/migrate.log" >&2; echo "migrating $1 failed" >&2; exit 1; }
}
migrate "$PG_URL"
psql "$PG_URL" -qAt -v ON_ERROR_STOP=1 -v body="$(cat "$EVENT")" >/dev/null <<'SQL'
CREATE TABLE bench_snapshot (body TEXT NOT NULL);
INSERT INTO bench_snapshot VALUES (:'body');
SQL
migrate "sqlite://$WORK/schema.db"

echo "attempt rows, $BIN, $((2 * TRANSACTIONS * 8)) rows a round"
for round in $(seq "$ROUNDS"); do
  # The tally of the overview (attempt_minutes) is emptied with the attempts where the
  # build's schema has one.
  psql "$PG_URL" -qAtc "TRUNCATE attempts CASCADE" \
    -c "DO \$\$ BEGIN IF to_regclass('attempt_minutes') IS NOT NULL THEN
          TRUNCATE attempt_minutes; END IF; END \$\$" -c "CHECKPOINT" >/dev/null
  lsn=$(psql "$PG_URL" -qAtc "SELECT pg_current_wal_lsn()")
  before=$(python3 bench/attempt_rows.py server-ticks)
  pgbench -n -f "$WORK/insert.sql" -c 2 -t "$TRANSACTIONS" "$PG_URL" \
    >"$WORK/pgbench.out" 2>&1 || { cat "$WORK/pgbench.out" >&2; exit 1; }
  after=$(python3 bench/attempt_rows.py server-ticks)
  read -r rows wal indexes < <(psql "$PG_URL" -qAt -F ' ' -c "SELECT count(*), \
    pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn'), pg_indexes_size('attempts') FROM attempts")
  python3 bench/attempt_rows.py postgres-report "$round" "$rows" "$wal" "$before" "$after" \
    "$indexes"
  python3 bench/attempt_rows.py sqlite "$WORK/schema.db" $((2 * TRANSACTIONS)) "$EVENT" \
    "$round"
done
