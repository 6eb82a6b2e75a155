#!/usr/bin/env bash
# The seed document's email-MFA flow, end to end, against the real four processes,
# a real SMTP server and real TLS, with curl. Every request of the seed is sent as
# the seed writes it (placeholders filled in); `seed_curl` only adds the CA and
# captures the status, headers and body.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

seed_curl() {
  STATUS=$(curl -sS --cacert "$CA" -o "$E2E_WORK/body" -D "$E2E_WORK/headers" -w '%{http_code}' \
    --max-time 20 "$@") || STATUS=000
  BODY=$(cat "$E2E_WORK/body" 2>/dev/null)
  HEADERS=$(cat "$E2E_WORK/headers" 2>/dev/null)
}

e2e_start || { fail "stack did not start"; exit 1; }
YOUR_DOMAIN=$DOMAIN
BOOT=$POSTERN_DATA_DIR/bootstrap.json

# --- Management token by client_credentials ---------------------------------
api POST /oauth/token \
  --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token: status" 200 "$STATUS"
expect "management token: token_type" Bearer "$(json .token_type)"
expect "management token: Cache-Control" no-store "$(header Cache-Control)"
expect "management token: Pragma" no-cache "$(header Pragma)"
MANAGEMENT_API_TOKEN=$(json .access_token)
check "management token carries update:guardian_factors" \
  grep -qw "update:guardian_factors" <<<"$(json .scope)"

# --- API, application and user through the Management API --------------------
api POST /api/v2/resource-servers -H "authorization: Bearer $MANAGEMENT_API_TOKEN" \
  -H 'content-type: application/json' \
  --data '{"identifier":"https://someapi.com/api","name":"Sample API","scopes":[{"value":"read:sample","description":"Read samples"}]}'
expect "create API: status" 201 "$STATUS"
expect "create API: identifier" "https://someapi.com/api" "$(json .identifier)"

api POST /api/v2/clients -H "authorization: Bearer $MANAGEMENT_API_TOKEN" \
  -H 'content-type: application/json' \
  --data '{"name":"Seed application","app_type":"regular_web","token_endpoint_auth_method":"client_secret_post","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob","http://auth0.com/oauth/grant-type/mfa-recovery-code"]}'
expect "create application: status" 201 "$STATUS"
YOUR_CLIENT_ID=$(json .client_id)
YOUR_CLIENT_SECRET=$(json .client_secret)
expect_match "create application: client_id" '^[A-Za-z0-9]{32}$' "$YOUR_CLIENT_ID"
expect_match "create application: client_secret" '^[A-Za-z0-9_-]{64}$' "$YOUR_CLIENT_SECRET"

USER_PASSWORD='correct horse battery staple'
api POST /api/v2/users -H "authorization: Bearer $MANAGEMENT_API_TOKEN" \
  -H 'content-type: application/json' \
  --data "{\"email\":\"user@example.com\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\",\"email_verified\":true}"
expect "create user: status" 201 "$STATUS"
USER_ID=$(json .user_id)
expect_match "create user: user_id" '^auth0\|[0-9a-f]{24}$' "$USER_ID"
check "create user: no password in the answer" test "$(json 'has("password")')" = false

# --- Before the factor is on, the password grant gives tokens directly --------
password_grant() {
  seed_curl --request POST \
    --url "https://$YOUR_DOMAIN/oauth/token" \
    --header 'content-type: application/x-www-form-urlencoded' \
    --data grant_type=password \
    --data username=user@example.com \
    --data-urlencode "password=$USER_PASSWORD" \
    --data audience=https://someapi.com/api \
    --data scope=read:sample \
    --data "client_id=$YOUR_CLIENT_ID" \
    --data "client_secret=$YOUR_CLIENT_SECRET"
}
password_grant
expect "password grant without MFA: status" 200 "$STATUS"
USER_TOKEN=$(json .access_token)

# --- A user's credentials never reach the Management API ------------------------
api POST /oauth/token --data grant_type=password --data username=user@example.com \
  --data-urlencode "password=$USER_PASSWORD" --data "audience=https://$DOMAIN/api/v2/" \
  --data 'scope=read:users create:clients update:guardian_factors' \
  --data "client_id=$YOUR_CLIENT_ID" --data "client_secret=$YOUR_CLIENT_SECRET"
