#!/usr/bin/env bash
# CORS for the Authentication and MFA APIs from each application's web_origins
# and allowed_origins, end to end with curl against the real four processes
# (issue 12, item 8): the Management API stores and checks the origins; the
# gateway answers preflights for an origin some application lists (204 with
# the route's methods and headers) and refuses others (403, no CORS header);
# answers name the Origin only when the application the request names lists
# it; the public documents are *; the Management API never gets CORS; a change
# of an application's origins reaches the gateway within its poll (polled
# here, never slept for).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
APP=https://app.example.com
EVIL=https://evil.example.net

mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" "$@"
}
mgmt_json() {
  mgmt "$1" "$2" -H 'content-type: application/json' --data "$3"
}
# preflight PATH ORIGIN [METHOD]: a browser's OPTIONS before a cross-origin call
preflight() {
  api OPTIONS "$1" -H "Origin: $2" -H "Access-Control-Request-Method: ${3:-POST}" \
    -H 'Access-Control-Request-Headers: content-type, auth0-client'
}
# until_preflight ORIGIN STATUS [PATH]: polls the gateway (it reads the origins
# about once a second) until a preflight from ORIGIN gets STATUS; 0 when it did
# within 15 s
until_preflight() {
  local origin=$1 want=$2 path=${3:-/oauth/token}
  for _ in $(seq 150); do
    preflight "$path" "$origin"
    [[ $STATUS == "$want" ]] && return 0
    sleep 0.1
  done
  return 1
}
# no_cors WHAT: the answer carries no CORS header at all
no_cors() {
  check "$1: no CORS header" test -z "$(grep -i '^access-control-' <<<"$HEADERS")"
}

api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token: status" 200 "$STATUS"
MANAGEMENT_TOKEN=$(json .access_token)
MGMT_CLIENT_ID=$(jq -r .client_id "$BOOT")

# --- 1. The Management API stores, shows and checks the origins ------------------------
mgmt_json POST /api/v2/clients "{\"name\":\"Browser app\",\"app_type\":\"spa\",
  \"token_endpoint_auth_method\":\"none\",\"grant_types\":[\"password\"],
  \"web_origins\":[\"$APP\",\"http://localhost:3000\"]}"
expect "create with web_origins: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
expect "create: web_origins shown" "[\"$APP\",\"http://localhost:3000\"]" "$(jq -c .web_origins <<<"$BODY")"
expect "create: allowed_origins shown empty" "[]" "$(jq -c .allowed_origins <<<"$BODY")"
mgmt GET "/api/v2/clients/$CLIENT_ID"
expect "get: web_origins" "[\"$APP\",\"http://localhost:3000\"]" "$(jq -c .web_origins <<<"$BODY")"
mgmt GET /api/v2/clients
expect "list: web_origins" "[\"$APP\",\"http://localhost:3000\"]" \
  "$(jq -c --arg id "$CLIENT_ID" '.[] | select(.client_id == $id) | .web_origins' <<<"$BODY")"

bad_origins() {
  local what=$1 data=$2 message=$3
  mgmt_json PATCH "/api/v2/clients/$CLIENT_ID" "$data"
  expect "$what: status" 400 "$STATUS"
  expect "$what: errorCode" bad_request "$(json .errorCode)"
  expect_match "$what: message" "$message" "$(json .message)"
}
bad_origins "web_origins not an array" '{"web_origins":"https://a.test"}' \
  '^Payload validation error: web_origins must be an array'
bad_origins "an origin with a path" '{"web_origins":["https://a.test/app"]}' \
  '^Payload validation error: web_origins\[0\] is not an origin'
bad_origins "an origin without a scheme" '{"allowed_origins":["https://a.test","a.test"]}' \
  '^Payload validation error: allowed_origins\[1\] is not an origin'
bad_origins "a wildcard in the wrong place" '{"web_origins":["https://a.*.test"]}' \
  'is not an origin'
