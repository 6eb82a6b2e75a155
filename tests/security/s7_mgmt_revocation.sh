#!/usr/bin/env bash
# Issue 9, "Management API", against the real four processes and curl:
#
#   1. a client and its grant: its token works on /api/v2/, for an hour (expires_in)
#   2. the grant deleted: the same token is refused (401 invalid_token, "The access
#      token was revoked") within a few seconds, while other clients' tokens work
#   3. a new grant: a new token works, the old one stays refused
#   4. the client deleted: its tokens are refused, its MFA API user token too
#   5. a gateway started afresh refuses them at once (its first list of revoked
#      tokens comes before the token is judged)
#   6. escalation: an administrator holding only create:clients and
#      create:client_grants cannot grant delete:users (403 insufficient_scope)
#   7. a grant with a scope its API does not define: 400 naming the scope
#
# Waits are bounded polls (the gateway reads the revocation list about once a
# second), never a sleep and hope.
source "$(dirname "${BASH_SOURCE[0]}")/security_lib.sh"
trap 'fault_finish' EXIT

REVOKE_WITHIN_S=5
fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
MGMT_AUDIENCE=https://$DOMAIN/api/v2/
ADMIN=(-H "authorization: Bearer $MGMT_TOKEN" -H 'content-type: application/json')

# m2m_client NAME: a machine application; sets M2M_ID, M2M_SECRET
m2m_client() {
  api POST /api/v2/clients "${ADMIN[@]}" \
    --data "{\"name\":\"$1\",\"app_type\":\"non_interactive\",\"grant_types\":[\"client_credentials\"]}"
  [[ $STATUS == 201 ]] || { fail "create $1: $STATUS $BODY"; return 1; }
  M2M_ID=$(json .client_id) M2M_SECRET=$(json .client_secret)
}

# grant AUTH_TOKEN CLIENT_ID AUDIENCE SCOPES_JSON: POST /api/v2/client-grants as AUTH_TOKEN
grant() {
  api POST /api/v2/client-grants -H "authorization: Bearer $1" -H 'content-type: application/json' \
    --data "{\"client_id\":\"$2\",\"audience\":\"$3\",\"scope\":$4}"
}

# m2m_token ID SECRET: a Management API token; sets TOKEN (empty when refused)
m2m_token() {
  api POST /oauth/token --data grant_type=client_credentials --data-urlencode "client_id=$1" \
    --data-urlencode "client_secret=$2" --data-urlencode "audience=$MGMT_AUDIENCE"
  TOKEN=$(json '.access_token // empty')
}

# with TOKEN METHOD PATH [curl args...]: api as the bearer of TOKEN
with() { local token=$1; shift; api "$@" -H "authorization: Bearer $token"; }

# refused TOKEN [PATH]: the gateway refuses TOKEN as revoked (for wait_until)
refused() {
  with "$1" GET "${2:-/api/v2/users}"
  [[ $STATUS == 401 ]]
}

# expect_revoked WHAT TOKEN [PATH]: the whole refusal, as any other refused token
expect_revoked() {
  with "$2" GET "${3:-/api/v2/users}"
  expect "$1: 401" 401 "$STATUS"
  expect "$1: says revoked" "The access token was revoked" "$(json '.message // .error_description')"
  expect "$1: Bearer challenge" 'Bearer error="invalid_token"' "$(header WWW-Authenticate)"
}

# --- 1. A client, its grant, its token ------------------------------------------------
m2m_client "s5 machine" || exit 1
grant "$MGMT_TOKEN" "$M2M_ID" "$MGMT_AUDIENCE" '["read:users","read:clients"]'
expect "grant created" 201 "$STATUS"
GRANT_ID=$(json .id)
m2m_token "$M2M_ID" "$M2M_SECRET"
expect "Management API tokens live an hour" 3600 "$(json .expires_in)"
TOKEN1=$TOKEN
with "$TOKEN1" GET /api/v2/users
expect "its token works" 200 "$STATUS"

# --- 2. The grant deleted ----------------------------------------------------------------
api DELETE "/api/v2/client-grants/$GRANT_ID" "${ADMIN[@]}"
expect "grant deleted" 204 "$STATUS"
deleted_ms=$(now_ms)
check "the token is refused within ${REVOKE_WITHIN_S} s" wait_until "$REVOKE_WITHIN_S" refused "$TOKEN1"
e2e_log "refused $(( $(now_ms) - deleted_ms )) ms after the deletion"
expect_revoked "the grant's token" "$TOKEN1"
m2m_token "$M2M_ID" "$M2M_SECRET"
expect "no new token without a grant" access_denied "$(json .error)"
with "$MGMT_TOKEN" GET /api/v2/users
expect "another client's token still works" 200 "$STATUS"

