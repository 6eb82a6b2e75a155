#!/usr/bin/env bash
# F5 (requirements.md): the SMTP server answers 550. No retry; an `fn` audit
# event; the API answer is unchanged (the challenge answered 200 because a mailer
# durably accepted the job, S20: the relay's verdict comes later).
#
# The audit event is read from mfa.db's audit table with the sqlite3 CLI,
# read-only: there is no logs API yet (contract §6 "logs" is not built).
# "No retry" is an absence: after the 550 the test watches for RETRY_WATCH_S =
# 4 s, more than three times the longest first backoff (1 s + 20%), and the sink's
# own log must still show one DATA for the address.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

RETRY_WATCH_S=4
EMAIL=f5-user@example.com

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol "$EMAIL" || exit 1
F5_USER=$USER_ID

# --- Baseline: the challenge answer with a healthy relay ------------------------------
login "$EMAIL" || { fail "no mfa_required"; exit 1; }
challenge "$MFA_TOKEN"
expect "healthy relay: challenge" 200 "$STATUS"
BASELINE_KEYS=$(json 'keys | join(",")')
BASELINE_SHAPE=$(json '{challenge_type, binding_method} | tojson')
wait_mail_to "$EMAIL" 2 15 >/dev/null || fail "healthy relay: the email did not arrive"

# --- Fault: 550 at the end of DATA ---------------------------------------------------------
fault_sink reject-550 || { fail "sink did not start"; exit 1; }
RCPT_BEFORE=$(smtp_count "recip: $EMAIL")
login "$EMAIL" || { fail "no mfa_required"; exit 1; }
challenge "$MFA_TOKEN"
expect "relay rejecting: challenge status unchanged" 200 "$STATUS"
expect "relay rejecting: same members as with a healthy relay" "$BASELINE_KEYS" "$(json 'keys | join(",")')"
expect "relay rejecting: same challenge_type and binding_method" "$BASELINE_SHAPE" \
  "$(json '{challenge_type, binding_method} | tojson')"
expect_match "relay rejecting: an oob_code" '^[A-Za-z0-9_-]{43,}$' "$OOB_CODE"
JOB=$(latest_job "$F5_USER")
check "a mail job was recorded for the challenge" test -n "$JOB"

check "outbox row ends failed" wait_until 10 state_is failed outbox_state "$JOB"
FAILED_MS=$(now_ms)
expect "outbox: last SMTP code" 550 "$(outbox_field "$JOB" last_smtp_code)"
check "mfa recorded the job failed" wait_until 5 state_is failed job_state "$JOB"
check "an fn audit event for the user" wait_until 5 count_ge 1 audit_count fn "$F5_USER"
expect "exactly one fn event" 1 "$(audit_count fn "$F5_USER")"
expect "fn event: result failure" 1 "$(audit_count fn "$F5_USER" "AND result = 'failure'")"
expect_match "fn event: detail names the SMTP code" '^smtp 550' \
  "$(mfa_sql "SELECT detail FROM audit WHERE type = 'fn' AND user_id = $(sql_quote "$F5_USER")")"
expect_match "fn event: UTC timestamp" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' \
  "$(mfa_sql "SELECT created_at FROM audit WHERE type = 'fn' AND user_id = $(sql_quote "$F5_USER")")"

# --- No retry ------------------------------------------------------------------------------
sleep "$RETRY_WATCH_S"   # an absence can only be observed over a window
e2e_log "watched $(( $(now_ms) - FAILED_MS )) ms after the failure for a retry"
expect "outbox: still one attempt" 1 "$(outbox_field "$JOB" attempts)"
expect "outbox: still failed" failed "$(outbox_state "$JOB")"
expect "the relay saw exactly one RCPT for the address" 1 "$(( $(smtp_count "recip: $EMAIL") - RCPT_BEFORE ))"
expect "mailer: no mail_retry for the job" 0 "$(log_count mailer mail_retry ".job_id == \"$JOB\"")"
expect "mailer: one mail_failed with smtp_code 550" 1 \
  "$(log_count mailer mail_failed ".job_id == \"$JOB\" and .smtp_code == \"550\"")"
expect "nothing delivered for the rejected message" 2 "$(mail_count_to "$EMAIL")"
expect "still exactly one fn event" 1 "$(audit_count fn "$F5_USER")"
