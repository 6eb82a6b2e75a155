#!/usr/bin/env bash
# F2 (requirements.md): mailer SIGKILL with accepted jobs queued. After a restart
# every job is delivered within the code lifetime, and the code then works with
# the mfa-oob grant.
#
# How: the relay is down (connection refused), so every job a challenge hands the
# mailer is committed to its outbox and waits for a retry. Right after the last
# challenge is acknowledged the mailer is SIGKILLed, the relay comes back, the
# mailer is restarted from the same outbox. The challenges are the enrolment
# challenges of FAULT_USERS users (each user's code lives on its own: a second
# challenge for the same authenticator would supersede the first, S7).
# Code lifetime shortened to 60 s (POSTERN_CODE_TTL_S) so "within the lifetime"
# is a tight bound.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

FAULT_USERS=6
export POSTERN_CODE_TTL_S=60

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1

declare -a EMAILS=() USER_IDS=() MFA_TOKENS=() OOB_CODES=()
for i in $(seq 1 "$FAULT_USERS"); do
  email="f2-user$i@example.com"
  fault_user "$email" || exit 1
  login "$email" || { fail "user $i: password grant did not ask for MFA ($STATUS)"; exit 1; }
  EMAILS+=("$email"); USER_IDS+=("$USER_ID"); MFA_TOKENS+=("$MFA_TOKEN")
done

# --- Fault: relay down, jobs accepted, mailer killed --------------------------------
fault_sink_down
for i in "${!EMAILS[@]}"; do
  associate "${MFA_TOKENS[$i]}"
  expect "relay down: challenge (association) $((i + 1)) acknowledged" 200 "$STATUS"
  OOB_CODES+=("$OOB_CODE")
done
fault_stop mailer KILL
KILLED_MS=$(now_ms)

declare -a JOBS=()
for i in "${!EMAILS[@]}"; do JOBS+=("$(latest_job "${USER_IDS[$i]}")"); done
unfinished=0 mid_delivery=0
for job in "${JOBS[@]}"; do
  state=$(outbox_state "$job")
  [[ $state == pending || $state == sending ]] && unfinished=$((unfinished + 1))
  [[ $state == sending ]] && mid_delivery=$((mid_delivery + 1))
done
expect "at the kill: every acknowledged job is in the outbox, undelivered" "$FAULT_USERS" "$unfinished"
expect "at the kill: nothing reached an SMTP server" 0 "$(mail_count)"
check "at the kill: the mailer had tried and was waiting to retry" \
  test "$(log_count mailer mail_retry)" -ge 1

# --- Recovery ---------------------------------------------------------------------------
fault_sink ok || { fail "sink did not restart"; exit 1; }
fault_restart mailer
# A row the kill caught mid-attempt ('sending') is recovered at start and says so;
# whether any was depends on where in its retry backoff each job was at the kill
if ((mid_delivery > 0)); then
  check "restarted mailer: the $mid_delivery row(s) caught mid-delivery recovered (mail_recovered)" \
    wait_until 10 count_ge 1 log_count mailer mail_recovered
else
  pass "no row was mid-delivery at the kill: nothing to recover, all $unfinished waiting to retry"
fi

for i in "${!EMAILS[@]}"; do
  email=${EMAILS[$i]}
  mail=$(wait_mail_to "$email" 1 20) || { fail "user $((i + 1)): no email after the restart"; continue; }
  expires_ms=$(mfa_sql "SELECT c.expires_at FROM challenges c JOIN mail_jobs j ON j.challenge_id = c.id
                        WHERE j.job_id = $(sql_quote "${JOBS[$i]}")")
  arrived_ms=$(mtime_ms "$mail")
  check "user $((i + 1)): delivered before the code expired ($(( (expires_ms - arrived_ms) / 1000 )) s to spare)" \
    test "$arrived_ms" -lt "$expires_ms"
  code=$(mail_field "$mail" code)
  mfa_oob "${MFA_TOKENS[$i]}" "${OOB_CODES[$i]}" "$code"
  expect "user $((i + 1)): the delivered code completes the mfa-oob grant" 200 "$STATUS"
done
e2e_log "all delivered $(( $(now_ms) - KILLED_MS )) ms after the kill"

for i in "${!JOBS[@]}"; do
  check "job $((i + 1)): outbox row sent" wait_until 5 state_is sent outbox_state "${JOBS[$i]}"
  check "job $((i + 1)): mfa recorded it sent" wait_until 5 state_is sent job_state "${JOBS[$i]}"
done
for i in "${!EMAILS[@]}"; do
  expect "user $((i + 1)): exactly one copy" 1 "$(mail_count_to "${EMAILS[$i]}")"
done
expect "the relay saw one transaction per job" "$FAULT_USERS" "$(smtp_count ">> b'DATA'")"
check "mailer outbox passes integrity_check" integrity_ok "$POSTERN_DATA_DIR/mailer-outbox.db"
