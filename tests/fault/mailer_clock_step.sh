#!/usr/bin/env bash
# The mailer's wall clock is stepped back an hour (an NTP step after a VM resumes,
# an operator's `date -s`) while it sits idle. mfa forgets a mailer it has not
# heard from for 3 s (MFA_JOBS_MAILER_TIMEOUT_MS), so the mailer's 1 s heartbeat
# must keep going on the monotonic clock: a heartbeat timed on the wall clock
# would next be due an hour later, and every challenge would get 503 meanwhile.
#
# The step is real for the mailer alone: it runs under libfaketime (fault_lib.sh's
# faketime_env says how and why it is set up that way).
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1

# The mailer again, under libfaketime with no offset yet.
OFFSET_FILE=$E2E_WORK/mailer-faketime
faketime_env "$OFFSET_FILE" || exit 1
fault_stop mailer
e2e_run mailer "${FAKETIME_ENV[@]}" "$POSTERN_BINARY_DIR/mailer/postern-mailer"

fault_enrol "clock-step@example.com" || exit 1
login "clock-step@example.com" || { fail "no mfa_required"; exit 1; }
challenge "$MFA_TOKEN"
expect "before the step: a challenge is answered" 200 "$STATUS"
wait_mail_to "clock-step@example.com" 2 10 >/dev/null || fail "before the step: its mail did not arrive"

# --- Fault: the mailer's wall clock goes back an hour --------------------------------
# mfa has forgotten the first mailer, stopped above (3 s of silence, or a send that failed)
wait_until 5 count_ge 1 log_count mfa mailer_lost || fail "mfa never forgot the stopped mailer"
LOST_BEFORE=$(log_count mfa mailer_lost)
echo "-1h" >"$OFFSET_FILE"
# Idle for more than mfa's 3 s: only the heartbeat tells mfa the mailer is there
sleep 6
check "the mailer is still running" kill -0 "${E2E_PIDS[mailer]}"
expect "mfa did not lose the mailer after the step" "$LOST_BEFORE" "$(log_count mfa mailer_lost)"

login "clock-step@example.com" || { fail "after the step: no mfa_required"; exit 1; }
challenge "$MFA_TOKEN"
expect "after the step: a challenge is answered" 200 "$STATUS"
mail=$(wait_mail_to "clock-step@example.com" 3 10) || { fail "after the step: its mail did not arrive"; exit 1; }
code=$(mail_field "$mail" code)
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$code"
expect "after the step: the mailed code completes the mfa-oob grant" 200 "$STATUS"
# The step is real: what the mailer logged after it is stamped about an hour back
last_ts=$(log_events mailer mail_accepted | tail -1 | jq -r '.ts')
behind_ms=$(( $(now_ms) - $(ts_ms "$last_ts") ))
check "the mailer's clock was stepped back (its last mail_accepted is $behind_ms ms behind)" \
  test "$behind_ms" -gt 3000000
