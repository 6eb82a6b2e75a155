# Shared by the end-to-end scripts: starts the real four processes and a real
# SMTP server (aiosmtpd) on free loopback ports in a private data directory, and
# offers small HTTP and assertion helpers. Source it; call e2e_start.
set -uo pipefail

: "${POSTERN_BINARY_DIR:?set by ctest}"
: "${POSTERN_SOURCE_DIR:?set by ctest}"
DEBIAN_PYTHON=/usr/bin/python3

E2E_WORK=$(mktemp -d /tmp/postern-e2e.XXXXXX)
E2E_PASSED=0
E2E_FAILED=0
declare -A E2E_PIDS=()
declare -A E2E_COMMANDS=()
declare -a AUTHN_BINDS=() MFA_BINDS=() JOBS_BINDS=()

# The ports come from below the kernel's ephemeral range: a port the kernel
# handed out (bind to port 0) is also what it gives the next outgoing
# connection, of this suite or of another on the machine, which could take it
# between this check and the service's bind. Here only another suite picking the
# same random port in that moment could, and a port already bound is skipped.
e2e_free_ports() {
  "$DEBIAN_PYTHON" - "$1" <<'PY'
import random, socket, sys
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
low = max(min(low, 65536), 12000)
socks, tries = [], 0
while len(socks) < int(sys.argv[1]):
    tries += 1
    if tries > 2000:
        sys.exit("e2e_free_ports: no free port below %d" % low)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(10000, low)))
    except OSError:
        s.close()
        continue
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

e2e_log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S.%3N)" "$*"; }

pass() { E2E_PASSED=$((E2E_PASSED + 1)); e2e_log "ok   $*"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); e2e_log "FAIL $*"; }

# check "description" command...: passes when the command succeeds
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# Starts one service in the background with the suite's environment.
e2e_run() {
  local name=$1; shift
  E2E_COMMANDS[$name]="$*"
  "$@" >>"$E2E_WORK/$name.log" 2>&1 &
  E2E_PIDS[$name]=$!
}

e2e_kill() {
  local name=$1 signal=${2:-KILL}
  local pid=${E2E_PIDS[$name]:-}
  if [[ -n $pid ]]; then
    kill -"$signal" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "E2E_PIDS[$name]"
  fi
}

e2e_restart() {
  local name=$1
  # shellcheck disable=SC2086
  e2e_run "$name" ${E2E_COMMANDS[$name]}
}

e2e_wait_port() {
  local port=$1 tries=${2:-150}
  while ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
    tries=$((tries - 1))
    ((tries > 0)) || return 1
    sleep 0.1
  done
}

# The PostgreSQL run (POSTERN_TEST_PG names the throw-away cluster's state
# file, tests/pg/pg-cluster.sh): authn and mfa keep their data in a database of
# this run's own on that cluster, each in its own schema
# A state file of a primary and its standby (pg-cluster.sh start-pair) gives
# the services both, and libpq connects to whichever is the primary.
e2e_pg_database() {
  local dir hosts database
  dir=$(head -n1 "$POSTERN_TEST_PG") || { e2e_log "no PostgreSQL cluster"; return 1; }
  hosts=$(paste -sd, "$POSTERN_TEST_PG")
  database=e2e_$$_$RANDOM
  psql -q -h "$dir" -U postern -d postgres -c "CREATE DATABASE $database" \
    >"$E2E_WORK/createdb.log" 2>&1 || { e2e_log "createdb failed"; return 1; }
  E2E_PG_URL="postgresql://postern@/$database?host=$hosts"
  [[ $hosts == *,* ]] && E2E_PG_URL+="&target_session_attrs=read-write"
  export POSTERN_AUTHN_DB=$E2E_PG_URL
  export POSTERN_MFA_DB=$E2E_PG_URL
}

