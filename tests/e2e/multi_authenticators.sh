#!/usr/bin/env bash
# Several authenticators per user, end to end against the real four processes: a
# user enrolled with email gets an /mfa/ access token (enroll read:authenticators
# remove:authenticators, 10 minutes) after MFA, associates an otp authenticator
# with it, confirms it with a code computed here (RFC 6238 in python3's standard
# library), sees mfa_requirements and the Guardian enrollments, challenges each
# authenticator by id, deletes one and signs in with the other; then /mfa/challenge
# (mfa alone) refuses a wrong client secret, and every challenge once the
# application is deleted.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
MFA_AUDIENCE="https://$DOMAIN/mfa/"
USER_EMAIL=multi@example.com
USER_PASSWORD='correct horse battery staple'
MAILS=0

urlencode() { jq -rn --arg v "$1" '$v | @uri'; }

next_code() {
  local mail
  CODE=
  MAILS=$((MAILS + 1))
  mail=$(wait_mail "$MAILS") || { fail "email $MAILS did not arrive"; return 1; }
  CODE=$(mail_field "$mail" code)
}

# totp SECRET DELTA: the code an authenticator app shows DELTA steps from now
totp() {
  /usr/bin/python3 -c '
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1])
step = int(time.time()) // 30 + int(sys.argv[2])
digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
offset = digest[19] & 15
print("%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7fffffff) % 1000000))
' "$1" "$2"
}

# the first seconds of a 30-second step, so a code and its use share one
align_step() {
  local into=$(( $(date +%s) % 30 ))
  (( into > 20 )) && sleep $(( 31 - into ))
  return 0
}

password_grant() {
  local args=(--data grant_type=password --data-urlencode "username=$USER_EMAIL"
    --data-urlencode "password=$USER_PASSWORD"
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET")
  [[ -n ${1:-} ]] && args+=(--data-urlencode "audience=$1")
  [[ -n ${2:-} ]] && args+=(--data-urlencode "scope=$2")
  api POST /oauth/token "${args[@]}"
}

# challenge MFA_TOKEN TYPE [AUTHENTICATOR_ID]: sets OOB_CODE
challenge() {
  local data
  data=$(jq -cn --arg t "$1" --arg c "$2" --arg id "${3:-}" --arg ci "$CLIENT_ID" \
    --arg cs "$CLIENT_SECRET" '{mfa_token: $t, challenge_type: $c, client_id: $ci,
      client_secret: $cs} + (if $id == "" then {} else {authenticator_id: $id} end)')
  api POST /mfa/challenge -H 'content-type: application/json' --data "$data"
  OOB_CODE=$(json '.oob_code // empty')
}

mfa_otp() {
  api POST /oauth/token --data grant_type=http://auth0.com/oauth/grant-type/mfa-otp \
    --data-urlencode "mfa_token=$1" --data-urlencode "otp=$2" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
}

mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" "$@"
}

# --- Tenant: management token, both factors, application, user -----------------
api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token: status" 200 "$STATUS"
MANAGEMENT_TOKEN=$(json .access_token)
check "management token carries delete:guardian_enrollments" \
  grep -qw delete:guardian_enrollments <<<"$(json .scope)"
for factor in email otp; do
  mgmt PUT "/api/v2/guardian/factors/$factor" -H 'content-type: application/json' \
    --data '{"enabled":true}'
  expect "enable $factor factor: status" 200 "$STATUS"
done
mgmt POST /api/v2/clients -H 'content-type: application/json' \
  --data '{"name":"Multi app","app_type":"regular_web","token_endpoint_auth_method":"client_secret_post","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob","http://auth0.com/oauth/grant-type/mfa-otp","http://auth0.com/oauth/grant-type/mfa-recovery-code"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)
mgmt POST /api/v2/users -H 'content-type: application/json' \
  --data "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\",\"email_verified\":true}"
expect "create user: status" 201 "$STATUS"
USER_ID=$(json .user_id)
USER_PATH=/api/v2/users/$(urlencode "$USER_ID")

# --- Email enrolment, as in the seed --------------------------------------------------
password_grant
expect "first sign-in: mfa_required" mfa_required "$(json .error)"
expect "first sign-in: no mfa_requirements before enrolment" null "$(json .mfa_requirements)"
ENROL_TOKEN=$(json .mfa_token)
api POST /mfa/associate -H "authorization: Bearer $ENROL_TOKEN" -H 'content-type: application/json' \
  --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
expect "associate email: status" 200 "$STATUS"
EMAIL_ID=$(json .id)
OOB_CODE=$(json .oob_code)
next_code
mfa_oob "$ENROL_TOKEN" "$OOB_CODE" "$CODE"
expect "confirm email: status" 200 "$STATUS"

# --- An /mfa/ token after MFA -----------------------------------------------------------
password_grant "$MFA_AUDIENCE" "enroll read:authenticators remove:authenticators"
expect "MFA API sign-in: mfa_required" mfa_required "$(json .error)"
expect "MFA API sign-in: mfa_requirements, email" '{"challenge":[{"type":"email"}]}' \
  "$(jq -c .mfa_requirements <<<"$BODY")"
MFA_TOKEN=$(json .mfa_token)
challenge "$MFA_TOKEN" oob
expect "MFA API sign-in: challenge" 200 "$STATUS"
next_code
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "MFA API sign-in: mfa-oob" 200 "$STATUS"
MFA_API_TOKEN=$(json .access_token)
expect "MFA API token: 10 minutes" 600 "$(json .expires_in)"
CLAIMS=$(jwt_claims "$MFA_API_TOKEN")
check "MFA API token: enroll" grep -qw enroll <<<"$(jq -r .scope <<<"$CLAIMS")"

