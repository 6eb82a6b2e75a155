#!/usr/bin/env bash
# F13 (requirements.md): sustained load for 10 minutes: error rate < 0.1 % and no
# RSS growth trend in any of the four processes.
#
# The real four binaries, a real SMTP sink and real TLS (tests/e2e/lib.sh through
# tests/fault/fault_lib.sh). soak.py (Debian's python3, standard library only)
# offers a steady mix at fixed rates for POSTERN_SOAK_S seconds (default 600, the
# 10 minutes of F13):
#   jwks                 GET /.well-known/jwks.json          80/s   200 with keys
#   client_credentials   an M2M application's token          60/s   200 with a token
#   password             an abandoned sign-in                 6/s   403 mfa_required
#   flow                 a complete email-MFA sign-in         1/s:  password grant 403
#                        mfa_required, /mfa/challenge 200, the code read from the
#                        sink's mail, mfa-oob grant 200 with an access token
# About 149 HTTP requests/s, 7 argon2id checks/s, 89,000 requests in 10 minutes. That
# is far below saturation on the 2-core machine (bench/README.md: ~1700 jwks/s, ~1270
# client_credentials/s, ~130 password grants/s); measured, the four processes and
# the load generator together use about a fifth of the machine (authn ~25 % of one
# core, gateway ~7 %, the generator ~10 %, mfa and mailer ~1 %), so other work on the
# machine does not turn the soak into an overload. Change the rates with
# POSTERN_SOAK_RATE_{JWKS,CC,PASSWORD,FLOW}.
#
# Every answer is checked (status, and the field that matters); anything else (5xx,
# an unexpected 4xx, a transport error or timeout, an email that never comes within
# 30 s) is an error. The test fails at an error rate of 0.1 % or more, and when fewer
# than 90 % of the planned requests or complete sign-ins were made (an idle or
# stalled run cannot pass). Each generator thread keeps to its own schedule and has
# one request in flight, so a stall costs at most one error per thread; the slots
# it could not keep are counted and printed. A diagnostic fsync probe beside the
# databases tells errors caused by a stalled disk (authn and mfa commit with
# synchronous=FULL) from the services' own.
#
# Per-user send limits keep their defaults (pinned below: burst 20, one more every
# 60 s). The complete sign-ins rotate over a pool of enrolled users big enough that
# each user needs at most half of what its send bucket allows over the run
# (enrolment included), so a 429 is an error here, not an expected answer.
#
# RSS (VmRSS of /proc/<pid>/status) is read every 0.25 s and CPU time every few
# seconds; each sampling period keeps its lowest RSS reading, because authn maps a
# fresh 19 MiB for every argon2id check (libsodium mmaps it) and single readings
# catch those buffers at random, while a leak raises the floor. The first 20 % of
# the run is warm-up (allocator arenas, SQLite page caches, TLS state fill up); over
# the rest a least-squares line is fitted per process, and the test fails when its
# projected growth over that window exceeds max(4 MiB, 5 % of the process's mean
# RSS). Measured once warm, every process moved by less than 0.2 MiB over the 8
# minutes. Over that window 4 MiB is ~60 bytes per request in the gateway or in
# authn (~148 requests/s each), ~0.9 KiB per call in mfa (~9.5 calls/s) and ~8.5
# KiB per email in the mailer (1/s): a leak of a few KiB per request fails in every
# process but the mailer, where it takes ~9 KiB per email. (Checked with an
# LD_PRELOAD shim leaking 1 KiB per gateway response, and ~5.6 KiB per mfa call:
# both failed within a 2-minute run, at 9.2 and 3.5 MiB/min.)
#
# Under ASan (POSTERN_SANITIZE builds) RSS is ASan's quarantine and shadow memory,
# not the program's: the script detects ASan in the running binaries and then skips
# the RSS assertion, saying so; tests/soak/CMakeLists.txt registers the test only in
# builds without sanitizers anyway.
source "$(dirname "${BASH_SOURCE[0]}")/../fault/fault_lib.sh"
trap 'fault_finish' EXIT

SOAK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DURATION=${POSTERN_SOAK_S:-600}
RATE_JWKS=${POSTERN_SOAK_RATE_JWKS:-80}
RATE_CC=${POSTERN_SOAK_RATE_CC:-60}
RATE_PASSWORD=${POSTERN_SOAK_RATE_PASSWORD:-6}
RATE_FLOW=${POSTERN_SOAK_RATE_FLOW:-1}
FLOW_THREADS=2
REQUEST_THREADS=4              # per kind of single request (jwks, client_credentials)
WARMUP_FRACTION=0.2
RSS_FLOOR_KIB=4096
RSS_FRACTION=0.05
MAX_ERROR_PER_MILLE=1          # error rate < 0.1 %
MIN_SHARE_PERCENT=90           # of the planned requests and sign-ins, at least
BURST=20
REFILL_S=60
export POSTERN_MFA_SEND_BURST=$BURST POSTERN_MFA_SEND_REFILL_S=$REFILL_S
API=https://soak.example/api
REQUESTS=$E2E_WORK/requests.tsv
SAMPLES=$E2E_WORK/samples.tsv
VERDICT=$E2E_WORK/verdict.json
# one RSS figure per SAMPLE_S (5 s over a 10-minute run, down to 2 s in a short
# one): the lowest of the readings taken every SAMPLE_TICK_S within it
SAMPLE_S=$(awk -v d="$DURATION" 'BEGIN { s = d / 120; if (s < 2) s = 2; if (s > 5) s = 5; print s }')
SAMPLE_TICK_S=0.25