# E2E_SINK_ARGS: more words for the SMTP sink (the bench's --no-fsync);
# E2E_SINK_COMMAND: another sink, run with the port and the mail folder added
# (the bench's bench/smtp_sink.sh run).
# e2e_start: the suite on free loopback ports. In the PostgreSQL run authn and
# mfa run as E2E_REPLICAS instances each (2 by default) over the shared
# database, named authn, authn2, mfa, mfa2 for e2e_kill and e2e_restart, with
# as many mailers, each serving every mfa instance; callers get the lists.
e2e_start() {
  E2E_REPLICAS=1
  if [[ -n ${POSTERN_TEST_PG:-} ]]; then
    e2e_pg_database || return 1
    E2E_REPLICAS=${E2E_REPLICAS_PG:-2}
  fi
  read -r HTTPS_PORT SMTP_PORT < <(e2e_free_ports 2)
  # shellcheck disable=SC2207
  local ports=($(e2e_free_ports $((3 * E2E_REPLICAS))))
  local i authn_list="" mfa_list="" jobs_list=""
  for ((i = 0; i < E2E_REPLICAS; i++)); do
    AUTHN_BINDS[i]=tcp://127.0.0.1:${ports[3 * i]}
    MFA_BINDS[i]=tcp://127.0.0.1:${ports[3 * i + 1]}
    JOBS_BINDS[i]=tcp://127.0.0.1:${ports[3 * i + 2]}
    authn_list+=${authn_list:+,}${AUTHN_BINDS[i]}
    mfa_list+=${mfa_list:+,}${MFA_BINDS[i]}
    jobs_list+=${jobs_list:+,}${JOBS_BINDS[i]}
  done
  AUTHN_PORT=${ports[0]}
  MFA_PORT=${ports[1]}
  JOBS_PORT=${ports[2]}
  export POSTERN_DATA_DIR=$E2E_WORK/data
  export POSTERN_HTTPS_PORT=$HTTPS_PORT
  export POSTERN_HTTP_PORT=-1
  export POSTERN_DOMAIN=localhost:$HTTPS_PORT
  export POSTERN_AUTHN_ENDPOINT=$authn_list
  export POSTERN_MFA_ENDPOINT=$mfa_list
  export POSTERN_MFA_JOBS_ENDPOINT=$jobs_list
  export POSTERN_SMTP_HOST=127.0.0.1
  export POSTERN_SMTP_PORT=$SMTP_PORT
  export POSTERN_SMTP_FROM="Postern <no-reply@postern.test>"
  export POSTERN_BUS_TIMEOUT_MS=${POSTERN_BUS_TIMEOUT_MS:-2000}
  DOMAIN=$POSTERN_DOMAIN
  MAIL_DIR=$E2E_WORK/mail
  CA=$POSTERN_DATA_DIR/tls/ca.pem
  mkdir -p "$POSTERN_DATA_DIR" "$MAIL_DIR"
  # every bus key before any service: a server admits the keys it finds at start
  local key_names=(gateway authn mfa mailer)
  for ((i = 1; i < E2E_REPLICAS; i++)); do key_names+=("mailer-$((i + 1))"); done
  "$POSTERN_BINARY_DIR/tools/postern-keys" "${key_names[@]}" >"$E2E_WORK/keys.log" 2>&1 \
    || { e2e_log "postern-keys failed"; return 1; }

  if [[ -n ${E2E_SINK_COMMAND:-} ]]; then
    # shellcheck disable=SC2086
    e2e_run smtp $E2E_SINK_COMMAND "$SMTP_PORT" "$MAIL_DIR"
  else
    e2e_run smtp "$DEBIAN_PYTHON" "$POSTERN_SOURCE_DIR/tests/support/smtp_sink.py" \
      --host 127.0.0.1 --port "$SMTP_PORT" --maildir "$MAIL_DIR" ${E2E_SINK_ARGS:-}
  fi
  local suffix
  for ((i = 0; i < E2E_REPLICAS; i++)); do
    suffix=$( ((i == 0)) || echo $((i + 1)) )
    e2e_run "mfa$suffix" env POSTERN_MFA_BIND="${MFA_BINDS[i]}" \
      POSTERN_MFA_JOBS_BIND="${JOBS_BINDS[i]}" "$POSTERN_BINARY_DIR/mfa/postern-mfa"
    e2e_run "authn$suffix" env POSTERN_AUTHN_BIND="${AUTHN_BINDS[i]}" \
      "$POSTERN_BINARY_DIR/authn/postern-authn"
    if ((i == 0)); then
      e2e_run mailer "$POSTERN_BINARY_DIR/mailer/postern-mailer"
    else
      e2e_run "mailer$suffix" env POSTERN_KEY_NAME="mailer-$suffix" \
        POSTERN_MAILER_OUTBOX="$POSTERN_DATA_DIR/mailer-outbox-$suffix.db" \
        "$POSTERN_BINARY_DIR/mailer/postern-mailer"
    fi
  done
  e2e_run gateway "$POSTERN_BINARY_DIR/gateway/postern-gateway"
  e2e_wait_port "$SMTP_PORT" || { e2e_log "smtp sink did not start"; return 1; }
  e2e_wait_port "$HTTPS_PORT" || { e2e_log "gateway did not start"; return 1; }
  local tries=100
  while [[ ! -s $POSTERN_DATA_DIR/bootstrap.json ]] && ((tries-- > 0)); do sleep 0.1; done
  [[ -s $POSTERN_DATA_DIR/bootstrap.json ]] || { e2e_log "no bootstrap credentials"; return 1; }
  # the gateway fetches signing keys from authn shortly after start
  sleep 0.5
}

