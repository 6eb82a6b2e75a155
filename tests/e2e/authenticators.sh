#!/usr/bin/env bash
# The user's and the administrator's view of a user's authenticators, end to end
# against the real four processes, a real SMTP server and real TLS: the MFA API's
# GET/DELETE /mfa/authenticators (contract §5) and the Management API's
# authentication methods, MFA reset and recovery code regeneration (contract §6).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
MFA_AUDIENCE="https://$DOMAIN/mfa/"
USER_EMAIL=user@example.com
USER_PASSWORD='correct horse battery staple'
MAILS=0

# --- Local helpers (lib.sh is shared; these are this script's own) -----------

# urlencode TEXT: a path segment, so ids such as auth0|... travel intact
urlencode() { jq -rn --arg v "$1" '$v | @uri'; }

# next_code: waits for the next email and sets CODE to its 6-digit code (not
# in a subshell: it counts the mails)
next_code() {
  local mail
  CODE=
  MAILS=$((MAILS + 1))
  mail=$(wait_mail "$MAILS") || { fail "email $MAILS did not arrive"; return 1; }
  CODE=$(mail_field "$mail" code)
}

# password_grant [AUDIENCE [SCOPE]]
password_grant() {
  local args=(--data grant_type=password --data-urlencode "username=$USER_EMAIL"
    --data-urlencode "password=$USER_PASSWORD"
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET")
  [[ -n ${1:-} ]] && args+=(--data-urlencode "audience=$1")
  [[ -n ${2:-} ]] && args+=(--data-urlencode "scope=$2")
  api POST /oauth/token "${args[@]}"
}

# associate MFA_TOKEN: sets OOB_CODE, AUTHENTICATOR_ID, RECOVERY_CODE
associate() {
  api POST /mfa/associate -H "authorization: Bearer $1" -H 'content-type: application/json' \
    --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
  OOB_CODE=$(json .oob_code)
  AUTHENTICATOR_ID=$(json .id)
  RECOVERY_CODE=$(json '.recovery_codes[0] // empty')
}

# challenge MFA_TOKEN: sets OOB_CODE
challenge() {
  api POST /mfa/challenge -H 'content-type: application/json' \
    --data "{\"mfa_token\":\"$1\",\"challenge_type\":\"oob\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\"}"
  OOB_CODE=$(json .oob_code)
}

# mgmt METHOD PATH [curl args...]: a Management API call with the bootstrap token
mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" "$@"
}

# --- Tenant: management token, application, user, email factor -----------------
api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token: status" 200 "$STATUS"
MANAGEMENT_TOKEN=$(json .access_token)
for scope in read:authentication_methods delete:authentication_methods update:users; do
  check "management token carries $scope" grep -qw "$scope" <<<"$(json .scope)"
done

mgmt POST /api/v2/clients -H 'content-type: application/json' \
  --data '{"name":"Authenticators app","app_type":"regular_web","token_endpoint_auth_method":"client_secret_post","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob","http://auth0.com/oauth/grant-type/mfa-recovery-code"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)

mgmt POST /api/v2/users -H 'content-type: application/json' \
  --data "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\",\"email_verified\":true}"
expect "create user: status" 201 "$STATUS"
USER_ID=$(json .user_id)
USER_PATH=/api/v2/users/$(urlencode "$USER_ID")

mgmt GET "/api/v2/users-by-email?email=$(urlencode "$USER_EMAIL")"
expect "users-by-email: status" 200 "$STATUS"
expect "users-by-email: the user" "$USER_ID" "$(json '.[0].user_id')"
mgmt GET "/api/v2/users-by-email?email=nobody%40example.com"
expect "users-by-email, unknown address: an empty array" "[]" "$BODY"
mgmt GET /api/v2/users-by-email
expect "users-by-email without email: 400" 400 "$STATUS"
expect "users-by-email without email: says so" \
  "Query validation error: Missing required property: email" "$(json .message)"

mgmt PUT /api/v2/guardian/factors/email -H 'content-type: application/json' --data '{"enabled":true}'
expect "enable email factor: status" 200 "$STATUS"

# --- Enrolment, as in the seed ------------------------------------------------------
password_grant
expect "first sign-in: mfa_required" mfa_required "$(json .error)"
ENROL_TOKEN=$(json .mfa_token)
associate "$ENROL_TOKEN"
expect "associate: status" 200 "$STATUS"
EMAIL_ID=$AUTHENTICATOR_ID
FIRST_RECOVERY=$RECOVERY_CODE
next_code
mfa_oob "$ENROL_TOKEN" "$OOB_CODE" "$CODE"
expect "confirm association: status" 200 "$STATUS"

