#!/usr/bin/env bash
# bench/run.sh: Postern's performance in one command, beside the machine's own
# ceilings and a peer, measured in the same run (issue 10). Loopback only.
#
#   bench/run.sh [--smoke] [--seconds S] [--connections "1 4 16 64"] [--users N]
#                [--only "challenge ..."] [--pg [--instances N]] [--populate N]
#
# It measures, on this machine:
#   ceilings   small C programs of bench/ (built by CMake): bare libmicrohttpd with the
#              gateway's flags answering the JWKS bytes, over HTTP and over TLS;
#              RSA-2048 RS256 signatures/s and argon2id (19 MiB, t=2) hashes/s on
#              every core; fsync'd SQLite commits/s (WAL, synchronous=FULL) in the
#              data directory; messages/s into the SMTP sink from Python's smtplib
#              (driver.py smtp-blast: the client's limit more than smtp-sink's)
#   peer       node oidc-provider (bench/peer, pinned, `npm ci`), 2 cluster workers,
#              RS256 JWT access tokens by client_credentials
#   Postern    the real four processes started as the e2e tests do
#              (tests/e2e/lib.sh), wrk over plain HTTP (POSTERN_HTTP_PORT) unless
#              said: JWKS (also over HTTPS), GET /mfa/authenticators with an
#              mfa_token, client_credentials, password -> mfa_required, mfa-oob
#              verification -> tokens (single-use: a round of challenges prepared per
#              connection count, one per enrolled user, replayed once each), durable
#              /mfa/challenge cycling over the enrolled users' mfa_tokens, the same
#              challenge at fixed rates with each email's arrival at the sink timed
#              after its 200 (driver.py paced; BENCH_PACED_RATES), the mailer
#              alone with 1, 2 and 4 processes (bench_mailer_feed standing in for
#              mfa's jobs socket), RSS per service idle and at peak (VmRSS, VmHWM)
# at every connection count for the throughput paths, wrk -d S each (default 5 s).
#
# Writes docs/performance.md, docs/performance/*.png (gnuplot) and the raw figures
# in docs/performance/results.tsv. Takes about 7 minutes on the 2-core machine.
#
# --smoke (or BENCH_SMOKE=1): everything built and run once, small: each C program
# briefly, the stack, two enrolled users, one 5-second wrk scenario (JWKS at 4
# connections), one mfa-oob round (two verifications), two challenges paced at
# 20/s with their emails timed, the mailer fed 20 jobs,
# the report written to a temporary folder.
#
# --only "NAMES" (or BENCH_ONLY): only these paths (jwks jwks_https client_credentials
# password authenticators mfa_oob challenge mailer) and the ceilings they are set
# beside, for an A/B of one path; the report goes to BENCH_OUT_DIR, else to a
# temporary folder, never over docs/performance.md, and the results are printed.
# It fails only when something does not build, start or answer as it should, never
# on a figure (ctest -L bench runs it; see bench/CMakeLists.txt).
#
# --pg: authn and mfa on PostgreSQL, a throw-away cluster started here
# (tests/pg/pg-cluster.sh, its Unix socket, fsync on), with --instances N (1 or
# 2, default 1) instances of each and as many mailers; the report goes where
# --only's does, never over docs/performance.md.
#
# --populate N (or BENCH_POPULATE): before measuring, bench/populate.sh gives the
# SQLite databases N more users with N email authenticators and a day of
# sign-ins (tokens, challenges, mail jobs, audit rows, sent mails), as a full
# tenant's; their sizes before and after the load are in the report, which goes
# where --only's does. For the scale A/B: the same --only with and without it.
#
# Environment: POSTERN_BINARY_DIR (default ./build; built here unless
# BENCH_NO_BUILD=1), BENCH_OUT_DIR (default docs/, where performance.md goes),
# BENCH_USERS (default 2000), BENCH_PACED_RATES (default "500 1000": challenges/s
# of the paced points, 2 s each; 1,000 is half the 2,000/s target), BENCH_SINK
# (postfix, the default: postfix's smtp-sink through bench/smtp_sink.sh, fetched
# with apt-get download the first time; python: tests/support/smtp_sink.py),
# BENCH_SINK_FSYNC=1 (the Python sink, fsyncing every message as it does in the
# tests; by default the bench's sink does not). Installs wrk and gnuplot-nox with
# apt-get if missing.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$here/bench
export POSTERN_SOURCE_DIR=$here
export POSTERN_BINARY_DIR=${POSTERN_BINARY_DIR:-$here/build}

SMOKE=${BENCH_SMOKE:-}
DURATION=${BENCH_SECONDS:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-"1 4 16 64"}
USERS=${BENCH_USERS:-2000}
MAIL_JOBS=${BENCH_MAIL_JOBS:-2000}
MAILERS="1 2 4"
PACED_RATES=${BENCH_PACED_RATES:-"500 1000"}
PACED_SECONDS=2
ONLY=${BENCH_ONLY:-}
PG=${BENCH_PG:-}
INSTANCES=${BENCH_INSTANCES:-1}
POPULATE=${BENCH_POPULATE:-}
OUT_DIR=${BENCH_OUT_DIR:-$here/docs}
COMMAND="bench/run.sh $*"
while (($#)); do
  case $1 in
    --smoke) SMOKE=1 ;;
    --seconds) DURATION=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --users) USERS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --pg) PG=1 ;;
    --instances) INSTANCES=$2; shift ;;
    --populate) POPULATE=$2; shift ;;
    *) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
  shift
