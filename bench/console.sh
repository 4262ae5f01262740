#!/usr/bin/env bash
# The console and the admin API over a large audit trail: seeds one (a few real signups through
# the public API, then copies of their attempts), starts signup-guard on it and times each page
# with curl (server time as curl sees it on loopback: the median of 5 loads).
#
#   SHAPE=week  (default) ATTEMPTS (100,000) spread over the last week, with varied devices,
#               IPs and usernames;
#   SHAPE=flood ATTEMPTS (300,000) in the last hour, as a refusal flood leaves them: 60 % bad
#               bots (most from one address), 40 % 25 devices over their limit from that same
#               address, 0.2 % allowed real users; no review and no VPN anywhere.
#   BACKEND=sqlite (default) or postgres (a fresh sg_console_* database on TEST_DATABASE_URL,
#               else postgres://postgres@127.0.0.1:5432/postgres, dropped on exit).
#
#   cargo build --release && bash bench/console.sh
#   SHAPE=flood BACKEND=postgres bash bench/console.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SHAPE=${SHAPE:-week}
BACKEND=${BACKEND:-sqlite}
case $SHAPE in
  week) ATTEMPTS=${ATTEMPTS:-100000} ;;
  flood) ATTEMPTS=${ATTEMPTS:-300000} ;;
  *) echo "SHAPE must be week or flood" >&2; exit 2 ;;
esac
case $BACKEND in
  sqlite | postgres) ;;
  *) echo "BACKEND must be sqlite or postgres" >&2; exit 2 ;;
esac
BIN=${BIN:-target/release/signup-guard}
PORT=${PORT:-3391}
PG_ADMIN_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d)
SEED_DB="$WORK/seed.db"
BASE="http://127.0.0.1:$PORT"
PID=
PG_DB=
cleanup() {
  set +e
  if [[ -n $PID ]]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
  if [[ -n $PG_DB ]] &&
    ! psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null; then
    echo "could not drop the database $PG_DB" >&2
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -x $BIN ]] || { echo "build first: cargo build --release (or set BIN)" >&2; exit 2; }
if curl -fs "$BASE/health" >/dev/null 2>&1; then
  echo "port $PORT already answers: stop what runs there, or set PORT" >&2; exit 1
fi
start() {
  # Demo mode opens the admin API to the script, unless the caller's environment names a token.
  env -u ADMIN_TOKEN -u ADMIN_TOKENS DATABASE_URL="$1" PORT=$PORT "$BIN" --demo >"$WORK/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/health" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "signup-guard did not start:" >&2; cat "$WORK/log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

# Real signups give the rows to copy: their snapshots, codes and policy hash.
start "sqlite://$SEED_DB"
for persona in new_device vpn bad_bot tor incognito vpn new_device proxy; do
  id=$(curl -s -X POST "$BASE/demo/identify" -H 'Content-Type: application/json' \
    -d "{\"persona\":\"$persona\"}" | sed -E 's/.*"requestId":"([^"]+)".*/\1/')
  curl -s -o /dev/null -X POST "$BASE/api/create-account" -H 'Content-Type: application/json' \
    -d "{\"requestId\":\"$id\",\"username\":\"seed-$persona-$RANDOM@example.org\",\"password\":\"correct horse battery staple\"}"
done
stop

if [[ $BACKEND == postgres ]]; then
  PG_DB="sg_console_$$"
  psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE $PG_DB" >/dev/null
  URL=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$PG_DB")
  DATABASE_URL="$URL" "$BIN" migrate >/dev/null
  python3 bench/console_seed.py "$SHAPE" "$SEED_DB" "$ATTEMPTS" csv "$WORK/rows.csv"
  psql "$URL" -qAt -v ON_ERROR_STOP=1 \
    -c "\\copy attempts (event_id, visitor_id, ip, username, verdict, code, codes, signals, policy_hash, created_at) FROM '$WORK/rows.csv' CSV" \
    -c "VACUUM ANALYZE attempts" >/dev/null
else
  URL="sqlite://$SEED_DB"
  python3 bench/console_seed.py "$SHAPE" "$SEED_DB" "$ATTEMPTS" sqlite
fi
echo "seeded $ATTEMPTS attempts ($SHAPE) on $BACKEND" >&2

start "$URL"
jar="$WORK/cookies"
curl -s -o /dev/null -c "$jar" "$BASE/console/login"
latest=$(curl -s "$BASE/api/attempts?limit=1" | python3 -c 'import json, sys
a = json.load(sys.stdin)["attempts"][0]; print(a["id"], a["visitorId"])')
last=${latest% *}; visitor=${latest#* }
if [[ $SHAPE == flood ]]; then
  pages=("/console?range=hour" "/console?range=day" "/console/attempts"
    "/console/attempts?verdict=allow" "/console/attempts?verdict=review"
    "/console/attempts?code=vpn_detected" "/console/attempts?code=tor_detected&verdict=block"
    "/console/attempts?code=bot_detected" "/console/attempts?verdict=review&before=$((last / 2))"
    "/console/attempts?ip=198.51.100.23&verdict=allow" "/console/attempts?since=1h&until=30m"
    "/console/attempts?since=1h&until=30m&verdict=allow" "/api/attempts?since=30m&verdict=allow"
    "/console/attempts?ip=198.51.100.23&since=1h&until=30m"
    "/console/attempts?ip=198.51.100.23&since=40m&until=35m&verdict=allow"
    "/api/attempts?visitorId=bench-device-3&since=30m"
    "/console/devices/bench-device-3" "/console/devices/$visitor" "/console/reviews"
    "/api/attempts?verdict=review" "/api/attempts?code=vpn_detected")
else
  pages=("/console?range=hour" "/console?range=day" "/console?range=week" "/console/attempts"
    "/console/attempts?verdict=block" "/console/attempts?code=tor_detected"
    "/console/attempts?code=incognito&verdict=allow" "/console/attempts?visitor=$visitor"
    "/console/attempts?ip=10.1.1.1" "/console/attempts?username=bench99999@example.org"
    "/console/attempts?since=1h&until=30m" "/console/attempts?before=$((last / 2))"
    "/console/attempts/$last" "/console/devices/$visitor" "/console/reviews" "/console/lists"
    "/console/policy" "/console/deliveries")
fi
printf '%-62s %6s %9s\n' page status median_ms
for path in "${pages[@]}"; do
  times=()
  for _ in 1 2 3 4 5; do
    out=$(curl -s -o /dev/null -b "$jar" -w '%{http_code} %{time_total}' "$BASE$path")
    status=${out% *}; times+=("${out#* }")
    [[ $status == 200 ]] || failed=1
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  printf '%-62s %6s %9s\n' "$path" "$status" "$(awk -v s="$median" 'BEGIN { printf "%.1f", s * 1000 }')"
done
if [[ -n ${failed:-} ]]; then echo "a page answered other than 200" >&2; exit 1; fi
