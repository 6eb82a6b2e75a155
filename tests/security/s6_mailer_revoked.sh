#!/usr/bin/env bash
# A mailer with its own key (mailer-2), admitted, mails a sign-in's code; its
# key is then revoked as docs/security.md says (the public key removed from
# mfa's keys directory, mfa restarted): it gets no more jobs, a challenge with
# no admitted mailer is 503, and a mailer still admitted takes over.
source "$(dirname "${BASH_SOURCE[0]}")/security_lib.sh"
trap 'fault_finish' EXIT

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
KEYS=${POSTERN_KEYS_DIR:-$POSTERN_DATA_DIR/keys}
OUTBOX2=$E2E_WORK/mailer-2-outbox.db

# restart_mfa: mfa again, with the keys directory as it is now
restart_mfa() {
  local before
  before=$(log_count mfa mfa_ready)
  fault_stop mfa TERM
  fault_restart mfa
  wait_until 10 count_ge $((before + 1)) log_count mfa mfa_ready
}

# mailer2_jobs: jobs in mailer-2's outbox
mailer2_jobs() { db_query "$OUTBOX2" 'SELECT count(*) FROM outbox' 2>/dev/null || echo 0; }

# --- A second mailer, with a key of its own, admitted ----------------------------
"$POSTERN_BINARY_DIR/tools/postern-keys" mailer-2 >/dev/null 2>&1
check "mailer-2's key pair made" test -f "$KEYS/mailer-2.key_secret"
check "mfa restarted with mailer-2's key" restart_mfa
fault_stop mailer TERM
e2e_run mailer2 env POSTERN_KEY_NAME=mailer-2 POSTERN_MAILER_OUTBOX="$OUTBOX2" \
  "$POSTERN_BINARY_DIR/mailer/postern-mailer"
check "mailer-2 connected (mfa heard from it)" wait_until 10 count_ge 1 log_count mailer2 service_started
fault_enrol s6-first@example.com || exit 1
expect "mailer-2 mailed the enrolment code" 1 "$(mailer2_jobs)"

# --- Revoked: the public key goes, mfa restarts ------------------------------------
rm -f "$KEYS/mailer-2.key"
check "mfa restarted without mailer-2's key" restart_mfa
fault_user s6-second@example.com || exit 1
login s6-second@example.com || fail "password grant ($STATUS)"
associate "$MFA_TOKEN"
expect "no admitted mailer: the association answers 503" 503 "$STATUS"
expect "mailer-2 received no job after its revocation" 1 "$(mailer2_jobs)"
check "mailer-2 still runs (it is refused, not crashed)" kill -0 "${E2E_PIDS[mailer2]}"

# --- A mailer still admitted takes over -------------------------------------------
fault_restart mailer
check "the first mailer is back" wait_until 10 count_ge 2 log_count mailer service_started
login s6-second@example.com || fail "password grant again ($STATUS)"
before=$(mail_count_to s6-second@example.com)
associate "$MFA_TOKEN"
expect "with an admitted mailer the association succeeds" 200 "$STATUS"
mail=$(wait_mail_to s6-second@example.com $((before + 1)) 15) || fail "no email from the first mailer"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$(mail_field "$mail" code)"
expect "its code completes the enrolment" 200 "$STATUS"
expect "mailer-2 still has only its first job" 1 "$(mailer2_jobs)"
