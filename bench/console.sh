#!/usr/bin/env bash
# The console at 100,000 attempts: seeds a demo database (a few real signups through the
# public API, then copies of their attempts spread over the last week with varied devices,
# IPs and usernames), starts signup-guard on it and times each console page with curl
# (server time as curl sees it on loopback: the median of 5 loads).
#
#   cargo build --release && bash bench/console.sh        # ATTEMPTS=100000 by default
set -euo pipefail
cd "$(dirname "$0")/.."

ATTEMPTS=${ATTEMPTS:-100000}
BIN=${BIN:-target/release/signup-guard}
PORT=${PORT:-3391}
WORK=$(mktemp -d)
DB="$WORK/console.db"
BASE="http://127.0.0.1:$PORT"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

[[ -x $BIN ]] || { echo "build first: cargo build --release (or set BIN)" >&2; exit 2; }
start() {
  DATABASE_URL="sqlite://$DB" PORT=$PORT "$BIN" --demo >"$WORK/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 50); do curl -fs "$BASE/health" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "signup-guard did not start:" >&2; cat "$WORK/log" >&2; exit 1
}

start
for persona in new_device vpn bad_bot tor incognito vpn new_device proxy; do
  id=$(curl -s -X POST "$BASE/demo/identify" -H 'Content-Type: application/json' \
    -d "{\"persona\":\"$persona\"}" | sed -E 's/.*"requestId":"([^"]+)".*/\1/')
  curl -s -o /dev/null -X POST "$BASE/api/create-account" -H 'Content-Type: application/json' \
    -d "{\"requestId\":\"$id\",\"username\":\"seed-$persona-$RANDOM@example.org\",\"password\":\"correct horse battery staple\"}"
done
kill "$PID"; wait "$PID" 2>/dev/null || true

python3 - "$DB" "$ATTEMPTS" <<'PY'
import sqlite3, sys, time
db, total = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
seeds = con.execute("SELECT event_id, visitor_id, ip, username, verdict, code, codes, signals, policy_hash FROM attempts").fetchall()
now = int(time.time() * 1000)
week = 7 * 24 * 3600 * 1000
rows = []
for n in range(total):
    e, v, ip, u, verdict, code, codes, signals, h = seeds[n % len(seeds)]
    rows.append((f"{e}-{n}", f"{v}{n % 5000}", f"10.{n % 200}.{n // 200 % 250}.{n % 7}", f"bench{n}@example.org",
                 verdict, code, codes, signals, h, now - week + n * week // total))
con.executemany("INSERT INTO attempts (event_id, visitor_id, ip, username, verdict, code, codes, signals, policy_hash, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
con.commit()
con.execute("ANALYZE")
print(f"seeded {total} attempts", file=sys.stderr)
PY

start
jar="$WORK/cookies"
curl -s -o /dev/null -c "$jar" "$BASE/console/login"
last=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select max(id) from attempts').fetchone()[0])" "$DB")
visitor=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select visitor_id from attempts where id=?',(int(sys.argv[2]),)).fetchone()[0])" "$DB" "$last")
printf '%-62s %6s %9s\n' page status median_ms
for path in "/console?range=hour" "/console?range=day" "/console?range=week" "/console/attempts" \
  "/console/attempts?verdict=block" "/console/attempts?code=tor_detected" "/console/attempts?code=incognito&verdict=allow" \
  "/console/attempts?visitor=$visitor" "/console/attempts?ip=10.1.1.1" "/console/attempts?username=bench99999@example.org" \
  "/console/attempts?since=1h&until=30m" "/console/attempts?before=$((last / 2))" "/console/attempts/$last" \
  "/console/devices/$visitor" "/console/reviews" "/console/lists" "/console/policy" "/console/deliveries"; do
  times=()
  for _ in 1 2 3 4 5; do
    out=$(curl -s -o /dev/null -b "$jar" -w '%{http_code} %{time_total}' "$BASE$path")
    status=${out% *}; times+=("${out#* }")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  printf '%-62s %6s %9.1f\n' "$path" "$status" "$(echo "$median * 1000" | bc -l)"
done