# --- A further authenticator: otp, with the access token ----------------------------
api POST /mfa/associate -H "authorization: Bearer $ENROL_TOKEN" -H 'content-type: application/json' \
  --data '{"authenticator_types":["otp"]}'
expect "associate with a used mfa_token: 401" 401 "$STATUS"
MAILS_BEFORE=$(mail_count)
api POST /mfa/associate -H "authorization: Bearer $MFA_API_TOKEN" -H 'content-type: application/json' \
  --data '{"authenticator_types":["otp"]}'
expect "associate otp with the access token: status" 200 "$STATUS"
expect "associate otp: authenticator_type" otp "$(json .authenticator_type)"
expect "associate otp: no recovery code" null "$(json .recovery_codes)"
SECRET=$(json .secret)
OTP_ID=$(json .id)
expect_match "associate otp: id" '^totp\|dev_' "$OTP_ID"
expect "associate otp: nothing mailed" "$MAILS_BEFORE" "$(mail_count)"
api POST /mfa/associate -H "authorization: Bearer $MFA_API_TOKEN" -H 'content-type: application/json' \
  --data "{\"authenticator_types\":[\"oob\"],\"oob_channels\":[\"email\"],\"email\":\"other@example.com\"}"
expect "a second email authenticator: 403" 403 "$STATUS"
expect "a second email authenticator: access_denied" access_denied "$(json .error)"

mgmt GET "$USER_PATH/enrollments"
expect "enrollments: status" 200 "$STATUS"
expect "enrollments: two" 2 "$(json length)"
expect "enrollments: email confirmed" "email confirmed $EMAIL_ID" \
  "$(json '.[0] | "\(.type) \(.status) \(.id)"')"
expect "enrollments: email identifier" "$USER_EMAIL" "$(json '.[0].identifier')"
expect "enrollments: otp pending" "authenticator pending $OTP_ID" \
  "$(json '.[1] | "\(.type) \(.status) \(.id)"')"
expect_match "enrollments: enrolled_at" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$(json '.[1].enrolled_at')"

# --- Confirmed by its first code, in a sign-in that challenges it by id ----------------
align_step
password_grant
MFA_TOKEN=$(json .mfa_token)
challenge "$MFA_TOKEN" otp "$OTP_ID"
expect "challenge the otp authenticator by id: status" 200 "$STATUS"
expect "challenge otp: Auth0's answer" '{"challenge_type":"otp"}' "$(jq -c . <<<"$BODY")"
mfa_otp "$MFA_TOKEN" "$(totp "$SECRET" 0)"
expect "confirm otp with the app's code: status" 200 "$STATUS"
mgmt GET "$USER_PATH/enrollments"
expect "enrollments: otp confirmed" confirmed "$(json '.[1].status')"

# --- Each by its id -------------------------------------------------------------------
password_grant
expect "sign-in: mfa_requirements, both kinds" '{"challenge":[{"type":"email"},{"type":"otp"}]}' \
  "$(jq -c .mfa_requirements <<<"$BODY")"
MFA_TOKEN=$(json .mfa_token)
challenge "$MFA_TOKEN" oob "$EMAIL_ID"
expect "challenge the email authenticator by id: status" 200 "$STATUS"
expect "challenge email: oob" oob "$(json .challenge_type)"
EMAIL_OOB=$OOB_CODE
next_code
challenge "$MFA_TOKEN" otp "$EMAIL_ID"
expect "challenge the email one as otp: unsupported_challenge_type" unsupported_challenge_type \
  "$(json .error)"
mfa_oob "$MFA_TOKEN" "$EMAIL_OOB" "$CODE"
expect "sign in with the email code: status" 200 "$STATUS"

# --- The administrator deletes the email one; the otp one signs in -------------------------
mgmt DELETE "/api/v2/guardian/enrollments/$(urlencode "$EMAIL_ID")"
expect "delete the email enrollment: status" 204 "$STATUS"
mgmt DELETE "/api/v2/guardian/enrollments/$(urlencode "$EMAIL_ID")"
expect "delete it again: 404" 404 "$STATUS"
mgmt GET "$USER_PATH/enrollments"
expect "enrollments: the otp one left" "1 $OTP_ID" "$(json '"\(length) \(.[0].id)"')"
align_step
password_grant
expect "sign-in: mfa_requirements, otp" '{"challenge":[{"type":"otp"}]}' \
  "$(jq -c .mfa_requirements <<<"$BODY")"
MFA_TOKEN=$(json .mfa_token)
challenge "$MFA_TOKEN" oob
expect "challenge oob without an email authenticator: unsupported_challenge_type" \
  unsupported_challenge_type "$(json .error)"
mfa_otp "$MFA_TOKEN" "$(totp "$SECRET" 1)"
expect "sign in with the otp authenticator: status" 200 "$STATUS"
expect_match "sign in with otp: an access token" '^ey' "$(json .access_token)"

# --- /mfa/challenge is mfa's alone: the application's secret, its deletion ------------
password_grant
MFA_TOKEN=$(json .mfa_token)
KEPT_SECRET=$CLIENT_SECRET
CLIENT_SECRET=not-the-secret
challenge "$MFA_TOKEN" otp
expect "challenge with a wrong client_secret: 401" 401 "$STATUS"
expect "challenge with a wrong client_secret: invalid_client" invalid_client "$(json .error)"
CLIENT_SECRET=$KEPT_SECRET
challenge "$MFA_TOKEN" otp
expect "challenge with the right client_secret: status" 200 "$STATUS"
mgmt DELETE "/api/v2/clients/$CLIENT_ID"
expect "delete the application: status" 204 "$STATUS"
challenge "$MFA_TOKEN" otp
expect "challenge once the application is deleted: 401" 401 "$STATUS"
expect "challenge once the application is deleted: invalid_client" invalid_client "$(json .error)"
