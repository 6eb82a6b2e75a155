#!/usr/bin/env bash
# Issue 9's local attacker, against the real four processes: the bus answers no
# one without a known key (CURVE, pst_auth), a known key only for what its role
# may call (the catalogue's callers), and a mailer's key neither of those, while
# the real flow goes on. bus_probe (this folder) is the attacking peer.
#
#   1. no key (ZeroMQ's NULL mechanism) and a key nobody knows, as root and as
#      an unprivileged user: clients.create and client_grants.create to authn,
#      mfa.begin to mfa, mail.check and a mailer's credit to mfa's jobs socket:
#      no answer, no job
#   2. a stolen mailer key: nothing of authn or mfa's API; a stolen gateway key:
#      not mfa.begin, which only authn may send
#   3. a rogue mailer gets no job while the real one mails the user's code
#   4. the positive controls: the same probe with the right key is answered
source "$(dirname "${BASH_SOURCE[0]}")/security_lib.sh"
trap 'fault_finish' EXIT

PROBE=$POSTERN_BINARY_DIR/tests/security/bus_probe
fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol s4-user@example.com || exit 1
KEYS=${POSTERN_KEYS_DIR:-$POSTERN_DATA_DIR/keys}
AUTHN=$POSTERN_AUTHN_ENDPOINT MFA=$POSTERN_MFA_ENDPOINT JOBS=$POSTERN_MFA_JOBS_ENDPOINT
probe() { "$PROBE" "$@" --keys "$KEYS"; }

MINT_CLIENT='{"data":{"name":"backdoor","grant_types":["client_credentials"]}}'
MINT_GRANT='{"data":{"client_id":"x","audience":"https://'$DOMAIN'/api/v2/","scope":["create:clients"]}}'
BEGIN='{"user_id":"'$USER_ID'","email":"s4-user@example.com","client_id":"'$CLIENT_ID'","audience":"https://'$DOMAIN'/api/v2/","scope":"create:clients"}'
ADMIN=(--caller attacker@clients --scopes "create:clients create:client_grants")

# --- 4. Positive controls: the probe speaks the protocol ------------------------------------
expect "control: the gateway's key gets JWKS from authn" "reply ok" \
  "$(probe "$AUTHN" --as gateway --server authn --op keys.jwks)"
expect "control: authn's key gets an answer to mfa.begin" "reply ok" \
  "$(probe "$MFA" --as authn --server mfa --op mfa.begin --body "$BEGIN")"
expect "control: a mailer's key gets mail.check answered" "reply invalid_request" \
  "$(probe "$JOBS" --as mailer --server mfa --op mail.check)"

# --- 1. No key, an unknown key: as root -------------------------------------------------
for who in --plain --stranger; do
  expect "root $who: clients.create to authn unanswered" silent \
    "$(probe "$AUTHN" $who --server authn --op clients.create --body "$MINT_CLIENT" "${ADMIN[@]}")"
  expect "root $who: client_grants.create to authn unanswered" silent \
    "$(probe "$AUTHN" $who --server authn --op client_grants.create --body "$MINT_GRANT" "${ADMIN[@]}")"
  expect "root $who: mfa.begin to mfa unanswered" silent \
    "$(probe "$MFA" $who --server mfa --op mfa.begin --body "$BEGIN")"
  expect "root $who: mail.check to the jobs socket unanswered" silent \
    "$(probe "$JOBS" $who --server mfa --op mail.check --body '{"job_id":"x"}')"
  expect "root $who: a mailer's credit gets no job" silent \
    "$(probe "$JOBS" $who --server mfa --mailer --wait-ms 1500)"
done