bad_origins "a number" '{"web_origins":[7]}' 'is not an origin'
LONG="https://$(printf 'a%.0s' $(seq 250)).test"
bad_origins "an origin over 256 bytes" "{\"web_origins\":[\"$LONG\"]}" 'at most 256 bytes'
MANY=$(jq -cn '[range(101) | "https://o\(.).test"]')
bad_origins "101 origins" "{\"web_origins\":$MANY}" 'at most 100 origins'
mgmt GET "/api/v2/clients/$CLIENT_ID"
expect "refused changes left the origins" "[\"$APP\",\"http://localhost:3000\"]" \
  "$(jq -c .web_origins <<<"$BODY")"

# --- 2. Preflights -----------------------------------------------------------------------
check "the gateway allows the new origin within its poll" until_preflight "$APP" 204
preflight /oauth/token "$APP"
expect "preflight /oauth/token: status" 204 "$STATUS"
expect "preflight: Access-Control-Allow-Origin" "$APP" "$(header access-control-allow-origin)"
expect "preflight: Access-Control-Allow-Methods" "POST" "$(header access-control-allow-methods)"
expect "preflight: Access-Control-Allow-Headers" "Authorization, Content-Type, Auth0-Client" \
  "$(header access-control-allow-headers)"
expect "preflight: Access-Control-Max-Age" 7200 "$(header access-control-max-age)"
expect "preflight: Vary" Origin "$(header vary)"
check "preflight: no credentials allowed" test -z "$(header access-control-allow-credentials)"
check "preflight: no body" test -z "$BODY"
preflight /oauth/token http://localhost:3000
expect "preflight from a port: status" 204 "$STATUS"
expect "preflight from a port: origin" http://localhost:3000 "$(header access-control-allow-origin)"
preflight /userinfo "$APP" GET
expect "preflight /userinfo: status" 204 "$STATUS"
expect "preflight /userinfo: methods" "GET, POST" "$(header access-control-allow-methods)"
preflight /mfa/authenticators "$APP" GET
expect "preflight /mfa/authenticators: status" 204 "$STATUS"
expect "preflight /mfa/authenticators: methods" "GET" "$(header access-control-allow-methods)"
preflight /mfa/authenticators/abc "$APP" DELETE
expect "preflight DELETE /mfa/authenticators/{id}: status" 204 "$STATUS"
preflight /mfa/associate "$APP"
expect "preflight /mfa/associate: status" 204 "$STATUS"
preflight /mfa/challenge "$APP"
expect "preflight /mfa/challenge: status" 204 "$STATUS"
preflight /oauth/token "$APP" DELETE
expect "preflight for a method the path lacks: status" 405 "$STATUS"
no_cors "preflight for a method the path lacks"

preflight /oauth/token "$EVIL"
expect "preflight from an unlisted origin: status" 403 "$STATUS"
expect "preflight from an unlisted origin: error" access_denied "$(json .error)"
no_cors "preflight from an unlisted origin"
preflight /oauth/token "http://app.example.com"
expect "preflight from the listed host over http: status" 403 "$STATUS"
api OPTIONS /oauth/token
expect "OPTIONS without Origin: status" 204 "$STATUS"
expect "OPTIONS without Origin: Allow" POST "$(header allow)"
no_cors "OPTIONS without Origin"

# --- 3. Actual answers ----------------------------------------------------------------------
api POST /oauth/token -H "Origin: $APP" --data grant_type=password \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "username=nobody@example.com" \
  --data-urlencode "password=wrong password"
expect "an error to the listed origin: status" 403 "$STATUS"
expect "an error to the listed origin: Access-Control-Allow-Origin" "$APP" \
  "$(header access-control-allow-origin)"
expect "an error to the listed origin: Vary" Origin "$(header vary)"
expect_match "an error to the listed origin: exposed headers" 'WWW-Authenticate' \
  "$(header access-control-expose-headers)"
api POST /oauth/token -H "Origin: $EVIL" --data grant_type=password \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "username=nobody@example.com" \
  --data-urlencode "password=wrong password"
