#!/usr/bin/env bash
# Load test: one signup-guard instance on SQLite against two instances sharing one PostgreSQL
# database, each with two traffic mixes. Loopback only; bounded in time (about 2-4 minutes
# after the build) and in requests (each run has a fixed supply of single-use requestIds).
#
#   bash bench/load.sh                      # needs wrk, curl, python3 and a local PostgreSQL
#   DURATION=10s CONNECTIONS=8 bash bench/load.sh
#
# Mixes:
#   new    every signup comes from a new device, so every one hashes a password (Argon2id,
#          19 MiB): the CPU-bound worst case.
#   limit  nine in ten signups come from 25 devices that already hold their account: these are
#          refused with 429 before any hashing, so the database path dominates.
#
# Figures are for comparing setups on one machine, not absolute capacity.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-16}
NEW_IDS=${NEW_IDS:-2000}
LIMIT_IDS=${LIMIT_IDS:-8000}
PG_ADMIN_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SIM_LATENCY_MS=${SIM_LATENCY_MS:-50}
SECRET=bench-secret-key
THREADS=2

for tool in wrk curl python3 psql; do
  command -v "$tool" >/dev/null || { echo "bench/load.sh needs $tool (apt-get install -y wrk curl postgresql-client)" >&2; exit 1; }
done

cargo build --release --quiet
BIN=$PWD/target/release/signup-guard
WORK=$(mktemp -d)
PIDS=()
PG_DB=""

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n $PG_DB ]]; then
    psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # url, seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    (( SECONDS < deadline )) || { echo "no answer from $1; logs in $WORK" >&2; tail -n 20 "$WORK"/*.log >&2; exit 1; }
    sleep 0.2
  done
}

SIM_PORT=$(free_port)
"$BIN" simulator --host 127.0.0.1 --port "$SIM_PORT" --secret-key "$SECRET" \
  --latency-ms "$SIM_LATENCY_MS" >"$WORK/simulator.log" 2>&1 &
PIDS+=($!)
deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null -X POST -H 'content-type: application/json' -d '{}' \
  "http://127.0.0.1:$SIM_PORT/identify" 2>/dev/null; do
  (( SECONDS < deadline )) || { echo "the simulator did not start:" >&2; cat "$WORK/simulator.log" >&2; exit 1; }
  sleep 0.2
done

# Writes $2 requestIds for mix $1 to $3, one per line, from the simulator's POST /identify.
make_ids() {
  python3 - "$1" "$2" "$3" "$SIM_PORT" <<'PY'
import http.client, json, random, sys
mix, count, path, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
tag = "%08x" % random.getrandbits(32)
conn = http.client.HTTPConnection("127.0.0.1", port)
with open(path, "w") as out:
    for i in range(count):
        body = {}
        if mix == "limit" and i % 10 != 0:
            body = {"persona": "returning_device", "visitorId": "bench-%s-%d" % (tag, i % 25)}
        conn.request("POST", "/identify", json.dumps(body), {"content-type": "application/json"})
        out.write(json.loads(conn.getresponse().read())["requestId"] + "\n")
PY
}

run() { # label, mix, ids, ports
  make_ids "$2" "$3" "$WORK/ids-${1//\//-}"
  BENCH_LABEL="$1" BENCH_PORTS="$4" IDS_FILE="$WORK/ids-${1//\//-}" WRK_THREADS=$THREADS \
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --timeout 30s -s bench/signup.lua \
    "http://127.0.0.1:${4%%,*}" | grep '^RESULT'
}

echo "machine: $(nproc) cores; $CONNECTIONS connections, $DURATION per run, Fingerprint latency ${SIM_LATENCY_MS}ms"

# Ports cannot be read back from a background subshell, so instances start in this shell.
port=$(free_port)
(cd "$WORK" && exec env -i PATH="$PATH" FINGERPRINT_API_KEY="$SECRET" \
  FINGERPRINT_API_URL="http://127.0.0.1:$SIM_PORT" DATABASE_URL="sqlite://$WORK/bench.db" \
  HOST=127.0.0.1 PORT="$port" RUST_LOG=warn "$BIN" >"$WORK/sqlite.log" 2>&1) &
SQLITE_PID=$!
PIDS+=($SQLITE_PID)
wait_for "http://127.0.0.1:$port/health" 60
run sqlite-1-instance/new new "$NEW_IDS" "$port"
run sqlite-1-instance/limit limit "$LIMIT_IDS" "$port"
kill "$SQLITE_PID"; wait "$SQLITE_PID" 2>/dev/null || true

PG_DB=sg_bench_$$_$RANDOM
psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE $PG_DB" >/dev/null
PG_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$PG_DB")
DATABASE_URL="$PG_URL" "$BIN" migrate >/dev/null
ports=()
for name in pg-a pg-b; do
  port=$(free_port)
  (cd "$WORK" && exec env -i PATH="$PATH" FINGERPRINT_API_KEY="$SECRET" \
    FINGERPRINT_API_URL="http://127.0.0.1:$SIM_PORT" DATABASE_URL="$PG_URL" HOST=127.0.0.1 \
    PORT="$port" RUST_LOG=warn "$BIN" >"$WORK/$name.log" 2>&1) &
  PIDS+=($!)
  ports+=("$port")
done
for port in "${ports[@]}"; do wait_for "http://127.0.0.1:$port/health" 60; done
run postgres-2-instances/new new "$NEW_IDS" "${ports[0]},${ports[1]}"
run postgres-2-instances/limit limit "$LIMIT_IDS" "${ports[0]},${ports[1]}"
