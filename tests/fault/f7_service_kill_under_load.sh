#!/usr/bin/env bash
# F7 (requirements.md): authn or mfa is killed under load. The gateway answers 503
# within its deadline, and service comes back when the killed process is started
# again, without restarting the gateway.
#
# How: eight curl loops (LOAD_KINDS) run through the gateway for the whole test, each
# sending one kind of request back to back, a new curl (new TLS connection) each:
#   client_credentials  POST /oauth/token, client_credentials      needs authn
#   password            POST /oauth/token, password -> 403         needs authn, then mfa
#                       mfa_required (the user has no authenticator yet)
#   factors             GET /api/v2/guardian/factors               needs mfa only: the
#                       gateway verifies the management token itself, with the keys
#                       it fetched from authn at start (gw_keys.c), so authn is not asked
# Every request is logged with the times it was sent and answered, its HTTP status,
# curl's time_total and curl's exit status. Under that load authn is SIGKILLed, left dead
# DOWN_S seconds and started again on the same data directory; then the same for mfa.
# Afterwards the log proves:
#   - every answer is the request's normal success or a 503; no other status, no
#     connection error, no curl timeout (curl's --max-time is well above the deadline,
#     so a hang shows as a hang);
#   - every request, 503s included, ended within the bus deadline + MARGIN_MS;
#   - while a service was dead, every request that needs it was answered 503 (so the
#     kill took effect), and the requests that need only the other service kept
#     succeeding, all of them;
#   - each kind of request succeeded again within RECOVERY_S of the restart, and
#     nothing but successes followed;
#   - the 503 bodies follow the contract (§0): {"error":"temporarily_unavailable",...}
#     on /oauth/token, the Management API shape with errorCode on /api/v2;
#   - the gateway process is the one started at the beginning.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

DEADLINE_MS=1500
export POSTERN_BUS_TIMEOUT_MS=$DEADLINE_MS
# The loads send Management API calls back to back, faster than the default
# per-client rate limit (100, refilled at 50/s) allows on a fast machine; a 429
# is not what this test looks for (e2e users_api checks the limit)
export POSTERN_MGMT_RATE_LIMIT=1000000 POSTERN_MGMT_RATE_PER_S=1000000
# As many authn workers as password loops (see "Load"): with mfa dead, those
# loops hold every worker, and client_credentials must still get through. The
# default (16) would leave workers free and the check below could not fail.
export POSTERN_AUTHN_WORKERS=4
# The bound on every answer is deadline + margin. The margin covers what happens
# outside the gateway's deadline (curl's start, TCP and TLS handshakes, reading the
# request, writing the answer) on a 2-core machine that runs 8 curl loops and the
# four services, possibly under ASan (measured: at most 100 ms past the deadline, with
# and without ASan, with other test runs using the CPU); a hang (no deadline at all)
# still shows, as curl waits up to CURL_MAX_TIME_S.
MARGIN_MS=1500
CURL_MAX_TIME_S=15
BASELINE_S=3            # load before the first kill
DOWN_S=4                # how long a killed service stays dead: well over the deadline, so
                        # requests in flight at the kill time out, and new ones are refused
                        # fast (authn) or after the deadline (a password grant with mfa dead)
STEADY_S=3              # load after a recovery, before the next fault
RECOVERY_S=10           # a restarted service serves again within this
MIN_503=3               # each dependent kind got at least this many 503s while its service was
                        # dead; the fewest are the password grants with mfa dead, each taking
                        # the deadline: 2 loops x 2 in DOWN_S, so 4 here
EMAIL=f7-user@example.com

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_user "$EMAIL" || exit 1
login "$EMAIL" || { fail "sanity: the password grant gives no mfa_required ($STATUS $BODY)"; exit 1; }
BOOT_ID=$(jq -r .client_id "$POSTERN_DATA_DIR/bootstrap.json")
BOOT_SECRET=$(jq -r .client_secret "$POSTERN_DATA_DIR/bootstrap.json")
GATEWAY_PID=${E2E_PIDS[gateway]}
LOAD_DIR=$E2E_WORK/load
STOP_FILE=$LOAD_DIR/stop
mkdir -p "$LOAD_DIR"

