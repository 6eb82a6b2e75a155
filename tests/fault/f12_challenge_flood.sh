#!/usr/bin/env bash
# F12 (requirements.md): 1,000 /mfa/challenge calls for one user give at most
# burst + rate emails; the rest are 429 (S6: with Retry-After, and no email).
#
# The default limits are kept (POSTERN_MFA_SEND_BURST 20, one more every
# POSTERN_MFA_SEND_REFILL_S 60 s). The calls run PARALLEL at a time in one curl
# process, split over two sign-ins (two mfa_tokens) of the same user: the limit
# is the user's, not the token's. The enrolment email came out of the same
# bucket, so it counts in the total.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

CALLS=1000
PARALLEL=16
BURST=20
REFILL_S=60
export POSTERN_MFA_SEND_BURST=$BURST POSTERN_MFA_SEND_REFILL_S=$REFILL_S
EMAIL=f12-user@example.com

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
FIRST_SEND_MS=$(now_ms)
fault_enrol "$EMAIL" || exit 1
F12_USER=$USER_ID
login "$EMAIL" || { fail "no mfa_required"; exit 1; }
TOKEN_A=$MFA_TOKEN
login "$EMAIL" || { fail "no mfa_required"; exit 1; }
TOKEN_B=$MFA_TOKEN

CONFIG=$E2E_WORK/flood.curl
for i in $(seq 1 "$CALLS"); do
  token=$TOKEN_A; (( i % 2 )) || token=$TOKEN_B
  curl_config_entry POST /mfa/challenge \
    "mfa_token=$token&challenge_type=oob&client_id=$CLIENT_ID&client_secret=$CLIENT_SECRET"
done >"$CONFIG"

START_MS=$(now_ms)
parallel_curl "$CONFIG" "$PARALLEL" "$E2E_WORK/flood.out"
END_MS=$(now_ms)
e2e_log "$CALLS calls in $(( END_MS - START_MS )) ms: $(cut -d' ' -f1 "$E2E_WORK/flood.out" | sort | uniq -c | tr '\n' ' ')"

OK=$(status_count "$E2E_WORK/flood.out" 200)
LIMITED=$(status_count "$E2E_WORK/flood.out" 429)
# burst, plus one per full refill period since the first email, plus one for a
# period that may have begun
ALLOWED=$(( BURST + (END_MS - FIRST_SEND_MS) / (REFILL_S * 1000) + 1 ))
expect "every call answered" "$CALLS" "$(wc -l <"$E2E_WORK/flood.out")"
expect "every call is 200 or 429" "$CALLS" "$((OK + LIMITED))"
check "some challenges went through ($OK)" test "$OK" -ge 1
check "at most burst + rate challenges accepted with the enrolment ($((OK + 1)) <= $ALLOWED)" \
  test "$((OK + 1))" -le "$ALLOWED"
check "the send bucket was not undercounted: at least burst - 1 accepted ($OK)" \
  test "$OK" -ge "$((BURST - 1))"

# S6: a refusal carries Retry-After and the rate-limit headers
challenge "$TOKEN_A"
expect "after the flood: 429" 429 "$STATUS"
expect "after the flood: error" too_many_requests "$(json .error)"
expect_match "after the flood: Retry-After" '^[0-9]+$' "$(header Retry-After)"
LIMITED=$((LIMITED + 1))

# Every accepted job has left the outbox before counting the emails
unfinished() { outbox_sql "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')"; }
check "the mailer drained its outbox" wait_until 30 state_is 0 unfinished
JOBS=$(mfa_sql "SELECT count(*) FROM mail_jobs WHERE user_id = $(sql_quote "$F12_USER")")
MAILS=$(mail_count_to "$EMAIL")
e2e_log "mail jobs for the user: $JOBS, emails received: $MAILS"
expect "one mail job per accepted challenge (and the enrolment), none for a 429" "$((OK + 1))" "$JOBS"
check "emails: at most burst + rate ($MAILS <= $ALLOWED)" test "$MAILS" -le "$ALLOWED"
check "emails: no more than the accepted challenges ($MAILS <= $((OK + 1)))" test "$MAILS" -le "$((OK + 1))"
expect "one gd_send_limit_exceed audit event per 429" "$LIMITED" \
  "$(audit_count gd_send_limit_exceed "$F12_USER")"
expect "one gd_send_email audit event per accepted challenge" "$((OK + 1))" \
  "$(audit_count gd_send_email "$F12_USER" "AND result = 'success'")"
expect "exactly one live challenge left (each new one superseded the previous)" 1 \
  "$(mfa_sql "SELECT count(*) FROM challenges WHERE user_id = $(sql_quote "$F12_USER") AND state = 'pending'")"