done
if [[ -n $SMOKE ]]; then
  DURATION=5 CONNECTIONS=4 USERS=2 MAIL_JOBS=20 MAILERS=1 PACED_RATES=20 PACED_SECONDS=1
fi
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 60)) ||
  { echo "bench: --seconds must be 1..60" >&2; exit 2; }
[[ $USERS =~ ^[0-9]+$ ]] && ((USERS >= 1 && USERS <= 5000)) ||
  { echo "bench: --users must be 1..5000" >&2; exit 2; }
for c in $CONNECTIONS; do
  [[ $c =~ ^[0-9]+$ ]] && ((c >= 1 && c <= 1000)) ||
    { echo "bench: connections must be 1..1000" >&2; exit 2; }
done
for r in $PACED_RATES; do
  [[ $r =~ ^[0-9]+$ ]] && ((r >= 1 && r <= 10000)) ||
    { echo "bench: BENCH_PACED_RATES are 1..10000 challenges/s" >&2; exit 2; }
done
[[ $INSTANCES == 1 || $INSTANCES == 2 ]] || { echo "bench: --instances is 1 or 2" >&2; exit 2; }
if [[ -n $POPULATE ]]; then
  [[ $POPULATE =~ ^[0-9]+$ ]] && ((POPULATE >= 1 && POPULATE <= 10000000)) ||
    { echo "bench: --populate must be 1..10000000" >&2; exit 2; }
  [[ -z $PG ]] || { echo "bench: --populate fills SQLite only, not with --pg" >&2; exit 2; }
  [[ -z ${BENCH_OUT_DIR:-} ]] && OUT_DIR=$(mktemp -d /tmp/postern-bench-populated-report.XXXXXX)
fi
PATH_NAMES="jwks jwks_https client_credentials password authenticators mfa_oob challenge mailer"
for name in $ONLY; do
  [[ " $PATH_NAMES " == *" $name "* ]] || { echo "bench: --only takes: $PATH_NAMES" >&2; exit 2; }
done
# wants NAME...: whether any of these paths runs (all of them without --only)
wants() {
  local name
  [[ -z $ONLY ]] && return 0
  for name in "$@"; do [[ " $ONLY " == *" $name "* ]] && return 0; done
  return 1
}

# --- Tools and build ---------------------------------------------------------------------
need_package() {
  local command=$1 package=$2
  command -v "$command" >/dev/null && return 0
  echo "bench: installing $package" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null; }
}
need_package wrk wrk || { echo "bench: wrk is missing" >&2; exit 1; }
need_package gnuplot gnuplot-nox || { echo "bench: gnuplot is missing" >&2; exit 1; }
if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  "$here/scripts/install-deps.sh" || exit 1
  cmake -S "$here" -B "$POSTERN_BINARY_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$POSTERN_BINARY_DIR" -j "$(nproc)" >/dev/null || { echo "bench: build failed" >&2; exit 1; }
fi
B=$POSTERN_BINARY_DIR/bench
for program in bare_http rsa_sign argon2_rate sqlite_commit mailer_feed; do
  [[ -x $B/bench_$program ]] || { echo "bench: $B/bench_$program is not built" >&2; exit 1; }
done

# The e2e harness: free loopback ports, the four binaries, the SMTP sink, helpers
export POSTERN_LOG_LEVEL=warn
# The SMTP sink stands in for a relay on another machine, so it should take little
# of this one: postfix's smtp-sink (bench/smtp_sink.sh), which stores each message
# without fsync, so that its writes do not queue behind (and ahead of) the stack's
# fsyncs on this machine's one disk. BENCH_SINK=python runs the tests' sink instead
# (tests/support/smtp_sink.py, aiosmtpd: about as much CPU a message as the mailer),
# also without fsync; BENCH_SINK_FSYNC=1 runs it with its two fsyncs a message.
SINK=${BENCH_SINK:-postfix} SINK_FSYNC=0 SINK_ARGS=(--no-fsync)
[[ ${BENCH_SINK_FSYNC:-} == 1 ]] && SINK=python SINK_FSYNC=1 SINK_ARGS=()
[[ $SINK == python || $SINK == postfix ]] || { echo "bench: BENCH_SINK is python or postfix" >&2; exit 2; }
export E2E_SINK_ARGS="${SINK_ARGS[*]}"
if [[ $SINK == postfix ]]; then
  bash "$bench/smtp_sink.sh" fetch || exit 1
  export E2E_SINK_COMMAND="bash $bench/smtp_sink.sh run"
