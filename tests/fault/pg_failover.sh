#!/usr/bin/env bash
# PostgreSQL primary lost, standby promoted (issue 11). authn and mfa (two
# instances each) are given both servers in one URL (libpq's host list with
# target_session_attrs=read-write); the standby is synchronous, so a commit is
# acknowledged only once the standby has it. The primary is killed right after
# a user was created and a challenge acknowledged; then:
#   - while there is no primary, every answer is a 503 (the database is
#     unavailable), quickly: no hang, no 500, no crash;
#   - once the standby is promoted the services find it by themselves (no
#     restart, no new setting) and sign-ins complete again;
#   - nothing acknowledged is lost: the user created last exists, and the code
#     mailed for the challenge acknowledged last completes its sign-in.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"

PAIR=$(mktemp /tmp/postern-pair.XXXXXX)
PG_CLUSTER=$POSTERN_SOURCE_DIR/tests/pg/pg-cluster.sh
trap '"$PG_CLUSTER" stop "$PAIR" >/dev/null 2>&1; rm -f "$PAIR"; fault_finish' EXIT
"$PG_CLUSTER" start-pair "$PAIR" >/dev/null || { fail "the primary and standby did not start"; exit 1; }
export POSTERN_TEST_PG=$PAIR
export POSTERN_BUS_TIMEOUT_MS=2000
OUTAGE_S=3              # no primary for this long
RECOVERY_S=20           # sign-ins complete again within this after the promotion
ANSWER_MAX_MS=4000      # each answer during the outage, at most (deadline + margin)

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol failover@example.com || exit 1

# The last acknowledged writes before the primary goes
login failover@example.com || { fail "no mfa_required before the kill"; exit 1; }
before=$(mail_count_to failover@example.com)
challenge "$MFA_TOKEN"
expect "a challenge acknowledged before the kill" 200 "$STATUS"
LAST_TOKEN=$MFA_TOKEN LAST_OOB=$OOB_CODE
fault_user last@example.com || exit 1
"$PG_CLUSTER" kill-primary "$PAIR" || { fail "could not kill the primary"; exit 1; }
e2e_log "primary killed"

# No primary: quick 503s, nothing else
outage_end=$(( $(now_ms) + OUTAGE_S * 1000 ))
answers=0 unavailable=0 slow=0 others=""
while (( $(now_ms) < outage_end )); do
  t0=$(now_ms)
  api POST /oauth/token --data grant_type=password --data-urlencode username=failover@example.com \
    --data-urlencode "password=$PASSWORD" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
  took=$(( $(now_ms) - t0 ))
  answers=$((answers + 1))
  if [[ $STATUS == 503 ]]; then unavailable=$((unavailable + 1)); else others+=" $STATUS"; fi
  ((took > ANSWER_MAX_MS)) && slow=$((slow + 1))
done
e2e_log "during the outage: $answers answers, $unavailable 503, others:${others:- none}, slow $slow"
check "requests were answered during the outage" test "$answers" -ge 2
expect "every answer without a primary is 503" "$answers" "$unavailable"
expect "no answer took longer than ${ANSWER_MAX_MS} ms" 0 "$slow"

"$PG_CLUSTER" promote "$PAIR" || { fail "could not promote the standby"; exit 1; }
e2e_log "standby promoted"
promoted_ms=$(now_ms)
# First the challenge acknowledged before the kill: its mail comes, and its
# code completes that sign-in on the promoted standby
mail=$(wait_mail_to failover@example.com $((before + 1)) 15) || fail "no mail for the last challenge"
LAST_CODE=$(mail_field "$(mails_to failover@example.com | sed -n "$((before + 1))p")" code)
last_completes() {
  mfa_oob "$LAST_TOKEN" "$LAST_OOB" "$LAST_CODE"
  [[ $STATUS == 200 ]]
}
check "the challenge acknowledged before the kill completes its sign-in after the promotion" \
  wait_until "$RECOVERY_S" last_completes
e2e_log "first sign-in $(( $(now_ms) - promoted_ms )) ms after the promotion"
signed_in() {
  login failover@example.com || return 1
  local count
  count=$(mail_count_to failover@example.com)
  challenge "$MFA_TOKEN"
  [[ $STATUS == 200 ]] || return 1
  local mail
  mail=$(wait_mail_to failover@example.com $((count + 1)) 10) || return 1
  mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$(mail_field "$mail" code)"
  [[ $STATUS == 200 ]]
}
for round in 1 2 3 4; do
  check "a whole sign-in on the promoted standby ($round)" signed_in
done
for name in authn authn2 mfa mfa2; do
  check "$name was not restarted" kill -0 "${E2E_PIDS[$name]}"
done
api GET "/api/v2/users-by-email?email=last@example.com" -H "authorization: Bearer $MGMT_TOKEN"
expect "the user created just before the kill exists" 1 "$(json 'length')"