# --- GET /mfa/authenticators with an mfa_token ----------------------------------------
password_grant
expect "sign-in: mfa_required" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
api GET /mfa/authenticators -H "authorization: Bearer $MFA_TOKEN"
expect "list with mfa_token: status" 200 "$STATUS"
expect "list with mfa_token: two authenticators" 2 "$(json length)"
expect "list: recovery code first" recovery-code "$(json '.[0].authenticator_type')"
expect_match "list: recovery code id" '^recovery-code\|dev_[A-Za-z0-9]+$' "$(json '.[0].id')"
expect "list: recovery code active" true "$(json '.[0].active')"
expect "list: email id" "$EMAIL_ID" "$(json '.[1].id')"
expect "list: email authenticator_type" oob "$(json '.[1].authenticator_type')"
expect "list: email oob_channel" email "$(json '.[1].oob_channel')"
expect "list: email name masked" "us*****@example.com" "$(json '.[1].name')"
expect "list: email active" true "$(json '.[1].active')"
check "list: the address itself never shows" bash -c '! grep -qF "$1" <<<"$2"' _ "$USER_EMAIL" "$BODY"
expect "list: no-store" no-store "$(header Cache-Control)"

api GET /mfa/authenticators -H "authorization: Bearer not-a-token"
expect "list with an unknown mfa_token: status" 401 "$STATUS"
expect "list with an unknown mfa_token: error" invalid_token "$(json .error)"
api GET /mfa/authenticators -H "authorization: Bearer $ENROL_TOKEN"
expect "list with a used mfa_token: status" 401 "$STATUS"
expect "list with a used mfa_token: error" invalid_token "$(json .error)"
api GET /mfa/authenticators
expect "list without a token: status" 401 "$STATUS"

api DELETE "/mfa/authenticators/$(urlencode "$EMAIL_ID")" -H "authorization: Bearer $MFA_TOKEN"
expect "delete with an mfa_token: status" 401 "$STATUS"
expect "delete with an mfa_token: error" invalid_token "$(json .error)"

# --- An /mfa/ access token: the password grant for that audience, then MFA ------------------
password_grant "$MFA_AUDIENCE" "read:authenticators remove:authenticators"
expect "MFA API sign-in: mfa_required" mfa_required "$(json .error)"
MFA_API_MFA_TOKEN=$(json .mfa_token)
challenge "$MFA_API_MFA_TOKEN"
expect "MFA API sign-in: challenge" 200 "$STATUS"
next_code
mfa_oob "$MFA_API_MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "MFA API sign-in: mfa-oob" 200 "$STATUS"
MFA_API_TOKEN=$(json .access_token)
CLAIMS=$(jwt_claims "$MFA_API_TOKEN")
expect "MFA API token: aud" "$MFA_AUDIENCE" "$(jq -r .aud <<<"$CLAIMS")"
expect "MFA API token: sub" "$USER_ID" "$(jq -r .sub <<<"$CLAIMS")"
check "MFA API token: remove:authenticators" grep -qw remove:authenticators <<<"$(jq -r .scope <<<"$CLAIMS")"

api GET /mfa/authenticators -H "authorization: Bearer $MFA_API_TOKEN"
expect "list with an access token: status" 200 "$STATUS"
expect "list with an access token: two authenticators" 2 "$(json length)"

# A sign-in waiting for its code when the authenticator goes
password_grant
PENDING_TOKEN=$(json .mfa_token)
challenge "$PENDING_TOKEN"
PENDING_OOB=$OOB_CODE
next_code
PENDING_CODE=$CODE

api DELETE "/mfa/authenticators/$(urlencode "$EMAIL_ID")" -H "authorization: Bearer $MFA_API_TOKEN"
expect "delete the email authenticator: status" 204 "$STATUS"
check "delete: empty body" test -z "$BODY"
api GET /mfa/authenticators -H "authorization: Bearer $MFA_API_TOKEN"
expect "after delete: status" 200 "$STATUS"
expect "after delete: the last second factor took the recovery code with it" 0 "$(json length)"
mfa_oob "$PENDING_TOKEN" "$PENDING_OOB" "$PENDING_CODE"
expect "code mailed before the delete: status" 403 "$STATUS"
expect "code mailed before the delete: error" invalid_grant "$(json .error)"
api DELETE "/mfa/authenticators/$(urlencode "$EMAIL_ID")" -H "authorization: Bearer $MFA_API_TOKEN"
expect "delete again: status" 404 "$STATUS"
expect "delete again: error" not_found "$(json .error)"
check "delete again: error_description" test -n "$(json .error_description)"

# --- Enrolment again ---------------------------------------------------------------------
password_grant
expect "after delete: sign-in still requires MFA" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
associate "$MFA_TOKEN"
expect "re-enrolment: associate accepted" 200 "$STATUS"
expect_match "re-enrolment: a new recovery code" '^[A-Z0-9]{24}$' "$RECOVERY_CODE"
check "re-enrolment: the recovery code differs" test "$RECOVERY_CODE" != "$FIRST_RECOVERY"
SECOND_RECOVERY=$RECOVERY_CODE
EMAIL_ID=$AUTHENTICATOR_ID
next_code
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "re-enrolment: confirmed" 200 "$STATUS"

