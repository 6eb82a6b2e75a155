#!/usr/bin/env bash
# Refresh tokens end to end against the real four processes: Auth0's
# `@auth0/auth0-auth-js` refreshing with rotation and reuse detection and
# revoking (tests/e2e/sdk/refresh.mjs), then curl for what the SDK does not show:
# the discovery document, HTTP Basic on the refresh_token grant, the token
# stored only as its SHA-256, two concurrent uses of one token (in the
# PostgreSQL run, two authn instances over one database) of which exactly one
# succeeds, and /oauth/revoke's answers (200 and an empty body, as Auth0's).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

SDK_DIR=$POSTERN_SOURCE_DIR/tests/e2e/sdk
if [[ ! -d $SDK_DIR/node_modules/auth0 || ! -d $SDK_DIR/node_modules/@auth0/auth0-auth-js ]]; then
  fail "the SDKs are not installed: run scripts/install-deps.sh (npm ci in $SDK_DIR)"
  exit 1
fi
e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
API=https://curl-refresh.example/api
USER_EMAIL=curl.refresh@example.com
USER_PASSWORD='correct horse battery staple'
INVALID='{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}'

# --- The SDK -------------------------------------------------------------------
OUTPUT=$E2E_WORK/sdk-refresh.out
POSTERN_BOOTSTRAP=$BOOT NODE_EXTRA_CA_CERTS=$CA timeout 120 node "$SDK_DIR/refresh.mjs" >"$OUTPUT" 2>&1
STATUS=$?
while IFS= read -r line; do
  case $line in
    "ok   "*) pass "sdk refresh: ${line#ok   }" ;;
    "FAIL "*) fail "sdk refresh: ${line#FAIL }" ;;
    *) e2e_log "     $line" ;;
  esac
done <"$OUTPUT"
check "sdk refresh: ran to its end (exit status $STATUS)" test "$STATUS" = 0

# --- curl ----------------------------------------------------------------------
# authn's tables, on either engine (read only)
authn_sql() {
  if [[ ${POSTERN_AUTHN_DB:-} == postgres* ]]; then
    PGOPTIONS='-c search_path=authn -c default_transaction_read_only=on' \
      psql -qAtX -v ON_ERROR_STOP=1 -d "$POSTERN_AUTHN_DB" -c "$1"
  else
    db_query "$POSTERN_DATA_DIR/authn.db" "$1"
  fi
}

api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
MANAGEMENT_TOKEN=$(json .access_token)
mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" -H 'content-type: application/json' "$@"
}
mgmt PUT /api/v2/guardian/factors/email --data '{"enabled":false}'
expect "email factor off: status" 200 "$STATUS"
mgmt POST /api/v2/resource-servers \
  --data "{\"identifier\":\"$API\",\"name\":\"Curl refresh\",\"allow_offline_access\":true,\"scopes\":[{\"value\":\"read:data\"}]}"
expect "create API allowing offline access: status" 201 "$STATUS"
mgmt POST /api/v2/clients --data '{"name":"Curl refresh app","grant_types":["password","refresh_token"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)
mgmt POST /api/v2/users \
  --data "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\"}"
expect "create user: status" 201 "$STATUS"

api GET /.well-known/openid-configuration
expect "discovery: revocation_endpoint" "https://$DOMAIN/oauth/revoke" "$(json .revocation_endpoint)"
expect "discovery: the refresh_token grant" true "$(json '.grant_types_supported | index("refresh_token") != null')"

# sign_in: a new family; sets REFRESH_TOKEN
sign_in() {
  api POST /oauth/token --data grant_type=password --data-urlencode "username=$USER_EMAIL" \
    --data-urlencode "password=$USER_PASSWORD" --data-urlencode "audience=$API" \
    --data-urlencode "scope=openid read:data offline_access" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
  REFRESH_TOKEN=$(json .refresh_token)
}
# refresh TOKEN: the grant with HTTP Basic client authentication
refresh() {
  api POST /oauth/token -u "$CLIENT_ID:$CLIENT_SECRET" --data grant_type=refresh_token \
    --data-urlencode "refresh_token=$1"
}
revoke() {
  api POST /oauth/revoke --data-urlencode "token=$1" "${@:2}"
}