fi
source "$here/tests/fault/fault_lib.sh"
declare -a BENCH_PIDS=()
bench_finish() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  fault_finish
}
trap 'bench_finish' EXIT
if [[ -n $PG ]]; then
  PG_STATE=$(mktemp /tmp/postern-bench-pg.XXXXXX)
  "$here/tests/pg/pg-cluster.sh" start "$PG_STATE" >/dev/null || { echo "bench: no PostgreSQL" >&2; exit 1; }
  trap '"$here/tests/pg/pg-cluster.sh" stop "$PG_STATE"; rm -f "$PG_STATE"; bench_finish' EXIT
  export POSTERN_TEST_PG=$PG_STATE E2E_REPLICAS_PG=$INSTANCES
  [[ -z ${BENCH_OUT_DIR:-} ]] && OUT_DIR=$(mktemp -d /tmp/postern-bench-pg-report.XXXXXX)
fi
# cpu_ticks PID: user + system CPU of the process so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# switches PID: context switches of all the process's threads so far (a thread
# that ended meanwhile takes its count with it: a floor, not an exact figure)
switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '$1 ~ /^(non)?voluntary_ctxt_switches:$/ { n += $2 } END { print n + 0 }'
}
# thread_ticks PID: "NAME TICKS" a line per thread name of the process (threads
# of one name summed: a service's workers are one line; each names itself,
# pst_actor_name), user + system clock ticks so far
# One grep and one awk for all the threads (not a few processes a thread: with
# the stack's sixty-odd threads that took seconds a point); a thread that ends
# meanwhile is left out
thread_ticks() {
  grep -aH '' /proc/"$1"/task/*/comm /proc/"$1"/task/*/stat 2>/dev/null | awk '
    { at = index($0, ":"); path = substr($0, 1, at - 1); data = substr($0, at + 1)
      task = path; sub(/\/[a-z]+$/, "", task) }
    path ~ /\/comm$/ { gsub(/[^A-Za-z0-9_-]/, "_", data); name[task] = data; next }
    { sub(/.*\) /, "", data); split(data, field, " "); ticks[task] = field[12] + field[13] }
    END { for (task in ticks) if (task in name) sum[name[task]] += ticks[task]
          for (n in sum) print n, sum[n] }'
}
# thread_words PROC BEFORE: " tcpu.PROC.NAME=S ..." CPU seconds of each thread
# name of PROC since BEFORE (thread_ticks' lines). A name not in BEFORE counts
# from its threads' start; a name whose threads ended meanwhile may count short
# or not at all
thread_words() {
  local hz; hz=$(getconf CLK_TCK)
  awk -v proc="$1" -v hz="$hz" '
    FNR == NR { before[$1] = $2; next }
    { d = $2 - before[$1]; if (d > 0) printf " tcpu.%s.%s=%.2f", proc, $1, d / hz }' \
    <(printf '%s\n' "$2") <([[ -n ${E2E_PIDS[$1]:-} ]] && thread_ticks "${E2E_PIDS[$1]}")
}
# machine_ticks: "busy total" clock ticks of the whole machine so far (/proc/stat)
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
# cpu_words MACHINE0 TICKS0_NAME SWITCHES0_NAME: " cpu_s.NAME=S ... cs.NAME=N ...
# busy=F" since the snapshots: each stack process's CPU seconds and context
# switches, and the share of the machine that was busy
cpu_words() {
  local -n before=$2 switched=$3
  local proc now hz busy0 total0 busy1 total1 out=""
  hz=$(getconf CLK_TCK)
  for proc in "${!before[@]}"; do
    [[ -n ${E2E_PIDS[$proc]:-} ]] || continue
    now=$(cpu_ticks "${E2E_PIDS[$proc]}")
    out+=$(awk -v n="$proc" -v d="$(( now - before[$proc] ))" -v hz="$hz" 'BEGIN { printf " cpu_s.%s=%.2f", n, d / hz }')
    out+=" cs.$proc=$(( $(switches "${E2E_PIDS[$proc]}") - switched[$proc] ))"
  done
  read -r busy0 total0 <<<"$1"
  read -r busy1 total1 < <(machine_ticks)
  out+=$(awk -v b="$(( busy1 - busy0 ))" -v t="$(( total1 - total0 ))" 'BEGIN { if (t > 0) printf " busy=%.2f", b / t }')
  printf '%s' "$out"
}
bench_bg() { "$@" & BENCH_PIDS+=("$!"); BG_PID=$!; }
# stop_bg PID: SIGTERM, 10 s to end, then SIGKILL
stop_bg() {
  kill "$1" 2>/dev/null
  wait_until 10 proc_done "$1" || { e2e_log "pid $1 ignored SIGTERM for 10 s: killed"; kill -KILL "$1" 2>/dev/null; }
  wait "$1" 2>/dev/null
}
RESULTS=$E2E_WORK/results.tsv
printf 'kind\tname\tconnections\tvalue\tunit\tp50_ms\tp90_ms\tp99_ms\tother\tdetail\n' >"$RESULTS"
WRK_OUT=$E2E_WORK/wrk.out
# row KIND NAME CONNECTIONS VALUE UNIT P50 P90 P99 OTHER DETAIL (OTHER: unexpected answers)
row() { local IFS=$'\t'; echo "$*" >>"$RESULTS"; }
# kv LINE KEY: the value of KEY=... in a line of key=value words
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n1; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date +%s)

