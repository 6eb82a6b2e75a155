#!/usr/bin/env bash
# Killing any one service makes the gateway answer 503 within its deadline instead
# of hanging; restarting that service restores service without restarting the
# gateway. Restarting the gateway needs nothing else restarted.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

export POSTERN_BUS_TIMEOUT_MS=1500
DEADLINE_MS=1500
MARGIN_MS=1500

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json

management_token() {
  api POST /oauth/token --data grant_type=client_credentials \
    --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
    --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
    --data-urlencode "audience=https://$DOMAIN/api/v2/"
}

now_ms() { date +%s%3N; }

# timed CMD...: runs CMD, sets ELAPSED_MS
timed() {
  local start
  start=$(now_ms)
  "$@"
  ELAPSED_MS=$(( $(now_ms) - start ))
}

# Authentication API errors carry the code in `error`, Management API errors in
# `errorCode` (contract §0).
expect_fast_503() {
  local what=$1
  expect "$what: status" 503 "$STATUS"
  expect "$what: error code" temporarily_unavailable "$(json '.errorCode // .error')"
  if (( ELAPSED_MS <= DEADLINE_MS + MARGIN_MS )); then
    pass "$what: answered in ${ELAPSED_MS} ms (deadline ${DEADLINE_MS} ms)"
  else
    fail "$what: took ${ELAPSED_MS} ms"
  fi
}

# wait_ok CMD...: retries CMD until STATUS is 2xx (services reconnect in the background)
wait_ok() {
  local tries=50
  while ((tries-- > 0)); do
    "$@"
    [[ $STATUS == 2* ]] && return 0
    sleep 0.2
  done
  return 1
}

management_token
expect "baseline: management token" 200 "$STATUS"
TOKEN=$(json .access_token)
factors() { api GET /api/v2/guardian/factors -H "authorization: Bearer $TOKEN"; }
factors
expect "baseline: factors (mfa)" 200 "$STATUS"
api PUT /api/v2/guardian/factors/email -H "authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' --data '{"enabled":true}'
expect "baseline: enable email" 200 "$STATUS"

# --- authn ---------------------------------------------------------------------
e2e_kill authn KILL
timed management_token
expect_fast_503 "authn killed: /oauth/token"
e2e_restart authn
check "authn restarted: /oauth/token works again, gateway untouched" wait_ok management_token

# --- mfa -----------------------------------------------------------------------
e2e_kill mfa KILL
timed factors
expect_fast_503 "mfa killed: guardian factors"
e2e_restart mfa
check "mfa restarted: guardian factors work again" wait_ok factors

# --- mfa stopped (not dead: SIGSTOP), so the TCP connection stays up -------------
kill -STOP "${E2E_PIDS[mfa]}"
timed factors
expect_fast_503 "mfa frozen: guardian factors"
kill -CONT "${E2E_PIDS[mfa]}"
check "mfa resumed: guardian factors work again" wait_ok factors

# --- mailer: a challenge needs a mailer's acknowledgement (S20) -------------------
api POST /api/v2/users -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  --data '{"email":"restart@example.com","password":"a long enough password","connection":"Username-Password-Authentication"}'
expect "user created" 201 "$STATUS"
api POST /api/v2/clients -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  --data '{"name":"restart app","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob"]}'
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)
login() {
  api POST /oauth/token --data grant_type=password --data username=restart@example.com \
    --data-urlencode "password=a long enough password" \
    --data "client_id=$CLIENT_ID" --data "client_secret=$CLIENT_SECRET"
}
login
expect "login: mfa_required" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
associate() {
  api POST /mfa/associate -H "authorization: Bearer $MFA_TOKEN" \
    --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
}
e2e_kill mailer KILL
sleep 3.5   # mfa forgets a silent mailer after 3 s
timed associate
expect_fast_503 "mailer killed: /mfa/associate"
e2e_restart mailer
check "mailer restarted: /mfa/associate works again" wait_ok associate
check "mailer restarted: the email arrives" wait_mail 1

# --- gateway -----------------------------------------------------------------------
e2e_kill gateway KILL
e2e_restart gateway
e2e_wait_port "$HTTPS_PORT" || fail "gateway did not come back"
check "gateway restarted: services answer without being restarted" wait_ok management_token