e2e_finish() {
  for name in "${!E2E_PIDS[@]}"; do e2e_kill "$name" TERM; done
  if ((E2E_FAILED > 0)); then
    for log in "$E2E_WORK"/*.log; do
      echo "----- $(basename "$log") (last 40 lines)"
      tail -n 40 "$log"
    done
  fi
  echo "$E2E_PASSED passed, $E2E_FAILED failed"
  if ((E2E_FAILED == 0)) && [[ -z ${E2E_KEEP:-} ]]; then
    rm -rf "$E2E_WORK"
  fi
  # called from the EXIT trap: only `exit` sets the script's status there
  if ((E2E_FAILED > 0 || E2E_PASSED == 0)); then
    exit 1
  fi
  exit 0
}

# api METHOD PATH [curl args...]: sets STATUS, BODY and HEADERS
api() {
  local method=$1 path=$2; shift 2
  STATUS=$(curl -sS --cacert "$CA" -X "$method" -o "$E2E_WORK/body" -D "$E2E_WORK/headers" \
    -w '%{http_code}' --max-time 20 "https://$DOMAIN$path" "$@") || STATUS=000
  BODY=$(cat "$E2E_WORK/body" 2>/dev/null)
  HEADERS=$(cat "$E2E_WORK/headers" 2>/dev/null)
}

# json FILTER: jq over BODY
json() { jq -r "$1" <<<"$BODY"; }

# mfa_oob MFA_TOKEN OOB_CODE CODE: the mfa-oob grant for CLIENT_ID
mfa_oob() {
  api POST /oauth/token --data grant_type=http://auth0.com/oauth/grant-type/mfa-oob \
    --data-urlencode "mfa_token=$1" --data-urlencode "oob_code=$2" \
    --data-urlencode "binding_code=$3" --data-urlencode "client_id=$CLIENT_ID"
}

# recovery MFA_TOKEN CODE: the mfa-recovery-code grant for CLIENT_ID / CLIENT_SECRET
recovery() {
  api POST /oauth/token --data grant_type=http://auth0.com/oauth/grant-type/mfa-recovery-code \
    --data-urlencode "mfa_token=$1" --data-urlencode "recovery_code=$2" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
}

expect() {
  local what=$1 want=$2 got=$3
  if [[ "$got" == "$want" ]]; then
    pass "$what"
  else
    fail "$what: want '$want', got '$got' (body: ${BODY:0:300})"
  fi
}

expect_match() {
  local what=$1 pattern=$2 got=$3
  if [[ "$got" =~ $pattern ]]; then
    pass "$what"
  else
    fail "$what: '$got' does not match /$pattern/"
  fi
}

header() {
  grep -i "^$1:" <<<"$HEADERS" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

# mail_count: how many messages sit in MAIL_DIR
mail_count() {
  find "$MAIL_DIR" -name '*.eml' | wc -l
}

# db_query FILE SQL: a SQLite file, read-only
db_query() {
  local db=$1; shift
  sqlite3 -readonly -cmd '.timeout 5000' "$db" "$@"
}
# mfa's tables, on either engine: the PostgreSQL run reads schema mfa of the
# run's database (the queries here are written to mean the same on both)
mfa_sql() {
  if [[ ${POSTERN_MFA_DB:-} == postgres* ]]; then
    PGOPTIONS='-c search_path=mfa -c default_transaction_read_only=on' \
      psql -qAtX -v ON_ERROR_STOP=1 -d "$POSTERN_MFA_DB" -c "$1"
  else
    db_query "$POSTERN_DATA_DIR/mfa.db" "$@"
  fi
}

# wait_mail, mail_field, b64url_decode, verify_jwt, jwt_claims
source "$(dirname "${BASH_SOURCE[0]}")/../support/checks.sh"