# --- 3. A new grant ------------------------------------------------------------------------
grant "$MGMT_TOKEN" "$M2M_ID" "$MGMT_AUDIENCE" '["read:users"]'
expect "grant made again" 201 "$STATUS"
m2m_token "$M2M_ID" "$M2M_SECRET"
TOKEN2=$TOKEN
with "$TOKEN2" GET /api/v2/users
expect "a new token works" 200 "$STATUS"
expect_revoked "the old token, still" "$TOKEN1"

# --- 4. The client deleted (and an application's user token for the MFA API) ------------
fault_enrol s5-user@example.com || exit 1
api POST /oauth/token --data grant_type=password --data-urlencode username=s5-user@example.com \
  --data-urlencode "password=$PASSWORD" --data-urlencode "audience=https://$DOMAIN/mfa/" \
  --data-urlencode scope=read:authenticators \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
expect "the MFA API asks for the second factor" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
mails=$(mail_count_to s5-user@example.com)
challenge "$MFA_TOKEN"
mail=$(wait_mail_to s5-user@example.com $((mails + 1)) 15) || fail "no code mailed"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$(mail_field "$mail" code)"
expect "an MFA API token" 200 "$STATUS"
USER_TOKEN=$(json .access_token)
with "$USER_TOKEN" GET /mfa/authenticators
expect "the MFA API token works" 200 "$STATUS"

api DELETE "/api/v2/clients/$M2M_ID" "${ADMIN[@]}"
expect "machine client deleted" 204 "$STATUS"
api DELETE "/api/v2/clients/$CLIENT_ID" "${ADMIN[@]}"
expect "sign-in application deleted" 204 "$STATUS"
check "the machine client's token is refused within ${REVOKE_WITHIN_S} s" \
  wait_until "$REVOKE_WITHIN_S" refused "$TOKEN2"
expect_revoked "the deleted client's token" "$TOKEN2"
check "the user's MFA API token of the deleted application is refused" \
  wait_until "$REVOKE_WITHIN_S" refused "$USER_TOKEN" /mfa/authenticators
expect_revoked "the MFA API token" "$USER_TOKEN" /mfa/authenticators
m2m_token "$M2M_ID" "$M2M_SECRET"
expect "the deleted client gets no token" invalid_client "$(json .error)"

# --- 5. A gateway started afresh knows at once -------------------------------------------
fault_stop gateway TERM
fault_restart gateway
e2e_wait_port "$HTTPS_PORT" || fail "the gateway did not come back"
expect_revoked "right after a gateway restart" "$TOKEN2"
with "$MGMT_TOKEN" GET /api/v2/users
expect "... while a good token works" 200 "$STATUS"

# --- 6. Escalation: a grant gives no more than its creator holds --------------------------
m2m_client "s5 limited admin" || exit 1
grant "$MGMT_TOKEN" "$M2M_ID" "$MGMT_AUDIENCE" '["create:clients","create:client_grants"]'
expect "the limited admin's grant" 201 "$STATUS"
m2m_token "$M2M_ID" "$M2M_SECRET"
LIMITED=$TOKEN
api POST /api/v2/clients -H "authorization: Bearer $LIMITED" -H 'content-type: application/json' \
  --data '{"name":"s5 minion","app_type":"non_interactive","grant_types":["client_credentials"]}'
expect "the limited admin may create a client" 201 "$STATUS"
MINION_ID=$(json .client_id)
grant "$LIMITED" "$MINION_ID" "$MGMT_AUDIENCE" '["create:clients","delete:users"]'
expect "granting delete:users it lacks: 403" 403 "$STATUS"
expect "... insufficient_scope" insufficient_scope "$(json .errorCode)"
expect_match "... naming the scope" 'delete:users' "$(json .message)"
api GET "/api/v2/client-grants?client_id=$MINION_ID" "${ADMIN[@]}"
expect "no grant was stored" 0 "$(json 'length')"
grant "$LIMITED" "$MINION_ID" "$MGMT_AUDIENCE" '["create:clients"]'
expect "what it holds it may grant" 201 "$STATUS"

# --- 7. Only scopes the API defines -------------------------------------------------------
api POST /api/v2/resource-servers "${ADMIN[@]}" \
  --data '{"identifier":"https://s5.example/api","scopes":[{"value":"read:s5"}]}'
expect "an API" 201 "$STATUS"
grant "$MGMT_TOKEN" "$MINION_ID" https://s5.example/api '["read:s5","write:s5"]'
expect "a scope the API does not define: 400" 400 "$STATUS"
expect "... bad_request" bad_request "$(json .errorCode)"
expect "... naming it" 'Payload validation error: scope "write:s5" is not defined by the resource server' \
  "$(json .message)"
m2m_client "s5 other" || exit 1
grant "$MGMT_TOKEN" "$M2M_ID" "$MGMT_AUDIENCE" '["read:users","delete:everything"]'
expect "... on the Management API too" 400 "$STATUS"
grant "$MGMT_TOKEN" "$MINION_ID" https://s5.example/api '["read:s5"]'
expect "a scope it defines" 201 "$STATUS"
