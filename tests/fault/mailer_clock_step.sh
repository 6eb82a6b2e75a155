#!/usr/bin/env bash
# The mailer's wall clock is stepped back an hour (an NTP step after a VM resumes,
# an operator's `date -s`) while it sits idle. mfa forgets a mailer it has not
# heard from for 3 s (MFA_JOBS_MAILER_TIMEOUT_MS), so the mailer's 1 s heartbeat
# must keep going on the monotonic clock: a heartbeat timed on the wall clock
# would next be due an hour later, and every challenge would get 503 meanwhile.
#
# The step is real for the mailer alone: it runs under libfaketime, which reads
# its offset from a file again once a second (FAKETIME_CACHE_DURATION; re-reading
# it on every call from several threads is known to hang under ASan), with the
# monotonic clock left alone, as the kernel leaves it when the wall clock is set.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[[ -r $FAKETIME_LIB ]] || { fail "libfaketime is not installed (scripts/install-deps.sh installs it)"; exit 1; }

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1

# The mailer again, under libfaketime with no offset yet. A sanitized mailer's
# runtime must come first among the libraries; libfaketime only wraps the clock
# calls, so the order check is turned off for this process alone.
OFFSET_FILE=$E2E_WORK/mailer-faketime
echo "+0" >"$OFFSET_FILE"
fault_stop mailer
e2e_run mailer env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$OFFSET_FILE" \
  FAKETIME_CACHE_DURATION=1 DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  "$POSTERN_BINARY_DIR/mailer/postern-mailer"

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
