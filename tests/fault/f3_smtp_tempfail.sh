#!/usr/bin/env bash
# F3 (requirements.md): the SMTP server answers 4xx for a while. The mail is
# delivered after it recovers, exactly once, and its code works.
#
# Scaled down: the spec's window is "421/451 for 60 s"; here the sink answers 451
# (smtp_sink.py's tempfail-451 mode has no 421) to every message for
# FAIL_WINDOW_S = 10 s, so the test takes ~20 s instead of ~80 s. The code
# lifetime stays at its default of 300 s, far longer than the window, as in the
# spec. With the mailer's backoff (1 s doubling, ±20%) the attempts fall at about
# 0, 1, 3, 7 and 15 s: the first four inside the window, the fifth after it.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

FAIL_WINDOW_S=10
export POSTERN_CODE_TTL_S=300
FAULT_USERS=3

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1

declare -a EMAILS=() USER_IDS=()
for i in $(seq 1 "$FAULT_USERS"); do
  fault_enrol "f3-user$i@example.com" || exit 1
  EMAILS+=("f3-user$i@example.com"); USER_IDS+=("$USER_ID")
done
declare -a MFA_TOKENS=()
for i in "${!EMAILS[@]}"; do
  login "${EMAILS[$i]}" || { fail "user $((i + 1)): no mfa_required"; exit 1; }
  MFA_TOKENS+=("$MFA_TOKEN")
done

# --- Fault: 451 for every message during the window -----------------------------------
DATA_BEFORE=$(smtp_count ">> b'DATA'")
fault_sink tempfail-451 --fail-seconds "$FAIL_WINDOW_S" || { fail "sink did not start"; exit 1; }
WINDOW_END_MS=$((SINK_STARTED_MS + FAIL_WINDOW_S * 1000))
declare -a OOB_CODES=() JOBS=()
for i in "${!EMAILS[@]}"; do
  challenge "${MFA_TOKENS[$i]}"
  expect "during the 451 window: challenge $((i + 1)) answered as usual" 200 "$STATUS"
  OOB_CODES+=("$OOB_CODE")
  JOBS+=("$(latest_job "${USER_IDS[$i]}")")
done

for i in "${!EMAILS[@]}"; do
  mail=$(wait_mail_to "${EMAILS[$i]}" 2 40) || { fail "user $((i + 1)): not delivered after the window"; continue; }
  arrived_ms=$(mtime_ms "$mail")
  check "user $((i + 1)): delivered after the window ended ($(( arrived_ms - WINDOW_END_MS )) ms after)" \
    test "$arrived_ms" -ge "$WINDOW_END_MS"
  code=$(mail_field "$mail" code)
  mfa_oob "${MFA_TOKENS[$i]}" "${OOB_CODES[$i]}" "$code"
  expect "user $((i + 1)): the delivered code completes the mfa-oob grant" 200 "$STATUS"
done

for i in "${!JOBS[@]}"; do
  job=${JOBS[$i]}
  check "job $((i + 1)): outbox row sent" wait_until 5 state_is sent outbox_state "$job"
  attempts=$(outbox_field "$job" attempts)
  check "job $((i + 1)): refused at least twice before it went through ($attempts attempts)" \
    test "$attempts" -ge 3
  retries=$(log_count mailer mail_retry ".job_id == \"$job\"")
  expect "job $((i + 1)): one mail_retry per refused attempt" $((attempts - 1)) "$retries"
  expect "job $((i + 1)): every retry was for a 451" "$retries" \
    "$(log_count mailer mail_retry ".job_id == \"$job\" and .smtp_code == \"451\"")"
  check "job $((i + 1)): mfa recorded it sent" wait_until 5 state_is sent job_state "$job"
  expect "job $((i + 1)): no failure (fn) event" 0 "$(audit_count fn "${USER_IDS[$i]}")"
done

# Exactly once: every job is 'sent' now (a sent row is never claimed again); the
# sink must hold exactly one new message per user, and have seen one DATA per attempt
for i in "${!EMAILS[@]}"; do
  expect "user $((i + 1)): exactly one copy of the new code" 2 "$(mail_count_to "${EMAILS[$i]}")"
done
total_attempts=0
for job in "${JOBS[@]}"; do total_attempts=$((total_attempts + $(outbox_field "$job" attempts))); done
expect "the relay saw one DATA per attempt, no more" "$total_attempts" \
  "$(( $(smtp_count ">> b'DATA'") - DATA_BEFORE ))"