if ! [[ $DURATION =~ ^[0-9]+$ ]] || ((DURATION < 30)); then
  fail "POSTERN_SOAK_S must be a whole number of seconds, at least 30 (got '$DURATION')"
  exit 1
fi

e2e_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
e2e_log "stack up: gateway ${E2E_PIDS[gateway]}, authn ${E2E_PIDS[authn]}, mfa ${E2E_PIDS[mfa]}," \
  "mailer ${E2E_PIDS[mailer]}; load for $DURATION s"

# An API, the sign-in application allowed to ask for it, and an M2M application with
# a client grant for it (as bench/grants.sh sets up)
auth=(-H "authorization: Bearer $MGMT_TOKEN" -H 'content-type: application/json')
api POST /api/v2/resource-servers "${auth[@]}" \
  --data "{\"identifier\":\"$API\",\"name\":\"Soak\",\"scopes\":[{\"value\":\"read:soak\"}]}"
[[ $STATUS == 201 ]] || { fail "create API: $STATUS $BODY"; exit 1; }
api POST /api/v2/clients "${auth[@]}" \
  --data '{"name":"Soak M2M","app_type":"non_interactive","grant_types":["client_credentials"]}'
[[ $STATUS == 201 ]] || { fail "create M2M application: $STATUS $BODY"; exit 1; }
M2M_ID=$(json .client_id)
M2M_SECRET=$(json .client_secret)
api POST /api/v2/client-grants "${auth[@]}" \
  --data "{\"client_id\":\"$M2M_ID\",\"audience\":\"$API\",\"scope\":[\"read:soak\"]}"
[[ $STATUS == 201 ]] || { fail "create client grant: $STATUS $BODY"; exit 1; }