# stamp VAR: sets VAR to the time in Unix ms, from bash's own clock: no fork, so the
# loops stay cheap and the stamps around a kill or a request are tight
stamp() { local t=${EPOCHREALTIME//[.,]/}; printf -v "$1" '%s' "${t:0:13}"; }

# load_worker KIND N: sends KIND requests back to back until $STOP_FILE appears;
# appends one tab-separated line per request to $LOAD_DIR/KIND.N.log:
#   kind  sent_ms  done_ms  http_status  time_total_s  curl_exit  outcome  json  no_store  body
# sent_ms is taken before curl starts and done_ms after it ended, so the request
# surely lies between them (curl's own time_total starts later, after exec and
# library set-up, which take tens of ms here); time_total is the latency checked.
# outcome: "ok" (the kind's normal answer), "503" or "other"; json and no_store say
# whether Content-Type is application/json and Cache-Control no-store; the body is
# kept only for answers other than "ok" (a success holds tokens).
load_worker() {
  local kind=$1 n=$2
  local dir=$LOAD_DIR/$kind.$n out=$LOAD_DIR/$kind.$n.log
  mkdir -p "$dir"
  local -a request
  case $kind in
    client_credentials)
      request=("https://$DOMAIN/oauth/token" --data grant_type=client_credentials
               --data-urlencode "client_id=$BOOT_ID" --data-urlencode "client_secret=$BOOT_SECRET"
               --data-urlencode "audience=https://$DOMAIN/api/v2/") ;;
    password)
      request=("https://$DOMAIN/oauth/token" --data grant_type=password
               --data-urlencode "username=$EMAIL" --data-urlencode "password=$PASSWORD"
               --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET") ;;
    factors)
      request=("https://$DOMAIN/api/v2/guardian/factors" -H "authorization: Bearer $MGMT_TOKEN") ;;
  esac
  shopt -s nocasematch
  local sent finished status seconds rc body headers outcome json no_store
  while [[ ! -e $STOP_FILE ]]; do
    # truncated, not removed: curl writes nothing when it gets no answer
    : >"$dir/body"; : >"$dir/headers"; : >"$dir/out"
    stamp sent
    curl -sS --cacert "$CA" --max-time "$CURL_MAX_TIME_S" -o "$dir/body" -D "$dir/headers" \
      -w '%{http_code} %{time_total}' "${request[@]}" >"$dir/out" 2>>"$dir/curl.err"
    rc=$?
    stamp finished
    status=000 seconds=0 body= headers=
    read -r status seconds <"$dir/out"
    IFS= read -r -d '' body <"$dir/body"
    IFS= read -r -d '' headers <"$dir/headers"
    outcome=other
    case $kind:$status in
      client_credentials:200|factors:200) outcome=ok ;;
      password:403) [[ $body == *'"error":"mfa_required"'* ]] && outcome=ok ;;
      *:503) outcome=503 ;;
    esac
    json=0; [[ $headers == *$'\n'content-type:\ application/json* ]] && json=1
    no_store=0; [[ $headers == *$'\n'cache-control:\ no-store* ]] && no_store=1
    [[ $outcome == ok ]] && body=
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$sent" "$finished" "$status" \
      "$seconds" "$rc" "$outcome" "$json" "$no_store" "${body//[$'\t\n\r']/ }" >>"$out"
  done
}