expect "user token for the Management API: status" 403 "$STATUS"
expect "user token for the Management API: error" access_denied "$(json .error)"
check "user token for the Management API: no token" test "$(json 'has("access_token")')" = false
api GET /api/v2/users -H "authorization: Bearer $USER_TOKEN"
expect "Management API with a user's token: status" 401 "$STATUS"

# --- 1. Enable email authenticators (seed, verbatim) -------------------------
seed_curl --request PUT \
  --url "https://$YOUR_DOMAIN/api/v2/guardian/factors/email" \
  --header "authorization: Bearer $MANAGEMENT_API_TOKEN" \
  --header 'content-type: application/json' \
  --data '{"enabled": true }'
expect "enable email factor: status" 200 "$STATUS"
expect "enable email factor: body" true "$(json .enabled)"

# --- 2. Get the MFA token -----------------------------------------------------
password_grant
expect "password grant: status" 403 "$STATUS"
expect "password grant: error" mfa_required "$(json .error)"
expect "password grant: error_description" "Multifactor authentication required" "$(json .error_description)"
expect "password grant: Cache-Control" no-store "$(header Cache-Control)"
MFA_TOKEN=$(json .mfa_token)
expect_match "password grant: mfa_token" '^[A-Za-z0-9_-]{43,}$' "$MFA_TOKEN"

# --- 3. Request association (seed, verbatim: JSON with curl's form type) ------
seed_curl --request POST \
  --url "https://$YOUR_DOMAIN/mfa/associate" \
  --header "authorization: Bearer $MFA_TOKEN" \
  --data '{ "authenticator_types": ["oob"], "oob_channels": ["email"]}'
expect "associate: status" 200 "$STATUS"
expect "associate: authenticator_type" oob "$(json .authenticator_type)"
expect "associate: oob_channel" email "$(json .oob_channel)"
expect "associate: binding_method" prompt "$(json .binding_method)"
expect_match "associate: id" '^email\|dev_[A-Za-z0-9]+$' "$(json .id)"
expect "associate: one recovery code" 1 "$(json '.recovery_codes | length')"
RECOVERY_CODE=$(json '.recovery_codes[0]')
expect_match "associate: recovery code format" '^[A-Z0-9]{24}$' "$RECOVERY_CODE"
OOB_CODE=$(json .oob_code)
AUTHENTICATOR_ID=$(json .id)

MAIL=$(wait_mail 1) || fail "first email did not arrive"
expect "first email: recipient" "user@example.com" "$(mail_field "$MAIL" To)"
CODE=$(mail_field "$MAIL" code)
expect_match "first email: 6-digit code" '^[0-9]{6}$' "$CODE"
check "first email: Message-ID present" test -n "$(mail_field "$MAIL" Message-ID)"

# --- Confirm the association (seed, verbatim) ---------------------------------
mfa_oob() {
  seed_curl --request POST \
    --url "https://$YOUR_DOMAIN/oauth/token" \
    --data grant_type=http://auth0.com/oauth/grant-type/mfa-oob \
    --data "mfa_token=$1" \
    --data "oob_code=$2" \
    --data "binding_code=$3" \
    --data "client_id=$YOUR_CLIENT_ID"
}
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "mfa-oob after association: status" 200 "$STATUS"
expect "mfa-oob after association: token_type" Bearer "$(json .token_type)"
expect "mfa-oob after association: scope" read:sample "$(json .scope)"
expect "mfa-oob after association: expires_in" 86400 "$(json .expires_in)"
ACCESS_TOKEN=$(json .access_token)

api GET /.well-known/jwks.json
expect "jwks: status" 200 "$STATUS"
JWKS=$BODY
check "access token: RS256 signature verifies with the JWKS (openssl)" verify_jwt "$ACCESS_TOKEN" "$JWKS"
CLAIMS=$(jwt_claims "$ACCESS_TOKEN")
expect "access token: aud is the original audience" "https://someapi.com/api" "$(jq -r .aud <<<"$CLAIMS")"
expect "access token: iss" "https://$DOMAIN/" "$(jq -r .iss <<<"$CLAIMS")"
expect "access token: sub" "$USER_ID" "$(jq -r .sub <<<"$CLAIMS")"
expect "access token: scope" read:sample "$(jq -r .scope <<<"$CLAIMS")"
check "a tampered token fails the same check" \
  bash -c '! verify_jwt "$1" "$2"' _ "${ACCESS_TOKEN%?}A" "$JWKS"