# --- 1. ... and as an unprivileged user (the server keys are public: copied) ------------------
PUBLIC=$(mktemp -d)
cp "$KEYS"/authn.key "$KEYS"/mfa.key "$PUBLIC"/
chmod 755 "$PUBLIC"; chmod 644 "$PUBLIC"/*
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$PROBE" "$@" --keys "$PUBLIC"; }
if as_nobody "$AUTHN" --plain --op keys.jwks --wait-ms 10 >/dev/null 2>&1; then
  for who in --plain --stranger; do
    expect "nobody $who: clients.create to authn unanswered" silent \
      "$(as_nobody "$AUTHN" $who --server authn --op clients.create --body "$MINT_CLIENT" "${ADMIN[@]}")"
    expect "nobody $who: mfa.begin to mfa unanswered" silent \
      "$(as_nobody "$MFA" $who --server mfa --op mfa.begin --body "$BEGIN")"
    expect "nobody $who: a mailer's credit gets no job" silent \
      "$(as_nobody "$JOBS" $who --server mfa --mailer --wait-ms 1500)"
  done
else
  fail "setpriv could not run the probe as nobody (is $PROBE readable by others?)"
fi
rm -rf "$PUBLIC"

# --- 2. Stolen keys of the wrong role --------------------------------------------------
expect "mailer's key: clients.create to authn unanswered" silent \
  "$(probe "$AUTHN" --as mailer --server authn --op clients.create --body "$MINT_CLIENT" "${ADMIN[@]}")"
expect "mailer's key: mfa.begin to mfa unanswered" silent \
  "$(probe "$MFA" --as mailer --server mfa --op mfa.begin --body "$BEGIN")"
expect "mailer's key: factors.update to mfa unanswered" silent \
  "$(probe "$MFA" --as mailer --server mfa --op factors.update \
     --body '{"id":"email","data":{"enabled":false}}' --caller a@clients --scopes update:guardian_factors)"
expect "gateway's key: mfa.begin (authn's alone) unanswered" silent \
  "$(probe "$MFA" --as gateway --server mfa --op mfa.begin --body "$BEGIN")"
expect "gateway's key: a mailer's credit on the jobs socket gets no job" silent \
  "$(probe "$JOBS" --as gateway --server mfa --mailer --wait-ms 1500)"
check "authn logged the mailer it refused" wait_until 5 count_ge 1 log_count authn bus_sender_refused \
  '.caller == "mailer"'
check "mfa logged the mailer it refused (twice)" wait_until 5 count_ge 2 log_count mfa bus_sender_refused \
  '.service == "mfa" and .caller == "mailer"'
check "mfa logged the gateway's mfa.begin it refused" wait_until 5 count_ge 1 log_count mfa \
  bus_caller_refused '.op == "mfa.begin" and .caller == "gateway"'
check "mfa's jobs socket logged the gateway it refused" wait_until 5 count_ge 1 log_count mfa \
  bus_sender_refused '.service == "mfa-jobs" and .caller == "gateway"'

# --- 3. A rogue mailer waits for jobs while a real challenge is mailed --------------------
ROGUE=$E2E_WORK/rogue.out
probe "$JOBS" --stranger --server mfa --mailer --wait-ms 6000 >"$ROGUE" &
rogue_pid=$!
sleep 0.5
before=$(mail_count_to s4-user@example.com)
login s4-user@example.com || fail "sign-in during the rogue mailer ($STATUS)"
challenge "$MFA_TOKEN"
expect "challenge while the rogue mailer waits" 200 "$STATUS"
mail=$(wait_mail_to s4-user@example.com $((before + 1)) 10) || fail "the real mailer sent no email"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$(mail_field "$mail" code)"
expect "the mailed code completes the sign-in" 200 "$STATUS"
wait "$rogue_pid"
expect "the rogue mailer received no job" silent "$(cat "$ROGUE")"

# --- Nothing of the attacks took hold ------------------------------------------------
api GET /api/v2/clients -H "authorization: Bearer $MGMT_TOKEN"
expect "no backdoor client exists" 0 "$(json '[.[] | select(.name == "backdoor")] | length')"
api GET /api/v2/guardian/factors -H "authorization: Bearer $MGMT_TOKEN"
expect "the email factor is still on" true "$(json '.[] | select(.name == "email") | .enabled')"