sign_in
expect "password grant with offline_access: status" 200 "$STATUS"
expect_match "password grant: an opaque refresh token" '^[A-Za-z0-9_-]{43}$' "$REFRESH_TOKEN"
HASH=$(printf '%s' "$REFRESH_TOKEN" | sha256sum | cut -d' ' -f1)
expect "stored: its SHA-256" 1 "$(authn_sql "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '$HASH'")"
expect "stored: never the token itself" 0 \
  "$(authn_sql "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '$REFRESH_TOKEN' OR family_id = '$REFRESH_TOKEN'")"

refresh "$REFRESH_TOKEN"
expect "refresh (HTTP Basic): status" 200 "$STATUS"
expect "refresh: scope" "openid read:data offline_access" "$(json .scope)"
expect "refresh: an id_token" true "$(json '.id_token | type == "string"')"
SECOND=$(json .refresh_token)
check "refresh: a new refresh token" test -n "$SECOND" -a "$SECOND" != "$REFRESH_TOKEN"
expect "refresh: access token gty" refresh_token "$(jwt_claims "$(json .access_token)" | jq -r .gty)"
expect "rotated: the token used is marked" 1 \
  "$(authn_sql "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '$HASH' AND rotated_at IS NOT NULL")"

# Two uses of the same token at once: exactly one succeeds; the other is a reuse,
# which revokes the family, the winner's new token included (no reuse interval)
RACERS=()
for n in 1 2; do
  curl -sS --cacert "$CA" -o "$E2E_WORK/race$n.body" -w '%{http_code}' --max-time 20 \
    -u "$CLIENT_ID:$CLIENT_SECRET" --data grant_type=refresh_token \
    --data-urlencode "refresh_token=$SECOND" "https://$DOMAIN/oauth/token" >"$E2E_WORK/race$n.status" &
  RACERS+=($!)
done
# These two only: the services run in the background too
wait "${RACERS[@]}"
STATUSES=$(sort "$E2E_WORK"/race[12].status | paste -sd' ')
expect "two concurrent uses: one 200, one 403" "200 403" "$STATUSES"
for n in 1 2; do
  if [[ $(cat "$E2E_WORK/race$n.status") == 200 ]]; then
    WINNER=$(jq -r .refresh_token "$E2E_WORK/race$n.body")
  else
    expect "the concurrent loser: invalid_grant" "$INVALID" "$(jq -c . "$E2E_WORK/race$n.body")"
  fi
done
refresh "${WINNER:-none}"
expect "after the reuse: the winner's token is revoked too: status" 403 "$STATUS"
expect "after the reuse: Auth0's error" "$INVALID" "$(jq -c . <<<"$BODY")"

# /oauth/revoke
sign_in
revoke "$REFRESH_TOKEN" --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
expect "revoke: status" 200 "$STATUS"
expect "revoke: empty body" "" "$BODY"
expect "revoke: no-store" no-store "$(header cache-control)"
refresh "$REFRESH_TOKEN"
expect "after revoke: refused" 403 "$STATUS"
expect "after revoke: Auth0's error" "$INVALID" "$(jq -c . <<<"$BODY")"
revoke "$REFRESH_TOKEN" -u "$CLIENT_ID:$CLIENT_SECRET"
expect "revoke again (HTTP Basic): status" 200 "$STATUS"
revoke never-issued --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
expect "revoke an unknown token: status" 200 "$STATUS"
expect "revoke an unknown token: empty body" "" "$BODY"
api POST /oauth/revoke --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
expect "revoke without token: status" 400 "$STATUS"
expect "revoke without token: error" invalid_request "$(json .error)"
sign_in
revoke "$REFRESH_TOKEN" --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=wrong"
expect "revoke with a wrong secret: status" 401 "$STATUS"
expect "revoke with a wrong secret: error" invalid_client "$(json .error)"
refresh "$REFRESH_TOKEN"
expect "a failed revoke leaves the token: status" 200 "$STATUS"
api POST /oauth/token -u "$CLIENT_ID:$CLIENT_SECRET" --data grant_type=refresh_token
expect "refresh_token grant without refresh_token: status" 400 "$STATUS"
expect "refresh_token grant without refresh_token: error" \
  "Missing required parameter: refresh_token" "$(json .error_description)"
