#!/usr/bin/env bash
# Fast under a bot flood (issue 10): one command that starts a stand-in Fingerprint API, the
# nginx relay reference, signup-guard on SQLite and two instances on PostgreSQL, runs the
# phases, and prints one table. Loopback only; every run is bounded in time.
#
#   bash bench/flood.sh                            # about 3 minutes after the build
#   DURATION=5 IDLE_SECONDS=3 bash bench/flood.sh  # a quick check
#   SIGNUP_GUARD_BIN=/tmp/old-build bash bench/flood.sh  # the same run against another build
#   bash scripts/pgo-build && SIGNUP_GUARD_BIN=target/pgo/release/signup-guard \
#     ARGON2_BIN=target/pgo/release/examples/argon2_rate bash bench/flood.sh  # the PGO build
#   SERVICE_ENV="DATABASE_MAX_CONNECTIONS=4" bash bench/flood.sh  # settings for every instance
#   PHASES=refusals BACKENDS=sqlite bash bench/flood.sh  # one phase, one backend
#   PROFILE=dev DURATION=3 bash bench/flood.sh     # CI's smoke: the test build, no figures
#
# See bench/README.md for what each phase measures and how to read the table.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}            # seconds per load run
IDLE_SECONDS=${IDLE_SECONDS:-$DURATION}
CONNECTIONS=${CONNECTIONS:-50}      # wrk connections per load (the flood adds as many for bots)
THREADS=${THREADS:-2}               # wrk threads per load
FLOOD_RATE=${FLOOD_RATE:-1000}      # bot signups/s beside real users in the flood phase
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-$CONNECTIONS}  # wrk connections carrying the bots
HEALTH_RATE=${HEALTH_RATE:-50}      # /health requests/s per instance, in every phase
ARGON2_THREADS=${ARGON2_THREADS:-2}
BACKENDS=${BACKENDS:-sqlite postgres}
PHASES=${PHASES:-refusals new flood idle}  # a subset runs only those (an A/B of one path)
NGINX_WORKERS=${NGINX_WORKERS:-auto}
PG_ADMIN_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SERVICE_ENV=${SERVICE_ENV:-}        # extra NAME=value settings for the service, space-separated
# Hashing threads per PostgreSQL instance: the two instances share this machine's cores, so
# each hashes on its share, as the raw Argon2id reference does on all of them. Four threads on
# two cores measured worse (docs/performance.md, the fifteenth machine). A HASH_CONCURRENCY in
# SERVICE_ENV wins, for every instance, and is what the header then reports.
PG_HASH_CONCURRENCY=${PG_HASH_CONCURRENCY:-$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))}
if [[ " $SERVICE_ENV " =~ [[:space:]]HASH_CONCURRENCY=([^[:space:]]*) ]]; then
  PG_HASH_CONCURRENCY=${BASH_REMATCH[1]}
fi
KEEP_WORK=${KEEP_WORK:-0}           # 1 keeps the logs and configs in the work directory
PROFILE=${PROFILE:-release}         # cargo's build profile; only release gives figures to read
SECRET=bench-flood-secret
DEVICES=25                          # duplicate devices, each seeded with its account

[[ $PROFILE =~ ^[a-z][a-z0-9_-]*$ ]] || { echo "PROFILE is a cargo profile name: release, dev" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 ]] || { echo "DURATION is whole seconds" >&2; exit 2; }
[[ $IDLE_SECONDS =~ ^[0-9]+$ && $IDLE_SECONDS -gt 0 ]] || { echo "IDLE_SECONDS is whole seconds, at least 1" >&2; exit 2; }
[[ $PG_HASH_CONCURRENCY =~ ^[0-9]+$ ]] || { echo "PG_HASH_CONCURRENCY (or HASH_CONCURRENCY in SERVICE_ENV) is a thread count (0: one per CPU)" >&2; exit 2; }
for name in $PHASES; do
  [[ $name =~ ^(refusals|new|flood|idle)$ ]] || { echo "unknown phase $name (refusals, new, flood, idle)" >&2; exit 2; }
done

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/flood.sh: %s\n' "$*" >&2; exit 1; }