api GET /.well-known/openid-configuration
expect "discovery: issuer" "https://$DOMAIN/" "$(json .issuer)"
check "discovery: mfa-oob grant listed" \
  grep -q "mfa-oob" <<<"$(json '.grant_types_supported | join(" ")')"
# Every advertised endpoint exists (a client library follows them blindly)
ENDPOINTS=$(json '[.jwks_uri, (to_entries[] | select(.key | endswith("_endpoint")) | .value)] | .[]')
# jwks, token, userinfo, mfa_challenge, revocation: no authorization endpoint is served
expect "discovery: endpoints advertised" 5 "$(wc -l <<<"$ENDPOINTS")"
expect "discovery: userinfo_endpoint" "https://$DOMAIN/userinfo" "$(json .userinfo_endpoint)"
for endpoint in $ENDPOINTS; do
  api GET "${endpoint#https://$DOMAIN}"
  check "discovery: $endpoint exists" test "$STATUS" != 404 -a "$STATUS" != 000
done

# --- 4. Challenge and verify ---------------------------------------------------
password_grant
expect "second login: mfa_required" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)

seed_curl --request POST \
  --url "https://$YOUR_DOMAIN/mfa/challenge" \
  --data "{ \"mfa_token\": \"$MFA_TOKEN\", \"challenge_type\": \"oob\", \"authenticator_id\": \"$AUTHENTICATOR_ID\", \"client_id\": \"$YOUR_CLIENT_ID\", \"client_secret\": \"$YOUR_CLIENT_SECRET\"}"
expect "challenge: status" 200 "$STATUS"
expect "challenge: challenge_type" oob "$(json .challenge_type)"
expect "challenge: binding_method" prompt "$(json .binding_method)"
OOB_CODE=$(json .oob_code)
check "challenge: a fresh oob_code" test -n "$OOB_CODE"

MAIL=$(wait_mail 2) || fail "second email did not arrive"
CODE=$(mail_field "$MAIL" code)
expect_match "second email: 6-digit code" '^[0-9]{6}$' "$CODE"

mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "mfa-oob after challenge: status" 200 "$STATUS"
check "mfa-oob after challenge: signature" verify_jwt "$(json .access_token)" "$JWKS"

# --- Wrong and reused codes ----------------------------------------------------
password_grant
MFA_TOKEN=$(json .mfa_token)
seed_curl --request POST --url "https://$YOUR_DOMAIN/mfa/challenge" \
  --data "{ \"mfa_token\": \"$MFA_TOKEN\", \"challenge_type\": \"oob\", \"client_id\": \"$YOUR_CLIENT_ID\", \"client_secret\": \"$YOUR_CLIENT_SECRET\"}"