expect "an unlisted origin: answered as without one" 403 "$STATUS"
check "an unlisted origin: no Access-Control-Allow-Origin" \
  test -z "$(header access-control-allow-origin)"
expect "an unlisted origin: Vary" Origin "$(header vary)"
# Another application names the request: its own origins count, not the tenant's
api POST /oauth/token -H "Origin: $APP" --data grant_type=client_credentials \
  --data-urlencode "client_id=$MGMT_CLIENT_ID" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "another application's request: status" 200 "$STATUS"
check "another application's request: no Access-Control-Allow-Origin" \
  test -z "$(header access-control-allow-origin)"
# HTTP Basic names the application too
api POST /oauth/token -H "Origin: $APP" -u "$CLIENT_ID:nothing" --data grant_type=password \
  --data-urlencode "username=nobody@example.com" --data-urlencode "password=wrong password"
expect "Basic credentials name the application: Access-Control-Allow-Origin" "$APP" \
  "$(header access-control-allow-origin)"
# A request that names no application (an mfa_token is opaque to the gateway)
api GET /mfa/authenticators -H "Origin: $APP" -H 'authorization: Bearer not-a-token'
expect "/mfa/authenticators, any application's origin: Access-Control-Allow-Origin" "$APP" \
  "$(header access-control-allow-origin)"

api GET /.well-known/jwks.json -H "Origin: $EVIL"
expect "JWKS: status" 200 "$STATUS"
expect "JWKS: any origin" '*' "$(header access-control-allow-origin)"
api GET /.well-known/openid-configuration -H "Origin: $EVIL"
expect "discovery: any origin" '*' "$(header access-control-allow-origin)"
preflight /.well-known/openid-configuration "$EVIL" GET
expect "discovery preflight: status" 204 "$STATUS"
expect "discovery preflight: any origin" '*' "$(header access-control-allow-origin)"

# --- 4. The Management API never gets CORS -------------------------------------------------
mgmt GET /api/v2/clients -H "Origin: $APP"
expect "Management API with a listed Origin: status" 200 "$STATUS"
no_cors "Management API with a listed Origin"
api OPTIONS /api/v2/clients -H "Origin: $APP" -H 'Access-Control-Request-Method: GET'
expect "Management API preflight: status" 405 "$STATUS"
no_cors "Management API preflight"
api OPTIONS "/api/v2/clients/$CLIENT_ID" -H "Origin: $APP" \
  -H 'Access-Control-Request-Method: PATCH'
expect "Management API preflight on an item: status" 405 "$STATUS"
no_cors "Management API preflight on an item"

# --- 5. Changes reach the gateway within its poll ----------------------------------------
mgmt_json PATCH "/api/v2/clients/$CLIENT_ID" \
  '{"web_origins":["https://new.example.com"],"allowed_origins":["https://*.wild.example.com"]}'
expect "update origins: status" 200 "$STATUS"
expect "update: web_origins" '["https://new.example.com"]' "$(jq -c .web_origins <<<"$BODY")"
expect "update: allowed_origins" '["https://*.wild.example.com"]' \
  "$(jq -c .allowed_origins <<<"$BODY")"
check "the added origin is allowed within the poll" until_preflight https://new.example.com 204
check "the removed origin is refused within the poll" until_preflight "$APP" 403
preflight /oauth/token https://a1.wild.example.com
expect "allowed_origins' wildcard: status" 204 "$STATUS"
expect "allowed_origins' wildcard: the origin itself" https://a1.wild.example.com \
  "$(header access-control-allow-origin)"
preflight /oauth/token https://a.b.wild.example.com
expect "a wildcard is one label: status" 403 "$STATUS"
mgmt_json PATCH "/api/v2/clients/$CLIENT_ID" '{"name":"Renamed"}'
expect "an update without origins keeps them" '["https://new.example.com"]' \
  "$(jq -c .web_origins <<<"$BODY")"

mgmt DELETE "/api/v2/clients/$CLIENT_ID"
expect "delete the application: status" 204 "$STATUS"
check "a deleted application's origins go within the poll" \
  until_preflight https://new.example.com 403
