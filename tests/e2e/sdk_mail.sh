#!/usr/bin/env bash
# Mail as data through Auth0's official Node.js SDKs against the real suite
# (tests/e2e/sdk/provider.mjs, then mail.mjs): the `auth0` ManagementClient
# configures, reads and updates the email provider (the next mail goes through
# it, From its address), then sets, reads, patches the mfa_oob_code template
# (and sees a bad one refused), and the mail of the next sign-in, as the SMTP
# server received it, is the customised one.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

SDK_DIR=$POSTERN_SOURCE_DIR/tests/e2e/sdk
if [[ ! -d $SDK_DIR/node_modules/auth0 || ! -d $SDK_DIR/node_modules/@auth0/auth0-auth-js ]]; then
  fail "the SDKs are not installed: run scripts/install-deps.sh (npm ci in $SDK_DIR)"
  exit 1
fi
e2e_start || { fail "stack did not start"; exit 1; }

for script in provider mail; do
  OUTPUT=$E2E_WORK/sdk-$script.out
  POSTERN_BOOTSTRAP=$POSTERN_DATA_DIR/bootstrap.json MAIL_DIR=$MAIL_DIR SMTP_PORT=$SMTP_PORT \
    NODE_EXTRA_CA_CERTS=$CA timeout 120 node "$SDK_DIR/$script.mjs" >"$OUTPUT" 2>&1
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
