#!/usr/bin/env bash
# F4 (requirements.md): the SMTP server is down longer than the code lifetime.
# Nothing is delivered for those challenges, their rows end `expired` (the
# mailer's outbox and mfa's mail_jobs), and mfa writes `fn` events.
#
# Code lifetime shortened to 30 s (POSTERN_CODE_TTL_S, the smallest mfa accepts)
# so the test takes ~45 s. The `fn` events are read from mfa.db's audit table with
# the sqlite3 CLI, read-only: there is no logs API yet. When the relay is back, a
# fresh challenge is delivered (proof that the mailer is flowing again) while the
# expired ones stay undelivered.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

export POSTERN_CODE_TTL_S=30
FAULT_USERS=2

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
declare -a EMAILS=() USER_IDS=() MFA_TOKENS=()
for i in $(seq 1 "$FAULT_USERS"); do
  fault_enrol "f4-user$i@example.com" || exit 1
  EMAILS+=("f4-user$i@example.com"); USER_IDS+=("$USER_ID")
done
for i in "${!EMAILS[@]}"; do
  login "${EMAILS[$i]}" || { fail "user $((i + 1)): no mfa_required"; exit 1; }
  MFA_TOKENS+=("$MFA_TOKEN")
done

# --- Fault: relay down through the whole code lifetime ------------------------------------
fault_sink_down
declare -a JOBS=() EXPIRES=()
for i in "${!EMAILS[@]}"; do
  challenge "${MFA_TOKENS[$i]}"
  expect "relay down: challenge $((i + 1)) acknowledged" 200 "$STATUS"
  job=$(latest_job "${USER_IDS[$i]}")
  JOBS+=("$job")
  EXPIRES+=("$(mfa_sql "SELECT c.expires_at FROM challenges c JOIN mail_jobs j ON j.challenge_id = c.id
                        WHERE j.job_id = $(sql_quote "$job")")")
done
e2e_log "codes expire in $(( (EXPIRES[0] - $(now_ms)) / 1000 )) s; the relay stays down until then"

for i in "${!JOBS[@]}"; do
  job=${JOBS[$i]}
  check "job $((i + 1)): outbox row ends expired" wait_until $((POSTERN_CODE_TTL_S + 15)) \
    state_is expired outbox_state "$job"
  # the job carries expires_at in whole seconds (mfa's milliseconds cut down)
  ended_ms=$(outbox_field "$job" updated_at)
  check "job $((i + 1)): ended only when the code expired ($(( ended_ms - EXPIRES[i] )) ms from expiry)" \
    test "$ended_ms" -ge "$(( EXPIRES[i] - 1000 ))" -a "$ended_ms" -le "$(( EXPIRES[i] + 5000 ))"
  expect "job $((i + 1)): outbox detail" "expired before delivery" "$(outbox_field "$job" last_detail)"
  attempts=$(outbox_field "$job" attempts)
  check "job $((i + 1)): the mailer kept trying while the relay was down ($attempts attempts)" \
    test "$attempts" -ge 3
  check "job $((i + 1)): mfa's mail_jobs row ends expired" wait_until 5 state_is expired job_state "$job"
  check "user $((i + 1)): an fn event" wait_until 5 count_ge 1 audit_count fn "${USER_IDS[$i]}"
  expect "user $((i + 1)): exactly one fn event, a failure" 1 \
    "$(audit_count fn "${USER_IDS[$i]}" "AND result = 'failure'")"
  expect "job $((i + 1)): the outbox holds no code any more (bodies wiped)" 1 \
    "$(outbox_field "$job" "subject IS NULL AND text_body IS NULL AND html_body IS NULL")"
done
expect "mailer: one mail_expired per job" "$FAULT_USERS" "$(log_count mailer mail_expired)"

# --- The relay is back -------------------------------------------------------------------
RCPT_USER2_BEFORE=$(smtp_count "recip: ${EMAILS[1]}")
fault_sink ok || { fail "sink did not restart"; exit 1; }
login "${EMAILS[0]}" || fail "after recovery: no mfa_required"
challenge "$MFA_TOKEN"
expect "relay back: a new challenge" 200 "$STATUS"
NEW_OOB=$OOB_CODE
mail=$(wait_mail_to "${EMAILS[0]}" 2 15) || fail "relay back: the new challenge was not delivered"
mfa_oob "$MFA_TOKEN" "$NEW_OOB" "$(mail_field "$mail" code)"
expect "relay back: the new code works" 200 "$STATUS"
check "relay back: new job sent" wait_until 5 state_is sent outbox_state "$(latest_job "${USER_IDS[0]}")"
expect "nothing was ever delivered for the expired challenges (user 1: enrolment + new only)" 2 \
  "$(mail_count_to "${EMAILS[0]}")"
expect "nothing was ever delivered for the expired challenges (user 2: enrolment only)" 1 \
  "$(mail_count_to "${EMAILS[1]}")"
expect "the relay never saw user 2 after it came back" 0 \
  "$(( $(smtp_count "recip: ${EMAILS[1]}") - RCPT_USER2_BEFORE ))"
for i in "${!JOBS[@]}"; do
  expect "job $((i + 1)): still expired" expired "$(outbox_state "${JOBS[$i]}")"
done
