#!/usr/bin/env bash
# A second authenticator with Auth0's official Node.js SDKs, unchanged, against
# the real four processes (tests/e2e/sdk/second.mjs): email enrolled in a
# sign-in, an access token for the MFA API after MFA, an otp authenticator
# enrolled with it and confirmed by a code computed from its secret, each
# challenged by authenticator_id, the otp one deleted by the user and the email
# one by the Management API's Guardian enrollments.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

SDK_DIR=$POSTERN_SOURCE_DIR/tests/e2e/sdk
if [[ ! -d $SDK_DIR/node_modules/auth0 || ! -d $SDK_DIR/node_modules/@auth0/auth0-auth-js ]]; then
  fail "the SDKs are not installed: run scripts/install-deps.sh (npm ci in $SDK_DIR)"
  exit 1
fi
e2e_start || { fail "stack did not start"; exit 1; }

OUTPUT=$E2E_WORK/sdk-second.out
POSTERN_BOOTSTRAP=$POSTERN_DATA_DIR/bootstrap.json MAIL_DIR=$MAIL_DIR NODE_EXTRA_CA_CERTS=$CA \
  timeout 180 node "$SDK_DIR/second.mjs" >"$OUTPUT" 2>&1
STATUS=$?
while IFS= read -r line; do
  case $line in
    "ok   "*) pass "sdk second: ${line#ok   }" ;;
    "FAIL "*) fail "sdk second: ${line#FAIL }" ;;
    *) e2e_log "     $line" ;;
  esac
done <"$OUTPUT"
check "sdk second: ran to its end (exit status $STATUS)" test "$STATUS" = 0
