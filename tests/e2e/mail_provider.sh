#!/usr/bin/env bash
# The email provider as data, end to end: a provider POSTed through the
# Management API sends the next challenge's mail through its SMTP server (a
# second sink) with its from address, with no restart; GET never shows the
# password; PATCH moves it back to the first sink; a bad body is 400 and
# changes nothing; the password appears in no service's log. In the PostgreSQL
# run two mfa instances and two mailers share it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
USER_PASSWORD='correct horse battery staple'
SECRET='Sm7p-pr0vider-s3cret'
FIRST_DIR=$MAIL_DIR
SECOND_DIR=$E2E_WORK/mail-second
mkdir -p "$SECOND_DIR"
read -r SECOND_PORT < <(e2e_free_ports 1)
e2e_run smtp2 "$DEBIAN_PYTHON" "$POSTERN_SOURCE_DIR/tests/support/smtp_sink.py" \
  --host 127.0.0.1 --port "$SECOND_PORT" --maildir "$SECOND_DIR"
e2e_wait_port "$SECOND_PORT" || { fail "second smtp sink did not start"; exit 1; }

mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" \
    -H 'content-type: application/json' "$@"
}

count() { find "$1" -name '*.eml' | wc -l; }

# sign_in EMAIL DIR: a new user's first sign-in, which mails a code; waits for
# it in DIR and sets MAIL
sign_in() {
  local dir=$2 want=$(( $(count "$2") + 1 ))
  mgmt POST /api/v2/users --data "{\"email\":\"$1\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\"}"
  expect "create user $1: status" 201 "$STATUS"
  api POST /oauth/token --data grant_type=password --data-urlencode "username=$1" \
    --data-urlencode "password=$USER_PASSWORD" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
  expect "sign-in $1: mfa_required" mfa_required "$(json .error)"
  api POST /mfa/associate -H "authorization: Bearer $(json .mfa_token)" \
    -H 'content-type: application/json' \
    --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
  expect "associate $1: status" 200 "$STATUS"
  MAIL=$(MAIL_DIR=$dir wait_mail "$want") || { fail "email for $1 did not arrive in $dir"; MAIL=/dev/null; }
}

api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token: status" 200 "$STATUS"
MANAGEMENT_TOKEN=$(json .access_token)
mgmt PUT /api/v2/guardian/factors/email --data '{"enabled":true}'
expect "enable email factor: status" 200 "$STATUS"
mgmt POST /api/v2/clients --data '{"name":"Provider Shop","app_type":"regular_web","token_endpoint_auth_method":"client_secret_post","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)

# --- The environment's server until a provider is configured ------------------------
mgmt GET /api/v2/emails/provider
expect "no provider yet: 404" 404 "$STATUS"
sign_in first@example.com "$FIRST_DIR"
expect "first sink, POSTERN_SMTP_FROM" "Postern <no-reply@postern.test>" "$(mail_field "$MAIL" from)"

# --- A bad body is refused and changes nothing -------------------------------------------
GOOD="{\"name\":\"smtp\",\"enabled\":true,\"default_from_address\":\"Second Sink <mfa@second.test>\",\"credentials\":{\"smtp_host\":\"127.0.0.1\",\"smtp_port\":$SECOND_PORT,\"smtp_user\":\"postern\",\"smtp_pass\":\"$SECRET\"}}"
for bad in "$(jq -c '.name = "sendgrid"' <<<"$GOOD")" \
           "$(jq -c '.default_from_address = "not an address"' <<<"$GOOD")" \
           "$(jq -c '.credentials.smtp_port = 70000' <<<"$GOOD")" \
           "$(jq -c '.credentials.smtp_host = "bad host"' <<<"$GOOD")"; do
  mgmt POST /api/v2/emails/provider --data "$bad"
  expect "refused $(jq -c 'del(.credentials.smtp_pass)' <<<"$bad"): 400" 400 "$STATUS"
  expect_match "refused: a reason" "Payload validation error" "$(json .message)"
done
mgmt POST /api/v2/emails/provider --data "$(jq -c '.settings = {}' <<<"$GOOD")"
expect "unknown member: 400" 400 "$STATUS"
expect "unknown member: invalid_body" invalid_body "$(json .errorCode)"
mgmt GET /api/v2/emails/provider
expect "refusals stored nothing" 404 "$STATUS"

# --- POST: the next mail goes through the second sink, From the provider ----------------
mgmt POST /api/v2/emails/provider --data "$GOOD"
expect "POST provider: status" 201 "$STATUS"
expect "POST provider: answers it" "smtp true Second Sink <mfa@second.test> $SECOND_PORT postern" \
  "$(json '"\(.name) \(.enabled) \(.default_from_address) \(.credentials.smtp_port) \(.credentials.smtp_user)"')"
check "POST answer: no smtp_pass" bash -c '! grep -q -e smtp_pass -e "$2" <<<"$1"' _ "$BODY" "$SECRET"
mgmt GET /api/v2/emails/provider
expect "GET provider: status" 200 "$STATUS"
check "GET answer: no smtp_pass" bash -c '! grep -q -e smtp_pass -e "$2" <<<"$1"' _ "$BODY" "$SECRET"
FIRST_COUNT=$(count "$FIRST_DIR")
sign_in second@example.com "$SECOND_DIR"
expect "second sink: the provider's From" "Second Sink <mfa@second.test>" "$(mail_field "$MAIL" from)"
check "second sink: a code" grep -qE '^[0-9]{6}$' <<<"$(mail_field "$MAIL" code)"
expect "first sink got nothing more" "$FIRST_COUNT" "$(count "$FIRST_DIR")"
mgmt POST /api/v2/emails/provider --data "$GOOD"
expect "POST again: 409" 409 "$STATUS"

# --- PATCH: a bad one changes nothing; a good one goes back to the first sink -----------
mgmt PATCH /api/v2/emails/provider --data '{"credentials":{"smtp_port":0}}'
expect "PATCH bad port: 400" 400 "$STATUS"
mgmt GET /api/v2/emails/provider
expect "PATCH refused: still the second sink" "$SECOND_PORT" "$(json .credentials.smtp_port)"
mgmt PATCH /api/v2/emails/provider --data "{\"default_from_address\":\"Back <back@first.test>\",\"credentials\":{\"smtp_port\":$SMTP_PORT}}"
expect "PATCH back: status" 200 "$STATUS"
expect "PATCH kept the user" postern "$(json .credentials.smtp_user)"
SECOND_COUNT=$(count "$SECOND_DIR")
sign_in third@example.com "$FIRST_DIR"
expect "first sink again: the patched From" "Back <back@first.test>" "$(mail_field "$MAIL" from)"
expect "second sink got nothing more" "$SECOND_COUNT" "$(count "$SECOND_DIR")"
mgmt PATCH /api/v2/emails/provider --data "{\"enabled\":false,\"credentials\":{\"smtp_port\":$SECOND_PORT}}"
expect "disable: status" 200 "$STATUS"
sign_in fourth@example.com "$FIRST_DIR"
expect "disabled: POSTERN_SMTP_* again" "Postern <no-reply@postern.test>" "$(mail_field "$MAIL" from)"

# --- The password is in no log, and not in clear in mfa's files -------------------------
check "password in no service log" bash -c '! grep -rqF -- "$1" "$2"/*.log' _ "$SECRET" "$E2E_WORK"
check "password not in clear in the data dir" bash -c '! grep -rqaF -- "$1" "$2"' _ "$SECRET" "$POSTERN_DATA_DIR"