# The user pool: each user may do at most half of what its send bucket allows over
# the run (BURST, less the enrolment's email, plus one per REFILL_S)
POOL=$(awk -v r="$RATE_FLOW" -v d="$DURATION" -v b="$BURST" -v f="$REFILL_S" -v t="$FLOW_THREADS" '
  BEGIN { per_user = (b - 1 + int(d / f)) / 2; n = r * d / per_user
          n = (n == int(n)) ? n : int(n) + 1; if (n < 2 * t) n = 2 * t; print n }')
e2e_log "enrolling $POOL users (complete sign-ins at $RATE_FLOW/s over $DURATION s)"
: >"$E2E_WORK/users.txt"
for i in $(seq 1 "$POOL"); do
  fault_enrol "soak-user-$i@example.com" || exit 1
  echo "soak-user-$i@example.com" >>"$E2E_WORK/users.txt"
done
pass "$POOL users enrolled with the email factor"

# ASan in the running binaries? (its runtime's entry point is in every instrumented
# executable, whether the runtime is linked statically or not)
SANITIZED=
for name in gateway authn mfa mailer; do
  if grep -qa __asan_init "/proc/${E2E_PIDS[$name]}/exe"; then SANITIZED+=" $name"; fi
done

# --- Sampling ----------------------------------------------------------------------------

# sample_processes: reads every process's VmRSS every SAMPLE_TICK_S and, every
# SAMPLE_S, writes "EPOCH NAME PID RSS_MIN_KIB RSS_MAX_KIB CPU_TICKS" per process
# (the lowest and highest reading of the period, utime + stime) and
# "EPOCH cpu - - BUSY_TICKS TOTAL_TICKS" for the machine; no forks but sleep
sample_processes() {
  local name pid key value rest rss reads=0 t u n s i w irq sirq steal
  local -A lo=() hi=()
  local -a stat
  local per_period
  per_period=$(awk -v p="$SAMPLE_S" -v t="$SAMPLE_TICK_S" 'BEGIN { print int(p / t + 0.5) }')
  while :; do
    for name in gateway authn mfa mailer; do
      rss=
      { while read -r key value rest; do
          [[ $key == VmRSS: ]] && { rss=$value; break; }
        done <"/proc/${E2E_PIDS[$name]}/status"; } 2>/dev/null
      [[ -n $rss ]] || continue
      (( ${lo[$name]:-rss + 1} > rss )) && lo[$name]=$rss
      (( ${hi[$name]:-0} < rss )) && hi[$name]=$rss
    done
    if (( ++reads >= per_period )); then
      t=$EPOCHREALTIME
      for name in gateway authn mfa mailer; do
        pid=${E2E_PIDS[$name]}
        stat=()
        { read -r -a stat <"/proc/$pid/stat"; } 2>/dev/null
        echo "$t $name $pid ${lo[$name]:--} ${hi[$name]:--} $(( ${stat[13]:-0} + ${stat[14]:-0} ))"
      done
      read -r _ u n s i w irq sirq steal _ </proc/stat
      echo "$t cpu - - $((u + n + s + irq + sirq + steal)) $((u + n + s + i + w + irq + sirq + steal))"
      lo=() hi=() reads=0
    fi
    sleep "$SAMPLE_TICK_S"
  done >>"$SAMPLES"
}
fault_bg sample_processes
SAMPLER=$BG_PID

# --- Load ----------------------------------------------------------------------------------
START_MS=$(now_ms)
# --opt=VALUE throughout: a generated secret may begin with "-"
"$DEBIAN_PYTHON" "$SOAK_DIR/soak.py" load --host="$DOMAIN" --ca="$CA" --duration="$DURATION" \
  --out="$REQUESTS" --maildir="$MAIL_DIR" --client-id="$CLIENT_ID" --client-secret="$CLIENT_SECRET" \
  --m2m-id="$M2M_ID" --m2m-secret="$M2M_SECRET" --audience="$API" --password="$PASSWORD" \
  --users="$E2E_WORK/users.txt" --rate-jwks="$RATE_JWKS" --rate-cc="$RATE_CC" \
  --rate-password="$RATE_PASSWORD" --rate-flow="$RATE_FLOW" --threads-flow="$FLOW_THREADS" \
  --threads-jwks="$REQUEST_THREADS" --threads-cc="$REQUEST_THREADS" --probe-dir="$POSTERN_DATA_DIR"
LOAD_RC=$?
END_MS=$(now_ms)
sleep "$SAMPLE_S"       # one more sample after the last request
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
expect "load generator exit status" 0 "$LOAD_RC"
e2e_log "load ran $(( (END_MS - START_MS) / 1000 )) s"

for name in gateway authn mfa mailer; do
  check "$name still runs (pid ${E2E_PIDS[$name]})" kill -0 "${E2E_PIDS[$name]}"
done

# --- Report and verdict -------------------------------------------------------------------------
"$DEBIAN_PYTHON" "$SOAK_DIR/soak.py" report --requests="$REQUESTS" --samples="$SAMPLES" \
  --verdict="$VERDICT" --warmup-fraction="$WARMUP_FRACTION" --rss-floor-kib="$RSS_FLOOR_KIB" \
  --rss-fraction="$RSS_FRACTION" --series ${SANITIZED:+--not-judged="ASan"} ||
  { fail "soak.py report failed"; exit 1; }
v() { jq -r "$1" "$VERDICT"; }

OPS=$(v .operations)
ERRORS=$(v .errors)
HTTP=$(v .http_requests)
PLANNED=$(v '.planned_http_requests | floor')
FLOWS=$(v .flows_completed)
PLANNED_FLOWS=$(v '.planned_flows | floor')
check "error rate below 0.1 % ($ERRORS errors in $OPS operations)" \
  test "$((ERRORS * 1000))" -lt "$((OPS * MAX_ERROR_PER_MILLE))"
check "at least $MIN_SHARE_PERCENT % of the planned requests were made ($HTTP of ~$PLANNED)" \
  test "$((HTTP * 100))" -ge "$((PLANNED * MIN_SHARE_PERCENT))"
check "at least $MIN_SHARE_PERCENT % of the planned complete MFA sign-ins ($FLOWS of ~$PLANNED_FLOWS)" \
  test "$((FLOWS * 100))" -ge "$((PLANNED_FLOWS * MIN_SHARE_PERCENT))"
for kind in jwks client_credentials password flow_password flow_challenge flow_mail flow_mfa_oob; do
  check "$kind ran ($(v ".kinds.$kind.n") times)" test "$(v ".kinds.$kind.n")" -gt 0
done

if [[ -n $SANITIZED ]]; then
  e2e_log "RSS CHECK NOT RUN: ASan is in the running binaries ($SANITIZED ). Their RSS is" \
    "ASan's quarantine and shadow memory, which grow by design, so a trend says nothing" \
    "about leaks; the figures above are informational only."
else
  for name in gateway authn mfa mailer; do
    check "$name: no RSS growth trend (slope $(v ".rss.$name.slope_kib_per_min | round") KiB/min, projected $(v ".rss.$name.projected_growth_kib | round") KiB over the window, limit $(v ".rss.$name.limit_kib | round") KiB)" \
      test "$(v ".rss.$name.growth_ok")" = true
  done
fi