# --- Management API: authentication methods -----------------------------------------------
mgmt GET "$USER_PATH/authentication-methods"
expect "authentication methods: status" 200 "$STATUS"
expect "authentication methods: two" 2 "$(json length)"
expect "authentication methods: recovery-code type" recovery-code "$(json '.[0].type')"
expect "authentication methods: email type" email "$(json '.[1].type')"
expect "authentication methods: email id" "$EMAIL_ID" "$(json '.[1].id')"
expect "authentication methods: email unmasked" "$USER_EMAIL" "$(json '.[1].email')"
expect "authentication methods: confirmed" "true true" "$(json '[.[].confirmed] | map(tostring) | join(" ")')"
expect_match "authentication methods: created_at" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z$' "$(json '.[1].created_at')"

mgmt DELETE "$USER_PATH/authentication-methods/$(urlencode "email|dev_unknown")"
expect "delete an unknown method: status" 404 "$STATUS"
expect "delete an unknown method: statusCode" 404 "$(json .statusCode)"
expect "delete an unknown method: errorCode" not_found "$(json .errorCode)"

# an unknown user is 404, as in Auth0, not an empty list
NOBODY_PATH=/api/v2/users/$(urlencode "auth0|nobody")
mgmt GET "$NOBODY_PATH/authentication-methods"
expect "unknown user's methods: status" 404 "$STATUS"
expect "unknown user's methods: message" "The user does not exist." "$(json .message)"
mgmt DELETE "$NOBODY_PATH/authentication-methods"
expect "unknown user's reset: status" 404 "$STATUS"
mgmt POST "$NOBODY_PATH/recovery-code-regeneration"
expect "unknown user's regeneration: status" 404 "$STATUS"

api GET "$USER_PATH/authentication-methods" -H "authorization: Bearer $MFA_API_TOKEN"
expect "Management API with the user's /mfa/ token: status" 401 "$STATUS"

# --- Recovery code regeneration ------------------------------------------------------------
mgmt POST "$USER_PATH/recovery-code-regeneration"
expect "regenerate: status" 200 "$STATUS"
NEW_RECOVERY=$(json .recovery_code)
expect_match "regenerate: recovery_code" '^[A-Z0-9]{24}$' "$NEW_RECOVERY"
check "regenerate: a new code" test "$NEW_RECOVERY" != "$SECOND_RECOVERY"
password_grant
MFA_TOKEN=$(json .mfa_token)
recovery "$MFA_TOKEN" "$SECOND_RECOVERY"
expect "old recovery code after regeneration: status" 403 "$STATUS"
expect "old recovery code after regeneration: error" invalid_grant "$(json .error)"
recovery "$MFA_TOKEN" "$NEW_RECOVERY"
expect "regenerated recovery code: status" 200 "$STATUS"
LAST_RECOVERY=$(json .recovery_code)

# --- Reset: delete every authentication method -----------------------------------------------
mgmt DELETE "$USER_PATH/authentication-methods"
expect "reset: status" 204 "$STATUS"
mgmt GET "$USER_PATH/authentication-methods"
expect "reset: no methods left" 0 "$(json length)"
mgmt POST "$USER_PATH/recovery-code-regeneration"
expect "regenerate for a user not enrolled: status" 404 "$STATUS"

password_grant
expect "after reset: mfa_required" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
recovery "$MFA_TOKEN" "$LAST_RECOVERY"
expect "after reset: the recovery code is gone" 403 "$STATUS"
challenge "$MFA_TOKEN"
expect "after reset: challenge wants an association" association_required "$(json .error)"
associate "$MFA_TOKEN"
expect "after reset: associate accepted with the mfa_token" 200 "$STATUS"
next_code
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "after reset: enrolment confirmed" 200 "$STATUS"

# --- Deleting the user takes the MFA state with it ------------------------------------------------
mfa_rows() {
  mfa_sql \
    "SELECT (SELECT count(*) FROM authenticators WHERE user_id = '$USER_ID')
          + (SELECT count(*) FROM recovery_codes WHERE user_id = '$USER_ID')"
}
check "before deletion the user has MFA state" test "$(mfa_rows)" -gt 0
mgmt DELETE "$USER_PATH"
expect "delete user: status" 204 "$STATUS"
expect "delete user: no authenticator or recovery code left in mfa's database" 0 "$(mfa_rows)"
mgmt GET "$USER_PATH"
expect "deleted user: gone" 404 "$STATUS"

# --- Nothing secret in logs or databases ---------------------------------------------------------
check "secret scan sees the logs" grep -qaF "$USER_ID" "$E2E_WORK"/*.log
for secret in "$FIRST_RECOVERY" "$SECOND_RECOVERY" "$NEW_RECOVERY" "$MFA_API_TOKEN"; do
  if grep -rqawF -- "$secret" "$E2E_WORK"/*.log "$POSTERN_DATA_DIR"/*.db* 2>/dev/null; then
    fail "a secret (${#secret} chars) appears in a log or database"
  else
    pass "secret of ${#secret} chars absent from logs and databases"
  fi
done
