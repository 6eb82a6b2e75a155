# Shared by the fault scripts (requirements.md, "Fault scenarios"). Sources the
# end-to-end harness (tests/e2e/lib.sh: the four real binaries, the real SMTP sink,
# real TLS, curl) and adds what fault injection needs: restarting the sink in
# another mode, killing and restarting services, per-recipient mail, read-only
# looks at the services' SQLite files and JSON logs, polling with deadlines and
# parallel HTTP load.
#
# The services keep no logs API yet (contract §6 "logs" is not built), so audit
# rows are read from mfa.db and delivery state from mailer-outbox.db with the
# sqlite3 CLI opened read-only; mailer and mfa log events are read from their
# JSON-lines stderr, which lib.sh keeps in $E2E_WORK/<service>.log.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

FAULT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PASSWORD='correct horse battery staple'
declare -a FAULT_BG_PIDS=()

# fault_finish: the EXIT trap. Stops this script's own background jobs, then lets
# lib.sh stop the services, print logs on failure and set the exit status.
fault_finish() {
  local pid child
  for pid in "${FAULT_BG_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    # a background function is a subshell: its children (curl) go first
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill "$child" 2>/dev/null; done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  e2e_finish
}

# fault_bg CMD...: runs CMD in the background, remembered for fault_finish; sets BG_PID
fault_bg() {
  "$@" &
  BG_PID=$!
  FAULT_BG_PIDS+=("$BG_PID")
}

