#!/usr/bin/env bash
# Auth0's official Node.js SDKs against the real suite: the same application code
# a team runs against Auth0, with only the domain changed (tests/e2e/sdk/flow.mjs),
# and openid-client, a certified OpenID Connect relying party, validating
# id_tokens and calling /userinfo across a key rotation (tests/e2e/sdk/oidc.mjs);
# then an otp authenticator enrolled and verified with the SDK (tests/e2e/sdk/otp.mjs).
# The packages come from npm (scripts/install-deps.sh runs `npm ci` in tests/e2e/sdk).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

SDK_DIR=$POSTERN_SOURCE_DIR/tests/e2e/sdk
if [[ ! -d $SDK_DIR/node_modules/auth0 || ! -d $SDK_DIR/node_modules/@auth0/auth0-auth-js
      || ! -d $SDK_DIR/node_modules/openid-client ]]; then
  fail "the SDKs are not installed: run scripts/install-deps.sh (npm ci in $SDK_DIR)"
  exit 1
fi
e2e_start || { fail "stack did not start"; exit 1; }

# oidc.mjs first: it signs in without a second factor, which flow.mjs then turns on
for script in oidc flow otp; do
  OUTPUT=$E2E_WORK/sdk-$script.out
  POSTERN_BOOTSTRAP=$POSTERN_DATA_DIR/bootstrap.json MAIL_DIR=$MAIL_DIR NODE_EXTRA_CA_CERTS=$CA \
    timeout 120 node "$SDK_DIR/$script.mjs" >"$OUTPUT" 2>&1
  STATUS=$?
  while IFS= read -r line; do
    case $line in
      "ok   "*) pass "sdk $script: ${line#ok   }" ;;
      "FAIL "*) fail "sdk $script: ${line#FAIL }" ;;
      *) e2e_log "     $line" ;;
    esac
  done <"$OUTPUT"
  check "sdk $script: ran to its end (exit status $STATUS)" test "$STATUS" = 0
done