# --- Ceilings ----------------------------------------------------------------------------
ceiling() {
  local name=$1 unit=$2; shift 2
  local line
  line=$("$@" 2>>"$E2E_WORK/ceilings.err" | tail -n1)
  if [[ -z $(kv "$line" per_s) ]]; then fail "ceiling $name did not run: $(tail -n3 "$E2E_WORK/ceilings.err")"; return 1; fi
  row ceiling "$name" - "$(kv "$line" per_s)" "$unit" "$(kv "$line" p50_ms)" - "$(kv "$line" p99_ms)" - "$line"
  pass "ceiling $name: $(kv "$line" per_s) $unit"
}
short=3 argon=5
[[ -n $SMOKE ]] && short=1 argon=1
wants client_credentials mfa_oob && ceiling rsa_sign signs/s "$B/bench_rsa_sign" --seconds "$short"
wants password && ceiling argon2id hashes/s "$B/bench_argon2_rate" --seconds "$argon"
mkdir -p "$E2E_WORK/data"
FS_TYPE=$(findmnt -no FSTYPE -T "$E2E_WORK/data" 2>/dev/null || stat -f -c %T "$E2E_WORK/data")
wants challenge mfa_oob && ceiling sqlite_commit commits/s "$B/bench_sqlite_commit" --dir "$E2E_WORK/data" --seconds "$short"

# --- The stack ---------------------------------------------------------------------------
# Started as the e2e tests do, then the gateway again with a plain-HTTP listener too
# (the issue's figures are over plain HTTP; setup and the HTTPS runs keep HTTPS)
e2e_start || { fail "stack did not start"; exit 1; }
read -r HTTP_PORT < <(e2e_free_ports 1)
fault_stop gateway TERM
export POSTERN_HTTP_PORT=$HTTP_PORT
fault_restart gateway
e2e_wait_port "$HTTP_PORT" || { fail "gateway's HTTP listener did not start"; exit 1; }
e2e_wait_port "$HTTPS_PORT" || { fail "gateway's HTTPS listener did not start"; exit 1; }
sleep 0.5
HTTP=http://127.0.0.1:$HTTP_PORT
HTTPS=https://127.0.0.1:$HTTPS_PORT
SERVICES="gateway authn mfa mailer"
rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/${E2E_PIDS[$1]}/status" 2>/dev/null; }
for s in $SERVICES; do row rss "$s" - "$(rss "$s" VmRSS)" KiB - - - - "idle after start"; done

fault_tenant || exit 1
API=https://bench.example/api
auth=(-H "authorization: Bearer $MGMT_TOKEN" -H 'content-type: application/json')
api POST /api/v2/resource-servers "${auth[@]}" \
  --data "{\"identifier\":\"$API\",\"name\":\"Bench\",\"scopes\":[{\"value\":\"read:bench\"}]}"
[[ $STATUS == 201 ]] || { fail "create API: $STATUS $BODY"; exit 1; }
api POST /api/v2/clients "${auth[@]}" \
  --data '{"name":"Bench M2M","app_type":"non_interactive","grant_types":["client_credentials"]}'
[[ $STATUS == 201 ]] || { fail "create M2M application: $STATUS $BODY"; exit 1; }
M2M_ID=$(json .client_id) M2M_SECRET=$(json .client_secret)
api POST /api/v2/client-grants "${auth[@]}" \
  --data "{\"client_id\":\"$M2M_ID\",\"audience\":\"$API\",\"scope\":[\"read:bench\"]}"
[[ $STATUS == 201 ]] || { fail "create client grant: $STATUS $BODY"; exit 1; }
urlencode() { jq -rn --arg v "$1" '$v | @uri'; }
CC_BODY="grant_type=client_credentials&client_id=$(urlencode "$M2M_ID")&client_secret=$(urlencode "$M2M_SECRET")&audience=$(urlencode "$API")"
api GET /.well-known/jwks.json
printf '%s' "$BODY" >"$E2E_WORK/jwks.json"

# "--name=value": a random secret may begin with "-", which argparse would take for an option
driver() { "$DEBIAN_PYTHON" "$bench/driver.py" "$@" --base "$HTTP" --client-id="$CLIENT_ID" \
  --client-secret="$CLIENT_SECRET" --sink "$SINK"; }
t0=$(now_ms)
driver enrol --mgmt-token "$MGMT_TOKEN" --password "$PASSWORD" --prefix bench --users "$USERS" \
  --maildir "$MAIL_DIR" --out "$E2E_WORK/users.txt" || { fail "enrolling $USERS users"; exit 1; }