# --- tools ----------------------------------------------------------------------------------
need=()
for pair in wrk:wrk nginx:nginx curl:curl python3:python3 psql:postgresql-client; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if ((${#need[@]})); then
  [[ $(id -u) == 0 ]] || die "needs ${need[*]}: apt-get install -y ${need[*]}"
  log "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
nginx -V 2>&1 | grep -q http_sub_module || die "this nginx lacks the sub module (Debian's nginx has it)"

# --- work directory and cleanup -------------------------------------------------------------
WORK=$(mktemp -d /tmp/flood.XXXXXX)
chmod 755 "$WORK" # nginx workers started by root run as nobody and read the templates here
RESULTS=$WORK/results
: >"$RESULTS"
PIDS=()       # everything started here, stopped on exit
PG_DB=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [[ -n $PG_DB ]]; then
    psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 ||
      echo "could not drop the bench database $PG_DB" >&2
  fi
  if [[ $KEEP_WORK == 1 || $status != 0 ]]; then
    echo "logs and configs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU ticks (user + system) summed over the given /proc stat files.
stat_ticks() {
  local total=0 file stat
  for file in "$@"; do
    stat=$(cat "$file" 2>/dev/null) || continue
    stat=${stat##*) }   # fields after the command name
    read -r -a f <<<"$stat"
    total=$((total + f[11] + f[12]))   # utime and stime: fields 14 and 15 of the full line
  done
  echo "$total"
}
# CPU ticks (all threads) of the given processes.
cpu_ticks() {
  local pid files=()
  for pid in "$@"; do files+=("/proc/$pid/stat"); done
  stat_ticks "${files[@]}"
}
# CPU ticks of the given processes' password-hashing threads (named argon2-N by the service):
# beside the service's total it shows how much of the machine real users' hashes got.
hash_ticks() {
  local pid task comm files=()
  for pid in "$@"; do
    for task in /proc/"$pid"/task/*; do
      read -r comm 2>/dev/null <"$task/comm" || continue
      [[ $comm == argon2-* ]] && files+=("$task/stat")
    done
  done
  stat_ticks "${files[@]}"
}
CLK_TCK=$(getconf CLK_TCK)
cpu_percent() { # ticks before, ticks after, seconds
  python3 -c 'import sys; b, a, s, hz = map(float, sys.argv[1:]); print("%.0f" % (100 * (a - b) / hz / s))' \
    "$1" "$2" "$3" "$CLK_TCK"
}

# The largest of a /proc status field (VmHWM, VmRSS) over the given processes, in KiB.
status_kib() {
  local field=$1 max=0 pid v
  shift
  for pid in "$@"; do
    v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    ((${v:-0} > max)) && max=$v
  done
  echo "$max"
}

# --- build ----------------------------------------------------------------------------------
# Given both binaries (scripts/pgo-build's, say), there is nothing to build.
if [[ -n ${SIGNUP_GUARD_BIN:-} && -n ${ARGON2_BIN:-} ]]; then
  log "using $SIGNUP_GUARD_BIN and $ARGON2_BIN"
else
  log "building (cargo build --profile $PROFILE)"
  cargo build --profile "$PROFILE" --quiet --bins --example argon2_rate
fi
# cargo puts the dev and test profiles' output in target/debug, bench's in target/release,
# every other profile's under its own name.
case $PROFILE in
  dev | test) OUT=$PWD/target/debug ;;
  bench) OUT=$PWD/target/release ;;
  *) OUT=$PWD/target/$PROFILE ;;
esac
# SIGNUP_GUARD_BIN runs another build of the service (an A/B of two commits) in the same setup;
# ARGON2_BIN the raw Argon2id reference built the same way.
BIN=${SIGNUP_GUARD_BIN:-$OUT/signup-guard}
ARGON2=${ARGON2_BIN:-$OUT/examples/argon2_rate}
# Relative paths are taken from the checkout's root, where this script runs.
[[ -x $BIN ]] || die "no service binary at $BIN"
[[ -x $ARGON2 ]] || die "no Argon2id reference binary at $ARGON2"
BIN=$(realpath "$BIN") ARGON2=$(realpath "$ARGON2")
[[ $PROFILE == release ]] ||
  log "PROFILE=$PROFILE: not the release build, so the figures below are not the benchmark's"

# --- the stand-in Fingerprint API -----------------------------------------------------------
# nginx serves a template per persona; sub_filter writes in the event id, a visitor id and the
# current time in milliseconds, so the default policy's freshness check stays on and passes.
# The persona is the id's prefix: bot_* a bad bot, dupK_* device K of 25 (it already holds an
# account once seeded), new_* a device of its own (visitor id derived from the event id).
# The templates are the full v4 event of crates/fingerprint/benches (bot: as is; dup and new:
# every Smart Signal quiet), so the service parses a worst-case body every time.
STANDIN_PORT=$(free_port)
RELAY_PORT=$(free_port)
mkdir -p "$WORK/standin/events" "$WORK/relay"
python3 bench/flood_report.py templates crates/fingerprint/benches/event_v4.json "$WORK/standin/events"

nginx_common() { # prefix
  cat <<EOF
worker_processes $NGINX_WORKERS;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 8192; }
EOF
}
nginx_http_common() { # prefix
  cat <<EOF
  access_log off;
  client_body_temp_path $1/body;
  proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi;
  scgi_temp_path $1/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
EOF
}

{
  nginx_common "$WORK/standin"
  cat <<EOF
http {
$(nginx_http_common "$WORK/standin")
  default_type application/json;
  map \$msec \$now_ms { "~^(?<s>[0-9]+)\.(?<ms>[0-9]{3})\$" "\$s\$ms"; }
  map \$uri \$event_id { "~^/v4/events/(?<id>[A-Za-z0-9._-]{1,128})\$" \$id; default ""; }
  map \$event_id \$persona { "~^bot_" bot; "~^dup[0-9]+_" dup; "~^new_" new; default ""; }
  map \$event_id \$visitor_id { "~^dup(?<k>[0-9]+)_" "bench-device-\$k"; default "v-\$event_id"; }
  server {
    listen 127.0.0.1:$STANDIN_PORT;
    location /v4/events/ {
      if (\$http_authorization != "Bearer $SECRET") {
        return 401 '{"error":{"code":"SecretAPIKeyRequired","message":"bad key"}}';
      }
      if (\$persona = "") {
        return 404 '{"error":{"code":"EventNotFound","message":"unknown persona"}}';
      }
      root $WORK/standin/events;
      rewrite ^ /\$persona.json break;
      sub_filter_types application/json;
      sub_filter_once off;
      sub_filter '@@EVENT_ID@@' \$event_id;
      sub_filter '@@VISITOR_ID@@' \$visitor_id;
      sub_filter '@@TIMESTAMP_MS@@' \$now_ms;
    }
  }
}
EOF
} >"$WORK/standin/nginx.conf"

# The relay reference: each request becomes one upstream GET to the stand-in, nothing else.
{
  nginx_common "$WORK/relay"
  cat <<EOF
http {
$(nginx_http_common "$WORK/relay")
  upstream standin { server 127.0.0.1:$STANDIN_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$RELAY_PORT;
    location ~ "^/relay/(?<id>[A-Za-z0-9._-]{1,128})\$" {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_method GET;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Content-Type "";
      proxy_set_header Authorization "Bearer $SECRET";
      proxy_pass http://standin/v4/events/\$id;
    }
  }
}
EOF
} >"$WORK/relay/nginx.conf"

start_nginx() { # name -> sets NGINX_PID
  nginx -t -q -e "$WORK/$1/error.log" -p "$WORK/$1" -c "$WORK/$1/nginx.conf" ||
    die "the $1 nginx config is invalid ($WORK/$1/nginx.conf)"
  nginx -e "$WORK/$1/error.log" -p "$WORK/$1" -c "$WORK/$1/nginx.conf" -g 'daemon off;' \
    >"$WORK/$1.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
}
workers_of() { pgrep -P "$1" | tr '\n' ' '; }

start_nginx standin
STANDIN_PID=$NGINX_PID
start_nginx relay
RELAY_PID=$NGINX_PID
deadline=$((SECONDS + 10))
for persona in bot_check_1 dup3_check_1 new_check_1; do
  until curl -fsS -o "$WORK/check.json" -H "Authorization: Bearer $SECRET" \
    "http://127.0.0.1:$STANDIN_PORT/v4/events/$persona" 2>/dev/null; do
    ((SECONDS < deadline)) || { tail -n 5 "$WORK"/standin/error.log >&2; die "the stand-in did not start"; }
    sleep 0.2
  done
  python3 bench/flood_report.py check-event "$WORK/check.json" >/dev/null ||
    die "the stand-in's answer for $persona is not a fresh event"
done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$RELAY_PORT/relay/bot_check_2" ||
  { tail -n 5 "$WORK"/relay/error.log >&2; die "the relay did not start"; }
STANDIN_PROCS="$STANDIN_PID $(workers_of "$STANDIN_PID")"
RELAY_PROCS="$RELAY_PID $(workers_of "$RELAY_PID")"

# --- running wrk ----------------------------------------------------------------------------
# Runs wrk with flood.lua; appends its RESULT line, with the given key=value tags, to $RESULTS.
# Every run is bounded: wrk's own -d, and timeout(1) in case it hangs.
run_wrk() { # out-file mode ports threads connections rate url
  local out=$1 mode=$2 ports=$3 threads=$4 conns=$5 rate=$6 url=$7 seconds=${8:-$DURATION}
  MODE=$mode BENCH_PORTS=$ports WRK_THREADS=$threads CONNECTIONS=$conns RATE=$rate \
    TAG="$mode$RANDOM$RANDOM" timeout -k 5 $((seconds + 40)) \
    wrk -t "$threads" -c "$conns" -d "${seconds}s" --timeout 10s -s bench/flood.lua "$url" \
    >"$out" 2>&1 || true
}
result_of() { # wrk output file -> the RESULT line without its prefix, or a failed run
  grep -m1 '^RESULT ' "$1" | cut -d' ' -f2- || echo "answered=0 expected=0 wrk_failed=1"
}
health_load() { # ports seconds -> starts a paced /health wrk in the background (HEALTH_PID)
  local ports=$1 count
  count=$(tr ',' '\n' <<<"$ports" | wc -l)
  run_wrk "$WORK/health.out" health "$ports" "$count" "$count" $((HEALTH_RATE * count)) \
    "http://127.0.0.1:${ports%%,*}" "$2" &
  HEALTH_PID=$!
}

# --- the references ---------------------------------------------------------------------------
# Each is measured just before and just after the phase it is the yardstick for, and the phase
# is compared with their mean: these machines' speed drifts by 10 to 35 % within minutes, so a
# reference read once at the start measured another machine than the phases run minutes later.
argon2_reference() { # backend before|after
  log "$1: raw Argon2id on $ARGON2_THREADS threads, ${DURATION}s ($2 new devices)"
  timeout $((DURATION + 60)) "$ARGON2" "$ARGON2_THREADS" "$DURATION" >"$WORK/argon2.out"
  echo "backend=$1 phase=argon2 role=$2 $(cut -d' ' -f2- "$WORK/argon2.out")" >>"$RESULTS"
}

relay_reference() { # backend before|after
  log "$1: relay, one upstream GET per request, $CONNECTIONS connections, ${DURATION}s ($2 refusals)"
  local standin_before relay_before
  standin_before=$(cpu_ticks $STANDIN_PROCS); relay_before=$(cpu_ticks $RELAY_PROCS)
  run_wrk "$WORK/relay.out" relay "$RELAY_PORT" "$THREADS" "$CONNECTIONS" 0 "http://127.0.0.1:$RELAY_PORT"
  echo "backend=$1 phase=relay role=$2 $(result_of "$WORK/relay.out")" \
    "cpu_standin=$(cpu_percent "$standin_before" "$(cpu_ticks $STANDIN_PROCS)" "$DURATION")" \
    "cpu_svc=$(cpu_percent "$relay_before" "$(cpu_ticks $RELAY_PROCS)" "$DURATION")" >>"$RESULTS"
}

reference() { # backend phase before|after
  case $2 in
    refusals) relay_reference "$1" "$3" ;;
    new) argon2_reference "$1" "$3" ;;
  esac
}

# --- the service ----------------------------------------------------------------------------
SERVICE_PIDS=()
start_service() { # name database-url [NAME=value...] -> appends to SERVICE_PIDS, sets SERVICE_PORT
  SERVICE_PORT=$(free_port)
  (cd "$WORK" && exec env -i PATH="$PATH" FINGERPRINT_API_KEY="$SECRET" \
    FINGERPRINT_API_URL="http://127.0.0.1:$STANDIN_PORT" DATABASE_URL="$2" HOST=127.0.0.1 \
    PORT="$SERVICE_PORT" RUST_LOG=warn "${@:3}" $SERVICE_ENV "$BIN" >"$WORK/$1.log" 2>&1) &
  local pid=$!
  PIDS+=("$pid")
  SERVICE_PIDS+=("$pid")
  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "http://127.0.0.1:$SERVICE_PORT/health" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$WORK/$1.log" >&2; die "$1 exited at startup"; }
    ((SECONDS < deadline)) || { tail -n 30 "$WORK/$1.log" >&2; die "$1 did not answer /health in 60 s"; }
    sleep 0.2
  done
}
stop_services() {
  local pid
  for pid in "${SERVICE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVICE_PIDS[@]}"; do
    timeout 30 tail --pid="$pid" -f /dev/null || kill -9 "$pid" 2>/dev/null || true
  done
  SERVICE_PIDS=()
}

signup() { # port event-id -> "status code"
  curl -sS -o "$WORK/signup.json" -w '%{http_code}' -H 'content-type: application/json' \
    -d "{\"requestId\":\"$2\",\"username\":\"check-$2@example.org\",\"password\":\"correct horse battery staple\"}" \
    "http://127.0.0.1:$1/api/create-account" || true
  printf ' %s\n' "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("code", "-"))' \
    "$WORK/signup.json" 2>/dev/null || echo '?')"
}
expect_signup() { # port event-id expected-status expected-code
  local got
  got=$(signup "$1" "$2")
  [[ $got == "$3 $4" ]] || { cat "$WORK/signup.json" >&2; echo >&2; die "signup $2 on port $1 answered '$got', expected '$3 $4'"; }
}

# Gives the 25 duplicate devices their account, then checks one signup of each persona on
# every instance answers as the phases expect.
seed_and_check() { # ports...
  local k tag=$RANDOM$RANDOM
  for ((k = 0; k < DEVICES; k++)); do
    expect_signup "$1" "dup${k}_seed${tag}" 200 -
  done
  for port in "$@"; do
    expect_signup "$port" "bot_check${tag}_$port" 403 bot_detected
    expect_signup "$port" "dup7_check${tag}_$port" 429 device_limit
    expect_signup "$port" "new_check${tag}_$port" 200 -
  done
}

phase() { # backend phase ports
  local backend=$1 name=$2 ports=$3 url="http://127.0.0.1:${3%%,*}"
  local svc_before standin_before hash_before svc_cpu standin_cpu hash_cpu hwm
  reference "$backend" "$name" before
  log "$backend: $name"
  health_load "$ports" "$DURATION"
  svc_before=$(cpu_ticks "${SERVICE_PIDS[@]}"); standin_before=$(cpu_ticks $STANDIN_PROCS)
  hash_before=$(hash_ticks "${SERVICE_PIDS[@]}")
  case $name in
    refusals)
      run_wrk "$WORK/main.out" refuse "$ports" "$THREADS" "$CONNECTIONS" 0 "$url" ;;
    new)
      run_wrk "$WORK/main.out" new "$ports" "$THREADS" "$CONNECTIONS" 0 "$url" ;;
    flood)
      run_wrk "$WORK/bots.out" bot "$ports" "$THREADS" "$FLOOD_CONNECTIONS" "$FLOOD_RATE" "$url" &
      local bots=$!
      run_wrk "$WORK/main.out" new "$ports" "$THREADS" "$CONNECTIONS" 0 "$url"
      wait "$bots" ;;
  esac
  wait "$HEALTH_PID"
  svc_cpu=$(cpu_percent "$svc_before" "$(cpu_ticks "${SERVICE_PIDS[@]}")" "$DURATION")
  standin_cpu=$(cpu_percent "$standin_before" "$(cpu_ticks $STANDIN_PROCS)" "$DURATION")
  hash_cpu=$(cpu_percent "$hash_before" "$(hash_ticks "${SERVICE_PIDS[@]}")" "$DURATION")
  hwm=$(status_kib VmHWM "${SERVICE_PIDS[@]}")
  local role=main
  [[ $name == flood ]] && role=users
  echo "backend=$backend phase=$name role=$role $(result_of "$WORK/main.out") hwm_kib=$hwm" \
    "cpu_svc=$svc_cpu cpu_hash=$hash_cpu cpu_standin=$standin_cpu" >>"$RESULTS"
  [[ $name == flood ]] &&
    echo "backend=$backend phase=flood role=bots rate=$FLOOD_RATE conns=$FLOOD_CONNECTIONS $(result_of "$WORK/bots.out")" >>"$RESULTS"
  echo "backend=$backend phase=$name role=health $(result_of "$WORK/health.out")" >>"$RESULTS"
  reference "$backend" "$name" after
}

idle() { # backend ports
  log "$1: idle, ${IDLE_SECONDS}s"
  local svc_before
  svc_before=$(cpu_ticks "${SERVICE_PIDS[@]}")
  health_load "$2" "$IDLE_SECONDS"
  wait "$HEALTH_PID"
  echo "backend=$1 phase=idle role=health $(result_of "$WORK/health.out")" \
    "rss_kib=$(status_kib VmRSS "${SERVICE_PIDS[@]}") hwm_kib=$(status_kib VmHWM "${SERVICE_PIDS[@]}")" \
    "cpu_svc=$(cpu_percent "$svc_before" "$(cpu_ticks "${SERVICE_PIDS[@]}")" "$IDLE_SECONDS")" \
    >>"$RESULTS"
}

run_backend() { # backend ports
  seed_and_check ${2//,/ }
  local name
  for name in $PHASES; do
    case $name in
      idle) idle "$1" "$2" ;;
      *) phase "$1" "$name" "$2" ;;
    esac
  done
  stop_services
}

for backend in $BACKENDS; do
  case $backend in
    sqlite)
      log "sqlite: one instance"
      start_service sqlite "sqlite://$WORK/bench.db"
      run_backend sqlite "$SERVICE_PORT"
      ;;
    postgres)
      log "postgres: two instances sharing one database, $PG_HASH_CONCURRENCY hashing thread(s) each"
      db=sg_flood_$$_$RANDOM
      psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE $db" >/dev/null ||
        die "cannot create a database through $PG_ADMIN_URL (set TEST_DATABASE_URL)"
      PG_DB=$db # dropped on exit
      PG_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$PG_DB")
      DATABASE_URL="$PG_URL" "$BIN" migrate >"$WORK/migrate.log" 2>&1 ||
        { cat "$WORK/migrate.log" >&2; die "migrating the bench database failed"; }
      start_service pg-a "$PG_URL" HASH_CONCURRENCY="$PG_HASH_CONCURRENCY"
      port_a=$SERVICE_PORT
      start_service pg-b "$PG_URL" HASH_CONCURRENCY="$PG_HASH_CONCURRENCY"
      run_backend postgres "$port_a,$SERVICE_PORT"
      ;;
    *) die "unknown backend $backend (sqlite, postgres)" ;;
  esac
done

echo
echo "signup-guard under a bot flood: $(nproc) cores, $CONNECTIONS connections, ${DURATION}s runs," \
  "bots at $FLOOD_RATE/s on $FLOOD_CONNECTIONS more in the flood, /health at $HEALTH_RATE/s per instance," \
  "$PG_HASH_CONCURRENCY hashing thread(s) per PostgreSQL instance, $(date -u +%FT%TZ)"
echo
python3 bench/flood_report.py table "$RESULTS"
