#!/usr/bin/env bash
# The host's wall clock is stepped back an hour and then forward again (an NTP
# step after a VM resumes, an operator's `date -s`), in the middle of sign-ins,
# under all four services of a one-host deployment. What is timed inside a
# process (bus deadlines, mfa's watch on its mailers, waits for the mailer's
# answer, the audit writers' pauses) runs on the monotonic clock and must not
# notice; what is stored and shared (the expiry of an mfa_token and of a
# challenge) stays on the wall clock, as every instance must read it alike: a
# step back lengthens what is open, a step forward ends it, and an ended one gets
# its clear error, never a 5xx or a hang.
#
# Every service takes the step at once because they share the host's clock. The
# bus deadline (`dl`) is Unix ms, so hosts whose clocks differ by more than a
# request's time budget drop each other's requests as expired
# (docs/protocol.md); that is a deployment's NTP to keep, not this test's case.
#
# The step is real: the services run under libfaketime with one offset file
# (fault_lib.sh's faketime_env says how and why it is set up that way).
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1

OFFSET_FILE=$E2E_WORK/services-faketime
faketime_env "$OFFSET_FILE" || exit 1

# The four services again, on the same endpoints and data, under libfaketime
JOINED_BEFORE=$(log_count mfa mailer_joined)
for name in gateway mailer authn mfa; do fault_stop "$name"; done
e2e_run mfa "${FAKETIME_ENV[@]}" POSTERN_MFA_BIND="${MFA_BINDS[0]}" \
  POSTERN_MFA_JOBS_BIND="${JOBS_BINDS[0]}" "$POSTERN_BINARY_DIR/mfa/postern-mfa"
e2e_run authn "${FAKETIME_ENV[@]}" POSTERN_AUTHN_BIND="${AUTHN_BINDS[0]}" \
  "$POSTERN_BINARY_DIR/authn/postern-authn"
e2e_run mailer "${FAKETIME_ENV[@]}" "$POSTERN_BINARY_DIR/mailer/postern-mailer"
e2e_run gateway "${FAKETIME_ENV[@]}" "$POSTERN_BINARY_DIR/gateway/postern-gateway"
e2e_wait_port "$HTTPS_PORT" || { fail "the gateway did not come back"; exit 1; }
# the gateway serves the JWKS once it has fetched authn's keys, which it needs
# to check the Management API token
jwks_served() { api GET /.well-known/jwks.json; [[ $STATUS == 200 ]]; }
wait_until 10 jwks_served || { fail "the gateway has no signing keys from authn"; exit 1; }
wait_until 10 count_ge $((JOINED_BEFORE + 1)) log_count mfa mailer_joined \
  || { fail "the mailer did not join the new mfa"; exit 1; }

USER_EMAIL=clock-step-services@example.com
fault_enrol "$USER_EMAIL" || exit 1
mails=1

# set_offset OFFSET: the new offset, and long enough for libfaketime to read it
set_offset() { echo "$1" >"$OFFSET_FILE"; sleep 2.5; }

# signin: a sign-in up to the mailed code; sets MFA_TOKEN, OOB_CODE and CODE
signin() {
  login "$USER_EMAIL" || { fail "$1: no mfa_required ($STATUS $BODY)"; return 1; }
  challenge "$MFA_TOKEN"
  expect "$1: the challenge is answered" 200 "$STATUS"
  [[ $STATUS == 200 ]] || return 1
  mails=$((mails + 1))
  local mail
  mail=$(wait_mail_to "$USER_EMAIL" "$mails" 10) || { fail "$1: its mail did not arrive"; return 1; }
  CODE=$(mail_field "$mail" code)
}

# the newest challenge's created_at, as mfa's clock had it
last_challenge_ms() { mfa_sql "SELECT created_at FROM challenges ORDER BY id DESC LIMIT 1"; }

# --- Before the step: a sign-in left open at its mailed code ------------------------
signin "before the step" || exit 1
OPEN_TOKEN=$MFA_TOKEN OPEN_OOB=$OOB_CODE OPEN_CODE=$CODE
behind_ms=$(( $(now_ms) - $(last_challenge_ms) ))
check "before the step: mfa's clock is the real one ($behind_ms ms behind)" \
  test "$behind_ms" -lt 60000

# --- Fault: the host's wall clock goes back an hour ---------------------------------
LOST_BEFORE=$(log_count mfa mailer_lost)
set_offset "-1h"
# Idle for more than mfa's 3 s watch on its mailers (MFA_JOBS_MAILER_TIMEOUT_MS)
sleep 4
for name in gateway authn mfa mailer; do
  check "$name is still running" kill -0 "${E2E_PIDS[$name]}"
done
expect "mfa did not lose the mailer after the step back" "$LOST_BEFORE" "$(log_count mfa mailer_lost)"

# The sign-in opened before the step is still open (its expiry is further off now)
mfa_oob "$OPEN_TOKEN" "$OPEN_OOB" "$OPEN_CODE"
expect "after the step back: the code mailed before it completes the mfa-oob grant" 200 "$STATUS"
ACCESS_TOKEN=$(json '.access_token // empty')
check "after the step back: an access token came with it" test -n "$ACCESS_TOKEN"

signin "after the step back" || exit 1
behind_ms=$(( $(now_ms) - $(last_challenge_ms) ))
check "the step back is real: mfa stamped the challenge $behind_ms ms behind" \
  test "$behind_ms" -gt 3000000
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "after the step back: a whole sign-in gets its tokens" 200 "$STATUS"
# a wrong password is logged by authn, with authn's clock
api POST /oauth/token --data grant_type=password --data-urlencode "username=$USER_EMAIL" \
  --data-urlencode "password=not the password" \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
expect "after the step back: a wrong password is refused" 403 "$STATUS"
last_ts=$(log_events authn login_failed | tail -1 | jq -r '.ts')
behind_ms=$(( $(now_ms) - $(ts_ms "$last_ts") ))
check "the step back is real: authn logged the refusal $behind_ms ms behind" \
  test "$behind_ms" -gt 3000000

# A sign-in left open at its mailed code, an hour behind the real time
signin "before the step forward" || exit 1
STALE_TOKEN=$MFA_TOKEN STALE_OOB=$OOB_CODE STALE_CODE=$CODE

# --- Fault: the clock comes forward an hour again ------------------------------------
set_offset "+0"
sleep 1
expect "mfa did not lose the mailer after the step forward" "$LOST_BEFORE" "$(log_count mfa mailer_lost)"
# That mfa_token's 10 minutes ended 50 minutes ago by the new clock: a clear
# refusal, the same one a token that simply ran out gets
mfa_oob "$STALE_TOKEN" "$STALE_OOB" "$STALE_CODE"
expect "after the step forward: the mfa_token opened before it has expired" 403 "$STATUS"
expect "after the step forward: ... with the contract's error" expired_token "$(json .error)"
challenge "$STALE_TOKEN"
expect "after the step forward: a challenge on it is refused too" 403 "$STATUS"
expect "after the step forward: ... with the contract's error" expired_token "$(json .error)"

signin "after the step forward" || exit 1
behind_ms=$(( $(now_ms) - $(last_challenge_ms) ))
check "after the step forward: mfa's clock is the real one again ($behind_ms ms behind)" \
  test "$behind_ms" -lt 60000
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "after the step forward: a whole sign-in gets its tokens" 200 "$STATUS"