ENROL_S=$(awk -v ms=$(( $(now_ms) - t0 )) 'BEGIN { printf "%.1f", ms / 1000 }')
pass "$USERS users enrolled in the email factor in $ENROL_S s"
row setup sink_fsync - "$SINK_FSYNC" - - - - - "1: the SMTP sink fsyncs each message (BENCH_SINK_FSYNC=1)"
row setup sink_postfix - "$([[ $SINK == postfix ]] && echo 1 || echo 0)" - - - - - "1: postfix's smtp-sink; 0: tests/support/smtp_sink.py (BENCH_SINK)"
row setup enrol "$USERS" "$ENROL_S" s - - - - "users enrolled (create, password grant, associate, mail, mfa-oob)"
FIRST_USER=$(head -n1 "$E2E_WORK/users.txt")
# db_sizes WHEN: a row per database of the stack, its file and its write-ahead log
db_sizes() {
  local db size
  for db in "$POSTERN_DATA_DIR"/authn.db "$POSTERN_DATA_DIR"/mfa.db "$POSTERN_DATA_DIR"/mailer-outbox*.db; do
    [[ -f $db ]] || continue
    size=$(( $(stat -c %s "$db") + $(stat -c %s "$db-wal" 2>/dev/null || echo 0) ))
    row setup "db_$1" "$(basename "$db")" "$size" bytes - - - - "$1"
  done
}
if [[ -n $POPULATE ]]; then
  need_package sqlite3 sqlite3
  t0=$(now_ms)
  "$bench/populate.sh" "$POSTERN_DATA_DIR" "$POPULATE" || { fail "populating $POPULATE users"; exit 1; }
  row setup populate "$POPULATE" "$(awk -v ms=$(( $(now_ms) - t0 )) 'BEGIN { printf "%.1f", ms / 1000 }')" s \
    - - - - "users, authenticators and a day of sign-ins added (bench/populate.sh)"
  db_sizes "populated"
fi
PASSWORD_BODY="grant_type=password&username=$(urlencode "$FIRST_USER")&password=$(urlencode "$PASSWORD")&client_id=$(urlencode "$CLIENT_ID")&client_secret=$(urlencode "$CLIENT_SECRET")"