now_ms() { date +%s%3N; }

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds; 1 at the deadline
wait_until() {
  local deadline=$(( $(now_ms) + $(awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }') ))
  shift
  until "$@"; do
    (( $(now_ms) < deadline )) || return 1
    sleep 0.1
  done
}

# --- Processes -----------------------------------------------------------------------

# fault_stop NAME [SIGNAL]: stops a service started by lib.sh (SIGKILL by default)
# and reaps it. Anything but KILL gets 5 s before a KILL follows.
fault_stop() {
  local name=$1 signal=${2:-KILL}
  local pid=${E2E_PIDS[$name]:-}
  [[ -n $pid ]] || return 0
  kill -"$signal" "$pid" 2>/dev/null
  if [[ $signal != KILL && $signal != 9 ]]; then
    local tries=50
    while kill -0 "$pid" 2>/dev/null && ((tries-- > 0)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  unset "E2E_PIDS[$name]"
}

# fault_restart NAME: starts the service again with its first command line and the
# current environment (export a setting before calling to change it)
fault_restart() { e2e_restart "$1"; }

# fault_sink MODE [sink args...]: (re)starts the SMTP sink on the suite's SMTP port
# and mail directory in MODE (ok, reject-550, tempfail-451, hang), always with
# --verbose so $E2E_WORK/smtp.log records every SMTP command it receives. Waits for
# its port file, not for a probe connection, so the sink sees only the mailer.
fault_sink() {
  local mode=$1; shift
  fault_stop smtp TERM
  rm -f "$E2E_WORK/smtp.port"
  e2e_run smtp "$DEBIAN_PYTHON" "$POSTERN_SOURCE_DIR/tests/support/smtp_sink.py" \
    --host 127.0.0.1 --port "$SMTP_PORT" --maildir "$MAIL_DIR" \
    --port-file "$E2E_WORK/smtp.port" --mode "$mode" --verbose "$@"
  wait_until 10 test -s "$E2E_WORK/smtp.port" || { e2e_log "smtp sink ($mode) did not start"; return 1; }
  SINK_STARTED_MS=$(now_ms)
}

# fault_sink_down: no SMTP server at all (connections are refused)
fault_sink_down() { fault_stop smtp TERM; }

# fault_start: lib.sh's e2e_start, then the sink again in ok mode with --verbose
fault_start() {
  e2e_start || return 1
  fault_sink ok
}

# --- Logs --------------------------------------------------------------------------------

# log_events SERVICE EVENT [JQ_FILTER]: the service's JSON log lines of that event,
# one per line (compact JSON), optionally narrowed by a jq boolean expression
log_events() {
  local service=$1 event=$2 filter=${3:-true}
  jq -cR --arg e "$event" "fromjson? | select(.event == \$e) | select($filter)" \
    "$E2E_WORK/$service.log" 2>/dev/null
}

# log_count SERVICE EVENT [JQ_FILTER]
log_count() { log_events "$@" | wc -l; }

# ts_ms ISO8601: "2024-01-02T03:04:05.678Z" as Unix milliseconds
ts_ms() {
  jq -rn --arg t "$1" '($t | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
                      + ($t | capture("\\.(?<ms>[0-9]{3})Z$").ms | tonumber)'
}

# smtp_count PATTERN: lines of the sink's --verbose log that contain PATTERN
# (e.g. ">> b'DATA'" for DATA commands, "recip: user@example.com" per RCPT)
smtp_count() { grep -cF -- "$1" "$E2E_WORK/smtp.log" 2>/dev/null || true; }

# --- Databases (read-only) ----------------------------------------------------------------

outbox_sql() { db_query "$POSTERN_DATA_DIR/mailer-outbox.db" "$@"; }

# sql_quote TEXT: TEXT as an SQL string literal
sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# latest_job USER_ID: job_id of the user's newest mail job in mfa.db
latest_job() {
  mfa_sql "SELECT job_id FROM mail_jobs WHERE user_id = $(sql_quote "$1")
           ORDER BY created_at DESC, rowid DESC LIMIT 1"
}

# outbox_state JOB_ID: the job's state in the mailer's outbox ("" when absent)
outbox_state() { outbox_sql "SELECT state FROM outbox WHERE job_id = $(sql_quote "$1")"; }
outbox_field() { outbox_sql "SELECT $2 FROM outbox WHERE job_id = $(sql_quote "$1")"; }
job_state() { mfa_sql "SELECT state FROM mail_jobs WHERE job_id = $(sql_quote "$1")"; }

# Conditions for wait_until, which runs them anew at every poll (an argument such
# as "$(cmd)" would be expanded once, before the first):
# state_is WANT CMD ARGS...: CMD's output equals WANT
state_is() { local want=$1; shift; [[ $("$@") == "$want" ]]; }
# count_ge N CMD ARGS...: CMD's output is a number >= N
count_ge() { local n=$1; shift; (( $("$@") >= n )); }
# nonempty CMD ARGS...: CMD prints something
nonempty() { [[ -n $("$@") ]]; }
# proc_done PID: the process has ended
proc_done() { ! kill -0 "$1" 2>/dev/null; }

# audit_count TYPE USER_ID [EXTRA_SQL]: audit rows of that type for the user
audit_count() {
  mfa_sql "SELECT count(*) FROM audit WHERE type = $(sql_quote "$1")
           AND user_id = $(sql_quote "$2") ${3:-}"
}

# integrity_ok DB: PRAGMA integrity_check answers ok (S28)
integrity_ok() { [[ $(db_query "$1" 'PRAGMA integrity_check') == ok ]]; }

# --- Mail ----------------------------------------------------------------------------------

# mails_to ADDRESS: paths of the messages the sink accepted for ADDRESS, oldest first
mails_to() {
  local file
  compgen -G "$MAIL_DIR/*.json" >/dev/null || return 0
  jq -r --arg a "$1" 'select(.rcpt_tos | index($a)) | input_filename' "$MAIL_DIR"/*.json |
    while read -r file; do
      [[ -e ${file%.json}.eml ]] && echo "${file%.json}.eml"
    done | sort -V
}
mail_count_to() { mails_to "$1" | wc -l; }
mail_count_at_least() { (( $(mail_count_to "$1") >= $2 )); }

# wait_mail_to ADDRESS N SECONDS: waits until N messages for ADDRESS arrived;
# prints the newest one
wait_mail_to() {
  wait_until "$3" mail_count_at_least "$1" "$2" || return 1
  mails_to "$1" | tail -n1
}

# mtime_ms FILE
mtime_ms() { find "$1" -maxdepth 0 -printf '%T@\n' | awk '{ printf "%.0f\n", $1 * 1000 }'; }

# --- Tenant and users ----------------------------------------------------------------------

# faketime_env OFFSET_FILE: fills the array FAKETIME_ENV with the `env ...` prefix
# that runs a service under libfaketime, its wall clock offset by what OFFSET_FILE
# holds ("+0", "-3600", ...; written here as "+0"). The clock-step scripts share it
# so that every process they step gets the same settings:
# - the offset is read again once a second (FAKETIME_CACHE_DURATION): re-reading
#   it on every call from several threads is known to hang under ASan;
# - the monotonic clock is left alone, as the kernel leaves it when the wall clock
#   is set;
# - FAKETIME_FORCE_MONOTONIC_FIX=0: without it Debian's libfaketime 0.9.10 compares
#   a monotonic condition variable's deadline with the wall clock, every timed wait
#   on one returns at once, and the process spins (the gateway and authn used
#   about 10 s of CPU each in services_clock_step.sh, measured);
# - a sanitized binary's runtime must come first among the libraries; libfaketime
#   only wraps the clock calls, so ASan's order check is off for these processes.
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
declare -a FAKETIME_ENV=()
faketime_env() {
  [[ -r $FAKETIME_LIB ]] || { fail "libfaketime is not installed (scripts/install-deps.sh installs it)"; return 1; }
  echo "+0" >"$1"
  FAKETIME_ENV=(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$1"
    FAKETIME_CACHE_DURATION=1 DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_FAKE_MONOTONIC=1
    FAKETIME_FORCE_MONOTONIC_FIX=0
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
}

# fault_tenant: a management token, the email factor on, and one application allowed
# the password and both MFA grants. Sets MGMT_TOKEN, CLIENT_ID, CLIENT_SECRET.
fault_tenant() {
  local boot=$POSTERN_DATA_DIR/bootstrap.json
  api POST /oauth/token --data grant_type=client_credentials \
    --data-urlencode "client_id=$(jq -r .client_id "$boot")" \
    --data-urlencode "client_secret=$(jq -r .client_secret "$boot")" \
    --data-urlencode "audience=https://$DOMAIN/api/v2/"
  [[ $STATUS == 200 ]] || { fail "management token: $STATUS $BODY"; return 1; }
  MGMT_TOKEN=$(json .access_token)
  api PUT /api/v2/guardian/factors/email -H "authorization: Bearer $MGMT_TOKEN" \
    -H 'content-type: application/json' --data '{"enabled":true}'
  [[ $STATUS == 200 ]] || { fail "enable email factor: $STATUS $BODY"; return 1; }
  api POST /api/v2/clients -H "authorization: Bearer $MGMT_TOKEN" -H 'content-type: application/json' \
    --data '{"name":"Fault app","token_endpoint_auth_method":"client_secret_post","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob","http://auth0.com/oauth/grant-type/mfa-recovery-code"]}'
  [[ $STATUS == 201 ]] || { fail "create application: $STATUS $BODY"; return 1; }
  CLIENT_ID=$(json .client_id)
  CLIENT_SECRET=$(json .client_secret)
}

# fault_user EMAIL: creates the user (password $PASSWORD); sets USER_ID
fault_user() {
  api POST /api/v2/users -H "authorization: Bearer $MGMT_TOKEN" -H 'content-type: application/json' \
    --data "{\"email\":\"$1\",\"password\":\"$PASSWORD\",\"connection\":\"Username-Password-Authentication\",\"email_verified\":true}"
  [[ $STATUS == 201 ]] || { fail "create user $1: $STATUS $BODY"; return 1; }
  USER_ID=$(json .user_id)
}

# login EMAIL: the password grant; sets MFA_TOKEN (empty unless mfa_required)
login() {
  api POST /oauth/token --data grant_type=password --data-urlencode "username=$1" \
    --data-urlencode "password=$PASSWORD" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
  MFA_TOKEN=
  [[ $STATUS == 403 && $(json .error) == mfa_required ]] && MFA_TOKEN=$(json .mfa_token)
  [[ -n $MFA_TOKEN ]]
}

# associate MFA_TOKEN: sets OOB_CODE, AUTHENTICATOR_ID, RECOVERY_CODE
associate() {
  api POST /mfa/associate -H "authorization: Bearer $1" -H 'content-type: application/json' \
    --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
  OOB_CODE=$(json '.oob_code // empty')
  AUTHENTICATOR_ID=$(json '.id // empty')
  RECOVERY_CODE=$(json '.recovery_codes[0] // empty')
}

# challenge MFA_TOKEN: POST /mfa/challenge; sets OOB_CODE
challenge() {
  api POST /mfa/challenge -H 'content-type: application/json' \
    --data "{\"mfa_token\":\"$1\",\"challenge_type\":\"oob\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\"}"
  OOB_CODE=$(json '.oob_code // empty')
}

# mfa_oob and recovery: tests/e2e/lib.sh

# fault_enrol EMAIL: creates the user and completes email enrolment with the mailed
# code (the sink must accept mail). Sets USER_ID, RECOVERY_CODE, AUTHENTICATOR_ID.
fault_enrol() {
  local email=$1 before mail code
  fault_user "$email" || return 1
  login "$email" || { fail "enrol $email: no mfa_required ($STATUS $BODY)"; return 1; }
  before=$(mail_count_to "$email")
  associate "$MFA_TOKEN"
  [[ $STATUS == 200 ]] || { fail "enrol $email: associate $STATUS $BODY"; return 1; }
  mail=$(wait_mail_to "$email" $((before + 1)) 15) || { fail "enrol $email: no email"; return 1; }
  code=$(mail_field "$mail" code)
  local recovery_code=$RECOVERY_CODE authenticator_id=$AUTHENTICATOR_ID
  mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$code"
  [[ $STATUS == 200 ]] || { fail "enrol $email: confirm $STATUS $BODY"; return 1; }
  RECOVERY_CODE=$recovery_code
  AUTHENTICATOR_ID=$authenticator_id
}

# --- Parallel HTTP ------------------------------------------------------------------------

# curl_config_entry METHOD PATH DATA [HEADER]: one transfer of a curl -K file, for
# parallel_curl; DATA must need no escaping inside double quotes
curl_config_entry() {
  printf 'url = "https://%s%s"\ncacert = "%s"\nrequest = "%s"\n' "$DOMAIN" "$2" "$CA" "$1"
  [[ -n $3 ]] && printf 'data = "%s"\n' "$3"
  [[ -n ${4:-} ]] && printf 'header = "%s"\n' "$4"
  printf 'output = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total} %%{exitcode}\\n"\nmax-time = 30\nnext\n'
}

# parallel_curl CONFIG PARALLEL OUT: runs every transfer of CONFIG with at most
# PARALLEL at once in one curl process; OUT gets "status seconds curl-exit-code"
# per transfer, a line as each one ends
parallel_curl() {
  # a "next" after the last transfer would be an empty transfer that aborts the rest
  sed '${/^next$/d}' "$1" |
    stdbuf -oL curl --parallel --parallel-max "$2" -sS --no-progress-meter -K - \
      >"$3" 2>>"$E2E_WORK/curl-parallel.err"
}

# status_count OUT STATUS: transfers of OUT that answered STATUS
status_count() { awk -v s="$2" '$1 == s { n++ } END { print n + 0 }' "$1"; }