expect "third challenge: status" 200 "$STATUS"
OOB_CODE=$(json .oob_code)
MAIL=$(wait_mail 3) || fail "third email did not arrive"
CODE=$(mail_field "$MAIL" code)
WRONG=$(printf '%06d' $(( (10#$CODE + 1) % 1000000 )))
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$WRONG"
expect "wrong binding_code: status" 403 "$STATUS"
expect "wrong binding_code: error" invalid_grant "$(json .error)"
expect "wrong binding_code: description" "Invalid binding_code." "$(json .error_description)"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "right code after one wrong one: status" 200 "$STATUS"

password_grant
MFA_TOKEN=$(json .mfa_token)
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "reused oob_code: status" 403 "$STATUS"
expect "reused oob_code: error" invalid_grant "$(json .error)"

# --- Recovery code -------------------------------------------------------------
recovery() {
  seed_curl --request POST --url "https://$YOUR_DOMAIN/oauth/token" \
    --data grant_type=http://auth0.com/oauth/grant-type/mfa-recovery-code \
    --data "mfa_token=$1" --data "recovery_code=$2" \
    --data "client_id=$YOUR_CLIENT_ID" --data "client_secret=$YOUR_CLIENT_SECRET"
}
password_grant
MFA_TOKEN=$(json .mfa_token)
recovery "$MFA_TOKEN" "$RECOVERY_CODE"
expect "recovery grant: status" 200 "$STATUS"
check "recovery grant: access token verifies" verify_jwt "$(json .access_token)" "$JWKS"
NEW_RECOVERY_CODE=$(json .recovery_code)
expect_match "recovery grant: new recovery_code" '^[A-Z0-9]{24}$' "$NEW_RECOVERY_CODE"
check "recovery grant: the new code differs" test "$NEW_RECOVERY_CODE" != "$RECOVERY_CODE"

password_grant
MFA_TOKEN=$(json .mfa_token)
recovery "$MFA_TOKEN" "$RECOVERY_CODE"
expect "old recovery code: status" 403 "$STATUS"
expect "old recovery code: error" invalid_grant "$(json .error)"
recovery "$MFA_TOKEN" "$NEW_RECOVERY_CODE"
expect "new recovery code: status" 200 "$STATUS"

# --- Email-bomb limit (S6): challenges until the send bucket is empty -----------
password_grant
MFA_TOKEN=$(json .mfa_token)
MAILS_BEFORE=$(mail_count)
for attempt in $(seq 1 30); do
  api POST /mfa/challenge -H 'content-type: application/json' \
    --data "{\"mfa_token\":\"$MFA_TOKEN\",\"challenge_type\":\"oob\",\"client_id\":\"$YOUR_CLIENT_ID\",\"client_secret\":\"$YOUR_CLIENT_SECRET\"}"
  [ "$STATUS" = 200 ] || break
done
expect "send limit: status" 429 "$STATUS"
expect "send limit: error" too_many_requests "$(json .error)"
expect_match "send limit: Retry-After" '^[0-9]+$' "$(header Retry-After)"
expect_match "send limit: X-RateLimit-Limit" '^[0-9]+$' "$(header X-RateLimit-Limit)"
expect "send limit: X-RateLimit-Remaining" 0 "$(header X-RateLimit-Remaining)"
RESET=$(header X-RateLimit-Reset)
check "send limit: X-RateLimit-Reset is Retry-After from now" \
  test "$RESET" -ge "$(( $(date +%s) + $(header Retry-After) - 5 ))" -a "$RESET" -le "$(( $(date +%s) + $(header Retry-After) + 5 ))"
SENT=$(( attempt - 1 ))
wait_mail "$(( MAILS_BEFORE + SENT ))" >/dev/null || fail "send limit: accepted challenges were not all mailed"
sleep 1   # a mail for the refused challenge would have had time to arrive
expect "send limit: one email per accepted challenge, none for the refusal" \
  "$SENT" "$(( $(mail_count) - MAILS_BEFORE ))"

# --- Nothing secret in logs or databases (S8, S30) -------------------------------
# The search must be able to find things: the user's address is in authn.db and
# the logs name the user id.
DATABASES=("$POSTERN_DATA_DIR"/*.db*)
if [[ -n ${E2E_PG_URL:-} ]]; then
  # On PostgreSQL every row of authn's and mfa's schemas, as text
  pg_dump --data-only -d "$E2E_PG_URL" -f "$E2E_WORK/pg-dump.sql" 2>>"$E2E_WORK/pg_dump.log" \
    || fail "pg_dump of the run's database"
  DATABASES+=("$E2E_WORK/pg-dump.sql")
  check "secret scan sees the databases" grep -qaF "user@example.com" "$E2E_WORK/pg-dump.sql"
else
  check "secret scan sees the databases" grep -qaF "user@example.com" "$POSTERN_DATA_DIR"/authn.db*
fi
check "secret scan sees the logs" grep -qaF "$USER_ID" "$E2E_WORK"/*.log
check "secret scan sees the mailer outbox" test -s "$POSTERN_DATA_DIR/mailer-outbox.db"
for secret in "$USER_PASSWORD" "$CODE" "$RECOVERY_CODE" "$NEW_RECOVERY_CODE" "$MFA_TOKEN" \
              "$ACCESS_TOKEN" "$YOUR_CLIENT_SECRET"; do
  if grep -rqawF -- "$secret" "$E2E_WORK"/*.log "${DATABASES[@]}" 2>/dev/null; then
    fail "a secret (${#secret} chars) appears in a log or database"
  else
    pass "secret of ${#secret} chars absent from logs and databases"
  fi
done