# --- wrk -----------------------------------------------------------------------------------
# measure NAME CONNECTIONS URL [VAR=VALUE...]: one wrk run with bench/wrk.lua; the
# environment words configure the script. Appends a row; fails on transport errors.
measure() {
  local name=$1 c=$2 url=$3; shift 3
  local threads=$(( c < 2 ? 1 : 2 )) line script=$bench/wrk.lua
  [[ " $* " == *" BENCH_ONCE=1 "* ]] && script=$bench/wrk-once.lua
  : >"$WRK_OUT"
  # CPU of each process of the stack (and the machine's busy time) over the run:
  # per answer it says where a path's time goes, without a profiler
  local -A ticks0=() switches0=() threads0=()
  local proc machine0
  for proc in "${!E2E_PIDS[@]}"; do
    ticks0[$proc]=$(cpu_ticks "${E2E_PIDS[$proc]}")
    switches0[$proc]=$(switches "${E2E_PIDS[$proc]}")
    threads0[$proc]=$(thread_ticks "${E2E_PIDS[$proc]}")
  done
  machine0=$(machine_ticks)
  env BENCH_OUT="$WRK_OUT" BENCH_THREADS=$threads BENCH_LUA_DIR="$bench" "$@" \
    wrk -t "$threads" -c "$c" -d "${DURATION}s" --timeout 10s -s "$script" "$url" \
    >"$E2E_WORK/wrk.stdout" 2>&1
  line=$(tail -n1 "$WRK_OUT")
  line+=$(cpu_words "$machine0" ticks0 switches0)
  for proc in "${!threads0[@]}"; do line+=$(thread_words "$proc" "${threads0[$proc]}"); done
  if [[ -z $(kv "$line" requests) ]]; then
    fail "$name at $c connections: wrk gave no result: $(tail -n3 "$E2E_WORK/wrk.stdout")"
    return 1
  fi
  local ok good seconds other
  seconds=$(kv "$line" seconds)
  [[ -n $(kv "$line" span_s) ]] && seconds=$(kv "$line" span_s)
  # the expected answers: 2xx, or what a path answers when it works (the password
  # grant's 403 mfa_required); anything else is counted in the "other" column
  good=$(kv "$line" sent_ok)
  [[ -n ${WANT_STATUS:-} ]] && good=$(tr ',' '\n' <<<"$(kv "$line" status)" | awk -F: -v s="$WANT_STATUS" '$1 == s { print $2 }')
  [[ -n $good ]] || good=$(( $(kv "$line" requests) - $(kv "$line" non2xx) ))
  other=$(( $(kv "$line" requests) - good ))
  # single-use bodies: the probes sent once they ran out (404) are no answers
  [[ -n $(kv "$line" span_s) ]] && other=$(( other - $(tr ',' '\n' <<<"$(kv "$line" status)" | awk -F: '$1 == 404 { n += $2 } END { print n + 0 }') ))
  ok=$(awk -v n="${good:-0}" -v s="$seconds" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
  row http "$name" "$c" "$ok" req/s "$(kv "$line" p50_ms)" "$(kv "$line" p90_ms)" "$(kv "$line" p99_ms)" "$other" "$line"
  e2e_log "$name c=$c: $ok req/s ($line)"
  # A full run records what it sees (a 503 at 64 connections is a finding); the
  # smoke fails on it, since there it means the bench or the stack is broken
  if [[ -n $SMOKE ]] && (( good == 0 || $(kv "$line" errors) > 0 || other > 0 )); then
    fail "$name at $c connections: errors or unexpected answers ($line)"
  elif (( good == 0 )); then
    e2e_log "WARNING $name at $c connections: no expected answer at all (recorded)"
    pass "$name at $c connections (recorded, see the other column)"
  else
    pass "$name at $c connections"
  fi
}
series() { local name=$1 url=$2 c; shift 2; for c in $CONNECTIONS; do measure "$name" "$c" "$url" "$@"; done; }

if [[ -n $SMOKE ]]; then
  series jwks "$HTTP/.well-known/jwks.json"
  # each C program once more, briefly: the HTTP ceiling answers, the mailer feed runs
  rm -f "$E2E_WORK/bare.port"
  bench_bg "$B/bench_bare_http" --body "$E2E_WORK/jwks.json" --port-file "$E2E_WORK/bare.port" --seconds 60
  BARE_PID=$BG_PID
  wait_until 10 test -s "$E2E_WORK/bare.port" || fail "bare_http did not start"
  check "bare_http answers the JWKS bytes" \
    cmp -s "$E2E_WORK/jwks.json" <(curl -s --max-time 5 "http://127.0.0.1:$(cat "$E2E_WORK/bare.port")/")
  stop_bg "$BARE_PID"
fi

# --- Ceilings that need the stack's bytes, and the peer ------------------------------------
bare() {
  local name=$1; shift
  rm -f "$E2E_WORK/bare.port"
  bench_bg "$B/bench_bare_http" --body "$E2E_WORK/jwks.json" --port-file "$E2E_WORK/bare.port" \
    --seconds 600 "$@"
  local pid=$BG_PID
  wait_until 10 test -s "$E2E_WORK/bare.port" || { fail "bare_http did not start"; return 1; }
  local scheme=http
  [[ $# -gt 0 ]] && scheme=https
  series "$name" "$scheme://127.0.0.1:$(cat "$E2E_WORK/bare.port")/.well-known/jwks.json"
  stop_bg "$pid"
}

if [[ -z $SMOKE ]]; then
  wants jwks authenticators && bare bare_http
  wants jwks_https && bare bare_https --tls "$POSTERN_DATA_DIR/tls/server.pem" "$POSTERN_DATA_DIR/tls/server.key"

  # The peer: npm ci from the pinned lock, 2 cluster workers on a free loopback port
  run_peer() {
    peer=$bench/peer
    if [[ ! -f $peer/node_modules/.package-lock.json || $peer/package-lock.json -nt $peer/node_modules/.package-lock.json ]]; then
      (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || { fail "npm ci in bench/peer"; exit 1; }
    fi
    read -r PEER_PORT < <(e2e_free_ports 1)
    rm -f "$E2E_WORK/peer.port"
    PEER_PORT=$PEER_PORT PEER_WORKERS=2 PEER_PORT_FILE=$E2E_WORK/peer.port \
      bench_bg node "$peer/server.mjs" 2>>"$E2E_WORK/peer.log"
    PEER_PID=$BG_PID
    if wait_until 30 test -s "$E2E_WORK/peer.port"; then
      PEER_BODY="grant_type=client_credentials&client_id=bench&client_secret=bench-secret&resource=$(urlencode "$API")&scope=read%3Abench"
      check "peer issues an RS256 JWT access token" \
        bash -c 'curl -s --max-time 10 "$1" --data "$2" | jq -e ".access_token | split(\".\") | length == 3" >/dev/null' \
        _ "http://127.0.0.1:$PEER_PORT/token" "$PEER_BODY"
      series peer_cc "http://127.0.0.1:$PEER_PORT/token" BENCH_METHOD=POST BENCH_BODY="$PEER_BODY"
      # an oidc-provider worker's RSS, for scale
      for pid in $(ps -o pid= --ppid "$PEER_PID"); do
        row rss "peer worker" - "$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")" KiB - - - - "peak (VmHWM)"
      done
    else
      fail "the peer did not start: $(tail -n3 "$E2E_WORK/peer.log")"
    fi
    stop_bg "$PEER_PID"
  }
  wants client_credentials mfa_oob && run_peer

  # --- Postern's paths -----------------------------------------------------------------------
  wants jwks && series jwks "$HTTP/.well-known/jwks.json"
  wants jwks_https && series jwks_https "$HTTPS/.well-known/jwks.json"
  wants client_credentials && series client_credentials "$HTTP/oauth/token" BENCH_METHOD=POST BENCH_BODY="$CC_BODY"
  # ~20 req/s per core: every answer is the expected 403 mfa_required
  wants password && WANT_STATUS=403 series password "$HTTP/oauth/token" BENCH_METHOD=POST BENCH_BODY="$PASSWORD_BODY" BENCH_STATUS=1
  unset WANT_STATUS
fi

# mfa_tokens for every enrolled user (a password grant each)
driver login --password "$PASSWORD" --users "$E2E_WORK/users.txt" --out "$E2E_WORK/tokens.tsv" ||
  { fail "password grants for the mfa_tokens"; exit 1; }
sed 's/^[^\t]*\t/Bearer /' "$E2E_WORK/tokens.tsv" >"$E2E_WORK/auths.txt"
[[ -z $SMOKE ]] && wants authenticators && series authenticators "$HTTP/mfa/authenticators" BENCH_AUTHS="$E2E_WORK/auths.txt"

# mfa-oob -> tokens: per connection count, one challenge per user, its code from the
# sink, then each verification replayed once (the figure is bounded by the users)
for c in $CONNECTIONS; do
  wants mfa_oob || break
  driver login --password "$PASSWORD" --users "$E2E_WORK/users.txt" --out "$E2E_WORK/oob-tokens.tsv" &&
    driver prepare-oob --tokens "$E2E_WORK/oob-tokens.tsv" --maildir "$MAIL_DIR" \
      --out "$E2E_WORK/oob-bodies.txt" || { fail "preparing mfa-oob verifications"; exit 1; }
  measure mfa_oob "$c" "$HTTP/oauth/token" BENCH_METHOD=POST \
    BENCH_BODIES="$E2E_WORK/oob-bodies.txt" BENCH_ONCE=1
done

# durable /mfa/challenge, cycling over every user's mfa_token; a 429 (send limit) or a
# 503 (mailer backlog full) is counted, not failed
"$DEBIAN_PYTHON" - "$E2E_WORK/tokens.tsv" "$CLIENT_ID" "$CLIENT_SECRET" >"$E2E_WORK/challenges.txt" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    address, token = line.rstrip("\n").split("\t")
    print(json.dumps({"mfa_token": token, "challenge_type": "oob", "client_id": sys.argv[2],
                      "client_secret": sys.argv[3]}, separators=(",", ":")))
PY
# The same challenge at fixed rates, before wrk's runs spend the users' send buckets:
# latency from each request's due time (an open loop), and each email's arrival at
# the sink after its 200 (the targets' "at half that rate")
for r in $PACED_RATES; do
  wants challenge || break
  line=$(driver paced --tokens "$E2E_WORK/tokens.tsv" --maildir "$MAIL_DIR" --rate "$r" \
    --seconds "$PACED_SECONDS" --sender "$B/bench_paced") || { fail "challenges paced at $r/s"; continue; }
  e2e_log "$line"
  row paced challenge "$r" "$(kv "$line" per_s)" req/s "$(kv "$line" p50_ms)" "$(kv "$line" p90_ms)" \
    "$(kv "$line" p99_ms)" "$(kv "$line" other)" "$line"
  paced_ok=$(kv "$line" ok) paced_missing=$(kv "$line" missing) paced_other=$(kv "$line" other)
  if ! [[ $paced_ok =~ ^[0-9]+$ && $paced_missing =~ ^[0-9]+$ && $paced_other =~ ^[0-9]+$ ]] ||
     (( paced_ok == 0 || paced_missing > 0 )) || { [[ -n $SMOKE ]] && (( paced_other > 0 )); }; then
    fail "challenges paced at $r/s: a request failed or an email did not arrive ($line)"
  else
    pass "challenges paced at $r/s: p99 $(kv "$line" p99_ms) ms, email p99 $(kv "$line" mail_p99_ms) ms after the 200"
  fi
done
[[ -z $SMOKE ]] && wants challenge && series challenge "$HTTP/mfa/challenge" BENCH_METHOD=POST BENCH_TYPE=application/json \
  BENCH_BODIES="$E2E_WORK/challenges.txt" BENCH_STATUS=1

for s in $SERVICES; do
  row rss "$s" - "$(rss "$s" VmHWM)" KiB - - - - "peak (VmHWM)"
done
sleep 2
for s in $SERVICES; do row rss "$s" - "$(rss "$s" VmRSS)" KiB - - - - "idle after the load"; done
[[ -n $POPULATE ]] && db_sizes "after the load"
OUTBOX_BACKLOG=$(outbox_sql "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')" 2>/dev/null)
row setup outbox_backlog - "${OUTBOX_BACKLOG:-?}" jobs - - - - "unsent jobs in the stack's outbox 2 s after the challenges"

# --- The mailer alone --------------------------------------------------------------------------
read -r FEED_PORT SINK_PORT < <(e2e_free_ports 2)
SINK_DIR=$E2E_WORK/sink2
mkdir -p "$SINK_DIR"
if [[ $SINK == postfix ]]; then
  bench_bg bash "$bench/smtp_sink.sh" run "$SINK_PORT" "$SINK_DIR"
  SINK_PID=$BG_PID
  e2e_wait_port "$SINK_PORT" 100 || { fail "second SMTP sink did not start"; exit 1; }
else
  bench_bg "$DEBIAN_PYTHON" "$here/tests/support/smtp_sink.py" --host 127.0.0.1 --port "$SINK_PORT" \
    --maildir "$SINK_DIR" --port-file "$E2E_WORK/sink2.port" "${SINK_ARGS[@]}"
  SINK_PID=$BG_PID
  wait_until 10 test -s "$E2E_WORK/sink2.port" || { fail "second SMTP sink did not start"; exit 1; }
fi
wants mailer || MAILERS=""
for m in $MAILERS; do
  : >"$E2E_WORK/feed.out"
  bench_bg "$B/bench_mailer_feed" --endpoint "tcp://127.0.0.1:$FEED_PORT" --jobs "$MAIL_JOBS" \
    --mailers "$m" --timeout 120 --hold 60 >"$E2E_WORK/feed.out" 2>"$E2E_WORK/feed.err"
  FEED_PID=$BG_PID
  mailer_pids=()
  for i in $(seq 1 "$m"); do
    POSTERN_MFA_JOBS_ENDPOINT=tcp://127.0.0.1:$FEED_PORT POSTERN_SMTP_PORT=$SINK_PORT \
      POSTERN_MAILER_OUTBOX=$E2E_WORK/feed-outbox-$m-$i.db \
      bench_bg "$POSTERN_BINARY_DIR/mailer/postern-mailer" 2>>"$E2E_WORK/feed-mailer.log"
    mailer_pids+=("$BG_PID")
  done
  # the feeder prints its line when done and stays bound while the mailers stop;
  # the sink's and the mailers' CPU over the run tell which one bounds it
  sink_ticks=$(cpu_ticks "$SINK_PID")
  mailer_ticks=0
  wait_until 150 bash -c '[[ -s $1 ]] || ! kill -0 "$2" 2>/dev/null' _ "$E2E_WORK/feed.out" "$FEED_PID"
  sink_ticks=$(( $(cpu_ticks "$SINK_PID") - sink_ticks ))
  for pid in "${mailer_pids[@]}"; do mailer_ticks=$(( mailer_ticks + $(cpu_ticks "$pid") )); done
  for pid in "${mailer_pids[@]}"; do stop_bg "$pid"; done
  stop_bg "$FEED_PID"
  rc=0
  [[ $(kv "$(tail -n1 "$E2E_WORK/feed.out")" sent) == "$MAIL_JOBS" ]] || rc=1
  line=$(tail -n1 "$E2E_WORK/feed.out")
  if ((rc == 0)) && [[ -n $(kv "$line" per_s) ]]; then
    # CPU per wall second of the feed (1.00 = one core busy all the time)
    line+=$(awk -v s="$sink_ticks" -v m="$mailer_ticks" -v hz="$(getconf CLK_TCK)" -v t="$(kv "$line" seconds)" \
      'BEGIN { if (t > 0) printf " sink_cores=%.2f mailers_cores=%.2f", s / hz / t, m / hz / t }')
    row mailer "mailers_$m" "$m" "$(kv "$line" per_s)" jobs/s "$(kv "$line" sent_p50_ms)" - "$(kv "$line" sent_p99_ms)" "$(kv "$line" other)" "$line"
    pass "mailer alone, $m process(es): $(kv "$line" per_s) jobs/s"
  else
    fail "mailer alone, $m process(es): $line $(tail -n3 "$E2E_WORK/feed.err")"
  fi
done
# the sink's own ceiling: Python's smtplib on 16 connections (4 mailers' deliveries
# in flight), as many messages
line=
wants mailer && line=$("$DEBIAN_PYTHON" "$bench/driver.py" smtp-blast --port "$SINK_PORT" --messages "$MAIL_JOBS" --threads 16)
if ! wants mailer; then
  :
elif [[ -n $(kv "$line" per_s) ]]; then
  row ceiling smtp_sink - "$(kv "$line" per_s)" messages/s - - - - "$line"
  pass "SMTP sink alone: $(kv "$line" per_s) messages/s"
else
  fail "smtp-blast gave no figure"
fi
stop_bg "$SINK_PID"

# --- Report ------------------------------------------------------------------------------------
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
REPORT_DIR=$OUT_DIR
[[ -n $SMOKE || ( -n $ONLY && -z ${BENCH_OUT_DIR:-} ) ]] && REPORT_DIR=$E2E_WORK/report
mkdir -p "$REPORT_DIR/performance"
cp "$RESULTS" "$REPORT_DIR/performance/results.tsv"
"$DEBIAN_PYTHON" "$bench/report.py" --results "$RESULTS" --out "$REPORT_DIR/performance.md" \
  --charts "$REPORT_DIR/performance" --command "$COMMAND${SMOKE:+ (smoke)}" \
  --commit "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$here" diff --quiet HEAD -- . ':!docs/performance.md' ':!docs/performance' 2>/dev/null || echo ' (with uncommitted changes)')" \
  --cpu "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)" --nproc "$(nproc)" \
  --load-before "$LOAD_BEFORE" --load-after "$LOAD_AFTER" --seconds "$DURATION" \
  --users "$USERS" --fs "$FS_TYPE" --elapsed "$(( $(date +%s) - STARTED ))" \
  --mem "$(free -g | awk '/^Mem:/ { print $2 }') GiB" ||
  { fail "report.py failed"; exit 1; }
check "report written ($REPORT_DIR/performance.md)" test -s "$REPORT_DIR/performance.md"
check "charts drawn" compgen -G "$REPORT_DIR/performance/*.png"
# an A/B of a few paths reads its figures here
[[ -n $ONLY ]] && cut -f1-9 "$RESULTS" | column -t -s $'\t'