# all_requests: every request logged so far, one line each
all_requests() { cat "$LOAD_DIR"/*.log 2>/dev/null; }

# requests AWK_CONDITION [FILE]: the logged requests (of FILE, "-" for stdin; the
# final log by default) for which the condition holds; it sees the fields by name
requests() {
  awk -F'\t' "{ kind = \$1; sent = \$2; done = \$3; status = \$4; secs = \$5; rc = \$6
                outcome = \$7; json = \$8; nostore = \$9; body = \$10 }
              $1" "${2:-$REQUESTS}"
}

# ok_since KIND MS: a KIND request got its normal answer at or after MS (Unix ms)
ok_since() { (( $(all_requests | requests "kind == \"$1\" && outcome == \"ok\" && done >= $2" - | wc -l) > 0 )); }

# --- Load --------------------------------------------------------------------------------
declare -a WORKER_PIDS=()
# 2 + 4 + 2 loops. As many password loops as authn has workers (POSTERN_AUTHN_WORKERS): with mfa dead,
# each password grant occupies a worker while it finds mfa unreachable, and
# client_credentials must still get through (see "mfa dead" below).
LOAD_KINDS=(client_credentials client_credentials
            password password password password
            factors factors)
for i in "${!LOAD_KINDS[@]}"; do
  fault_bg load_worker "${LOAD_KINDS[$i]}" "$i"
  WORKER_PIDS+=("$BG_PID")
done
stamp LOAD_START
for kind in client_credentials password factors; do
  check "load: $kind requests are being served" wait_until 10 ok_since "$kind" "$LOAD_START"
done
sleep "$BASELINE_S"

# kill_and_restart SERVICE: SIGKILL under load, DOWN_S seconds dead, then started again
# on the same data directory. Sets KILL_MS (just before the signal), DEAD_MS (after
# the process was reaped: its sockets are closed) and RESTART_MS (just before it
# starts again), so that a request sent after DEAD_MS and answered before RESTART_MS
# surely had no such service to talk to.
kill_and_restart() {
  local service=$1
  stamp KILL_MS
  fault_stop "$service" KILL
  stamp DEAD_MS
  e2e_log "$service killed under load"
  sleep "$DOWN_S"
  stamp RESTART_MS
  fault_restart "$service"
  e2e_log "$service started again"
}

# wait_recovered SERVICE KIND...: each KIND succeeds again within RECOVERY_S of the
# restart; the next phase begins only then
wait_recovered() {
  local service=$1 kind; shift
  for kind in "$@"; do
    check "$service restarted: $kind succeeds again within ${RECOVERY_S} s" \
      wait_until "$RECOVERY_S" ok_since "$kind" "$RESTART_MS"
  done
}

kill_and_restart authn
AUTHN_KILL=$KILL_MS AUTHN_DEAD=$DEAD_MS AUTHN_RESTART=$RESTART_MS
wait_recovered authn client_credentials password
sleep "$STEADY_S"

kill_and_restart mfa
MFA_KILL=$KILL_MS MFA_DEAD=$DEAD_MS MFA_RESTART=$RESTART_MS
wait_recovered mfa factors password
sleep "$STEADY_S"

touch "$STOP_FILE"
for pid in "${WORKER_PIDS[@]}"; do
  wait_until $((CURL_MAX_TIME_S + 5)) proc_done "$pid" || fail "load worker $pid did not end"
  wait "$pid" 2>/dev/null
done
stamp LOAD_END
REQUESTS=$E2E_WORK/requests.tsv
all_requests >"$REQUESTS"

# --- Verdict ---------------------------------------------------------------------------------
LIMIT_MS=$((DEADLINE_MS + MARGIN_MS))
count() { requests "$1" | wc -l; }
# none "WHAT" AWK_CONDITION: passes when no request matches; otherwise shows up to 5
none() {
  local what=$1 bad
  bad=$(requests "$2")
  if [[ -z $bad ]]; then
    pass "$what"
  else
    fail "$what: $(wc -l <<<"$bad") requests, e.g. (kind sent done status seconds curl-exit ...):"
    head -n5 <<<"$bad"
  fi
}
# dead DEAD_MS RESTART_MS: sent after the kill took effect, answered before the restart
dead() { echo "sent >= $1 && done < $2"; }
# answered_dead DEAD_MS RESTART_MS: answered while the service was dead, sent before the
# restart: this counts the requests in flight at the kill too (a password grant with mfa
# dead takes the whole deadline, so few are both sent and answered in the window)
answered_dead() { echo "done >= $1 && sent < $2"; }

TOTAL=$(count 1)
e2e_log "$TOTAL requests in $(( (LOAD_END - LOAD_START) / 1000 )) s"
check "load: a sustained load ($TOTAL requests)" test "$TOTAL" -ge 100

# (a) the normal answer or 503, nothing else; never a connection error or a timeout
none "every request got an answer (curl exit 0: no reset, no timeout)" 'rc != 0'
none "every answer is the request's normal success or 503 (no 500, no 502)" 'outcome == "other"'
# (b) within the deadline
none "every 503 answered within ${DEADLINE_MS} + ${MARGIN_MS} ms" "outcome == \"503\" && secs * 1000 > $LIMIT_MS"
none "every request answered within ${DEADLINE_MS} + ${MARGIN_MS} ms" "secs * 1000 > $LIMIT_MS"
none "baseline: only successes before the first kill" "done < $AUTHN_KILL && outcome != \"ok\""

# (c) each kill took effect, on the requests that need that service and no others
for kind in client_credentials password; do
  n=$(count "kind == \"$kind\" && outcome == \"503\" && $(answered_dead "$AUTHN_DEAD" "$AUTHN_RESTART")")
  check "authn dead: $kind got 503s ($n >= $MIN_503)" test "$n" -ge "$MIN_503"
  none "authn dead: every $kind answered 503" \
    "kind == \"$kind\" && $(dead "$AUTHN_DEAD" "$AUTHN_RESTART") && outcome != \"503\""
done
n=$(count "kind == \"factors\" && $(dead "$AUTHN_DEAD" "$AUTHN_RESTART")")
check "authn dead: factors requests went on ($n >= $MIN_503)" test "$n" -ge "$MIN_503"
none "authn dead, restarting or back: factors (mfa only) never failed" \
  "kind == \"factors\" && done < $MFA_KILL && outcome != \"ok\""
for kind in factors password; do
  n=$(count "kind == \"$kind\" && outcome == \"503\" && $(answered_dead "$MFA_DEAD" "$MFA_RESTART")")
  check "mfa dead: $kind got 503s ($n >= $MIN_503)" test "$n" -ge "$MIN_503"
  none "mfa dead: every $kind answered 503" \
    "kind == \"$kind\" && $(dead "$MFA_DEAD" "$MFA_RESTART") && outcome != \"503\""
done
# client_credentials never calls mfa, but it shares authn's worker threads with the
# password grants, which find mfa unreachable. They give up after a short connect
# wait (PST_CLIENT_CONNECT_WAIT_MS), not at their deadline, so a request queued
# behind them still makes its own: every one must succeed.
cc_ok=$(count "kind == \"client_credentials\" && outcome == \"ok\" && $(dead "$MFA_DEAD" "$MFA_RESTART")")
check "mfa dead: client_credentials (authn only) kept succeeding ($cc_ok)" test "$cc_ok" -ge "$MIN_503"
none "mfa dead: every client_credentials succeeded" \
  "kind == \"client_credentials\" && $(dead "$MFA_DEAD" "$MFA_RESTART") && outcome != \"ok\""

# (d) recovery, the gateway untouched
declare -A RECOVERED=()
for spec in "authn $AUTHN_RESTART $MFA_KILL" "mfa $MFA_RESTART $LOAD_END"; do
  read -r service restarted until <<<"$spec"
  for kind in client_credentials password factors; do
    first=$(requests "kind == \"$kind\" && outcome == \"ok\" && done >= $restarted" |
            awk -F'\t' 'NR == 1 || $3 < first { first = $3 } END { if (NR) print first }')
    [[ -n $first ]] || { fail "$service restarted: no $kind success afterwards"; continue; }
    RECOVERED[$service $kind]=$((first - restarted))
    none "$service restarted: once $kind succeeded again, only successes" \
      "kind == \"$kind\" && sent >= $first && done < $until && outcome != \"ok\""
  done
done
expect "the gateway was never restarted" "$GATEWAY_PID" "${E2E_PIDS[gateway]}"
check "the gateway process is still running" kill -0 "$GATEWAY_PID"
check "the restarted authn and mfa are running" kill -0 "${E2E_PIDS[authn]}" "${E2E_PIDS[mfa]}"

# (e) the 503 bodies (contract §0): the Authentication API error on /oauth/token, with
# no-store (RFC 6749 §5.1); the Management API error on /api/v2; both JSON
none "every 503 is application/json; on /oauth/token with Cache-Control: no-store" \
  "outcome == \"503\" && (json != 1 || (kind != \"factors\" && nostore != 1))"
bad_auth=$(requests 'outcome == "503" && kind != "factors"' | cut -f10 |
  jq -c 'select((.error == "temporarily_unavailable" and (.error_description | type == "string" and length > 0)
                 and length == 2) | not)' 2>&1 | head -n3)
expect "503 on /oauth/token: {error: temporarily_unavailable, error_description}" "" "$bad_auth"
bad_mgmt=$(requests 'outcome == "503" && kind == "factors"' | cut -f10 |
  jq -c 'select((.statusCode == 503 and .error == "Service Unavailable" and (.message | type == "string" and length > 0)
                 and .errorCode == "temporarily_unavailable" and length == 4) | not)' 2>&1 | head -n3)
expect "503 on /api/v2: {statusCode: 503, error: Service Unavailable, message, errorCode: temporarily_unavailable}" \
  "" "$bad_mgmt"

# --- Summary ---------------------------------------------------------------------------------
e2e_log "summary: authn dead $((AUTHN_RESTART - AUTHN_DEAD)) ms, mfa dead $((MFA_RESTART - MFA_DEAD)) ms;" \
  "requests by the phase they were sent in"
requests 1 | awk -F'\t' -v ak="$AUTHN_KILL" -v ar="$AUTHN_RESTART" -v mk="$MFA_KILL" -v mr="$MFA_RESTART" '
  { phase = $2 < ak ? "1 baseline" : $2 < ar ? "2 authn dead" : $2 < mk ? "3 authn back" : $2 < mr ? "4 mfa dead" : "5 mfa back"
    key = phase SUBSEP $1; rows[key] = 1; n[key SUBSEP $4]++; statuses[$4] = 1
    ms = $5 * 1000; if (ms > slowest[key]) slowest[key] = ms
    if ($4 == 503) { n503[phase]++; if (ms > max503[phase]) max503[phase] = ms } }
  END {
    for (key in rows) {
      split(key, p, SUBSEP); line = ""
      for (s in statuses) if (n[key SUBSEP s]) line = line sprintf(" %s:%-4d", s, n[key SUBSEP s])
      printf "  %-13s %-19s%s slowest %5.0f ms\n", p[1], p[2], line, slowest[key]
    }
    for (phase in n503) printf "  %-13s 503s: %d, slowest 503: %.0f ms\n", phase, n503[phase], max503[phase]
  }' | sort
echo "  all phases: $(count 'outcome == "503"') 503s, the slowest in" \
  "$(requests 'outcome == "503"' | awk -F'\t' '$5 > m { m = $5 } END { printf "%.0f", m * 1000 }') ms" \
  "(bound ${DEADLINE_MS} + ${MARGIN_MS} ms)"
for key in "${!RECOVERED[@]}"; do
  echo "  ${key% *} restarted: first ${key#* } success ${RECOVERED[$key]} ms after the restart"
done | sort
