#!/usr/bin/env bash
# PostgreSQL crashes and comes back under load (issue 11): the server is stopped
# at once (pg_ctl -m immediate, as a crash) while sign-ins run through two
# instances each of authn and mfa, and started again DOWN_S later.
#   - while it is down every answer is the flow's own or a 503, quickly: no
#     hang, no 500, no crash;
#   - the services reconnect by themselves (none is restarted) and sign-ins
#     complete again within RECOVERY_S of the restart;
#   - every challenge acknowledged before the crash (its mail arrived) still
#     completes its sign-in afterwards: nothing acknowledged is lost.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"

CLUSTER=$(mktemp /tmp/postern-restart.XXXXXX)
PG_CLUSTER=$POSTERN_SOURCE_DIR/tests/pg/pg-cluster.sh
trap '"$PG_CLUSTER" stop "$CLUSTER" >/dev/null 2>&1; rm -f "$CLUSTER"; fault_finish' EXIT
"$PG_CLUSTER" start "$CLUSTER" >/dev/null || { fail "PostgreSQL did not start"; exit 1; }
export POSTERN_TEST_PG=$CLUSTER
export POSTERN_BUS_TIMEOUT_MS=2000
export POSTERN_MFA_SEND_BURST=1000
DOWN_S=3
RECOVERY_S=20
ANSWER_MAX_MS=4000

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
for n in 1 2 3; do fault_enrol "restart-$n@example.com" || exit 1; done

# Acknowledged challenges, one per user, their mails arrived
declare -A TOKENS OOBS CODES
for n in 1 2 3; do
  email=restart-$n@example.com
  login "$email" || { fail "no mfa_required for $email"; exit 1; }
  before=$(mail_count_to "$email")
  challenge "$MFA_TOKEN"
  [[ $STATUS == 200 ]] || { fail "challenge for $email: $STATUS"; exit 1; }
  mail=$(wait_mail_to "$email" $((before + 1)) 15) || { fail "no mail for $email"; exit 1; }
  TOKENS[$n]=$MFA_TOKEN OOBS[$n]=$OOB_CODE CODES[$n]=$(mail_field "$mail" code)
done
pass "three challenges acknowledged and mailed before the crash"

"$PG_CLUSTER" restart "$CLUSTER" "$DOWN_S" >/dev/null &
RESTARTER=$!
# The crash takes effect at once; the restart comes DOWN_S later
sleep 0.3
down_end=$(( $(now_ms) + DOWN_S * 1000 - 500 ))
answers=0 unavailable=0 slow=0 others=""
while (( $(now_ms) < down_end )); do
  t0=$(now_ms)
  api POST /oauth/token --data grant_type=password --data-urlencode username=restart-1@example.com \
    --data-urlencode "password=$PASSWORD" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
  took=$(( $(now_ms) - t0 ))
  answers=$((answers + 1))
  case $STATUS in
    503) unavailable=$((unavailable + 1)) ;;
    403) [[ $(json .error) == mfa_required ]] || others+=" 403" ;;
    *) others+=" $STATUS" ;;
  esac
  ((took > ANSWER_MAX_MS)) && slow=$((slow + 1))
done
wait "$RESTARTER" || { fail "PostgreSQL did not start again"; exit 1; }
e2e_log "while down: $answers answers, $unavailable 503, others:${others:- none}, slow $slow"
check "some requests met the database down (503)" test "$unavailable" -ge 1
expect "answers other than the flow's own or 503" "" "$others"
expect "no answer took longer than ${ANSWER_MAX_MS} ms" 0 "$slow"

restarted_ms=$(now_ms)
completes() {
  mfa_oob "${TOKENS[$1]}" "${OOBS[$1]}" "${CODES[$1]}"
  [[ $STATUS == 200 ]]
}
check "the first acknowledged challenge completes its sign-in after the restart" \
  wait_until "$RECOVERY_S" completes 1
e2e_log "first sign-in $(( $(now_ms) - restarted_ms )) ms after the restart"
check "the second one too" completes 2
check "the third one too" completes 3
for name in authn authn2 mfa mfa2 mailer mailer2 gateway; do
  check "$name was not restarted" kill -0 "${E2E_PIDS[$name]}"
done
