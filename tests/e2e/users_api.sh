#!/usr/bin/env bash
# The Management API's users as a migration from Auth0 needs them, end to end
# with curl against the real four processes and real TLS (issue 12, item 7):
# user_id on create (every sub kept), app_metadata and user_metadata (stored,
# returned, merged by PATCH as Auth0 merges), GET /api/v2/users with q, page,
# per_page and include_totals, users-by-email without case, and Auth0's
# x-ratelimit-* headers on every Management API answer, for a limit the gateway
# keeps (429 with Retry-After, shown on a gateway restarted with a small one).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
PASSWORD='correct horse battery staple'

urlencode() { jq -rn --arg v "$1" '$v | @uri'; }

# mgmt METHOD PATH [curl args...]: a Management API call with the bootstrap token
mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" "$@"
}
mgmt_json() {
  local method=$1 path=$2 data=$3
  mgmt "$method" "$path" -H 'content-type: application/json' --data "$data"
}
# sorted FILTER: jq's compact output of FILTER over BODY, keys sorted
sorted() { jq -cS "$1" <<<"$BODY"; }
# users QUERY: GET /api/v2/users?QUERY
users() { mgmt GET "/api/v2/users?$1"; }

# Auth0's Management API error: status, statusCode, error, errorCode, message
expect_mgmt_error() {
  local what=$1 status=$2 code=$3 message=$4
  expect "$what: status" "$status" "$STATUS"
  expect "$what: statusCode" "$status" "$(json .statusCode)"
  expect "$what: errorCode" "$code" "$(json .errorCode)"
  expect_match "$what: message" "$message" "$(json .message)"
}

api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token: status" 200 "$STATUS"
check "no x-ratelimit headers on the Authentication API" test -z "$(header x-ratelimit-limit)"
MANAGEMENT_TOKEN=$(json .access_token)

mgmt_json POST /api/v2/clients '{"name":"Migrated app","grant_types":["password"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)

# --- 1. user_id on create: the sub survives the migration ---------------------------
mgmt_json POST /api/v2/users "{\"connection\":\"Username-Password-Authentication\",
  \"email\":\"Migrated@Example.com\",\"password\":\"$PASSWORD\",\"email_verified\":true,
  \"user_id\":\"5f1a2b3c4d5e6f708192a3b4\",
  \"app_metadata\":{\"plan\":\"gold\",\"roles\":[\"admin\"]},
  \"user_metadata\":{\"theme\":\"dark\",\"nothing\":null}}"
expect "create with user_id: status" 201 "$STATUS"
USER_ID=$(json .user_id)
expect "create with user_id: auth0| + the id given" "auth0|5f1a2b3c4d5e6f708192a3b4" "$USER_ID"
expect "create with user_id: the identity's user_id" 5f1a2b3c4d5e6f708192a3b4 "$(json '.identities[0].user_id')"
expect "create: app_metadata returned" '{"plan":"gold","roles":["admin"]}' "$(sorted .app_metadata)"
expect "create: user_metadata returned, null member not stored" '{"theme":"dark"}' "$(sorted .user_metadata)"
USER_PATH=/api/v2/users/$(urlencode "$USER_ID")

mgmt_json POST /api/v2/users "{\"connection\":\"Username-Password-Authentication\",
  \"email\":\"other@example.com\",\"password\":\"$PASSWORD\",\"user_id\":\"5f1a2b3c4d5e6f708192a3b4\"}"
expect_mgmt_error "user_id taken" 409 conflict 'The user already exists'
mgmt_json POST /api/v2/users "{\"connection\":\"Username-Password-Authentication\",
  \"email\":\"other@example.com\",\"password\":\"$PASSWORD\",\"user_id\":\"auth0|abc\"}"
expect_mgmt_error "user_id with its provider" 400 bad_request 'without its provider'
mgmt_json POST /api/v2/users "{\"connection\":\"Username-Password-Authentication\",
  \"email\":\"other@example.com\",\"password\":\"$PASSWORD\",\"user_id\":\"a b\"}"
expect_mgmt_error "user_id with a blank" 400 bad_request '^Payload validation error: user_id must be'

api POST /oauth/token --data grant_type=password --data-urlencode "username=migrated@example.com" \
  --data-urlencode "password=$PASSWORD" --data-urlencode "client_id=$CLIENT_ID" \
  --data-urlencode "client_secret=$CLIENT_SECRET" --data-urlencode "scope=openid"
expect "migrated user signs in: status" 200 "$STATUS"
expect "migrated user's id_token: the same sub" "$USER_ID" \
  "$(b64url_decode "$(cut -d. -f2 <<<"$(json .id_token)")" | jq -r .sub)"

# --- 2. metadata merged by PATCH as Auth0 merges ---------------------------------------
mgmt_json PATCH "$USER_PATH" '{"user_metadata":{"addresses":{"home":"123 Main Street"}}}'
expect "PATCH adds a member: status" 200 "$STATUS"
expect "PATCH adds a member: merged" '{"addresses":{"home":"123 Main Street"},"theme":"dark"}' \
  "$(sorted .user_metadata)"
expect "PATCH of user_metadata leaves app_metadata" '{"plan":"gold","roles":["admin"]}' \
  "$(sorted .app_metadata)"
mgmt_json PATCH "$USER_PATH" '{"user_metadata":{"addresses":{"work":"100 Industrial Way"},"theme":null}}'
expect "PATCH: a nested object replaced whole, null removes" '{"addresses":{"work":"100 Industrial Way"}}' \
  "$(sorted .user_metadata)"
mgmt_json PATCH "$USER_PATH" '{"app_metadata":{}}'
expect "PATCH with {} clears app_metadata" null "$(json '.app_metadata')"
mgmt_json PATCH "$USER_PATH" '{"app_metadata":{"plan":"platinum"}}'
# A member Postern does not support is refused, never ignored: a "blocked" that
# answered 200 would leave the user able to sign in
mgmt_json PATCH "$USER_PATH" '{"blocked":true,"app_metadata":{"plan":"bronze"}}'
expect "PATCH with an unsupported member: status" 400 "$STATUS"
expect "PATCH with an unsupported member: errorCode" invalid_body "$(json .errorCode)"
expect_match "PATCH with an unsupported member: names it" "Additional properties not allowed: blocked" \
  "$(json .message)"
mgmt_json PATCH "$USER_PATH" '{"password":"another long password","connection":"Another-Connection"}'
expect "PATCH naming another connection: status" 400 "$STATUS"
mgmt_json POST /api/v2/clients '{"name":"With callbacks","callbacks":["https://app.example/cb"]}'
expect "POST client with an unsupported member: status" 400 "$STATUS"
expect_match "POST client with an unsupported member: names it" "not allowed: callbacks" "$(json .message)"
mgmt GET "$USER_PATH"
expect "GET user: app_metadata (the refused PATCH changed nothing)" '{"plan":"platinum"}' "$(sorted .app_metadata)"
expect "GET user: user_metadata" '{"addresses":{"work":"100 Industrial Way"}}' "$(sorted .user_metadata)"
mgmt_json PATCH "$USER_PATH" '{"user_metadata":{"preference.color":"pink"}}'
expect_mgmt_error "metadata key with a dot" 400 bad_request "cannot hold '\\.' or '\\$'"
mgmt_json PATCH "$USER_PATH" '{"app_metadata":{"email":"x@example.com"}}'
expect_mgmt_error "app_metadata with a reserved name" 400 bad_request 'app_metadata cannot hold "email"'
mgmt_json PATCH "$USER_PATH" '{"user_metadata":"dark"}'
expect_mgmt_error "metadata not an object" 400 bad_request 'user_metadata must be an object'

# --- 3. search: q, page, per_page, include_totals --------------------------------------
for i in 1 2 3; do
  mgmt_json POST /api/v2/users "{\"connection\":\"Username-Password-Authentication\",
    \"email\":\"page$i@example.com\",\"password\":\"$PASSWORD\"}"
  expect "create page$i: status" 201 "$STATUS"
done
users "q=$(urlencode 'email:"MIGRATED@example.com"')&search_engine=v3"
expect "q=email:\"...\" without case: status" 200 "$STATUS"
expect "q=email:\"...\": exactly that user" "[\"$USER_ID\"]" "$(json '[.[].user_id] | tojson')"
users "q=$(urlencode "user_id:\"$USER_ID\"")"
expect "q=user_id:\"...\": exactly that user" "[\"$USER_ID\"]" "$(json '[.[].user_id] | tojson')"
users "q=$(urlencode 'email:page2@example.com')"
expect "q with a bare value" '["page2@example.com"]' "$(json '[.[].email] | tojson')"
users "q=$(urlencode 'email:"nobody@x.y"')"
expect "q=email of nobody: an empty array" "[]" "$BODY"
users "email=PAGE1%40example.com"
expect "the email parameter still narrows" '["page1@example.com"]' "$(json '[.[].email] | tojson')"
users "include_totals=true"
expect "include_totals: status" 200 "$STATUS"
expect "include_totals: start, limit, length, total" '[0,50,4,4]' "$(json '[.start, .limit, .length, .total] | tojson')"
expect "include_totals: users" 4 "$(json '.users | length')"
users "page=1&per_page=2&include_totals=true"
expect "page 1 of 2: start, limit, length, total" '[2,2,2,4]' "$(json '[.start, .limit, .length, .total] | tojson')"
expect "page 1 of 2: the third and fourth users" '["page2@example.com","page3@example.com"]' \
  "$(json '[.users[].email] | tojson')"
users "page=2&per_page=2"
expect "past the end: an empty array" "[]" "$BODY"
users "per_page=101"
expect_mgmt_error "per_page 101" 400 invalid_query_string '^Query validation error: per_page'
users "page=-1"
expect_mgmt_error "page -1" 400 invalid_query_string '^Query validation error: page'
users "include_totals=maybe"
expect_mgmt_error "include_totals maybe" 400 invalid_query_string '^Query validation error: include_totals'
users "q=$(urlencode 'name:"Jane"')"
expect_mgmt_error "q on a field Postern does not search" 400 invalid_query_string '^Query validation error: q searches'
users "q=$(urlencode 'email:jane*')"
expect_mgmt_error "q with a wildcard" 400 invalid_query_string '^Query validation error: '
users "q=$(urlencode 'email:"a@example.com" OR email:"b@example.com"')"
expect_mgmt_error "q with two terms" 400 invalid_query_string '^Query validation error: q is one term'

# --- 4. users-by-email without case ----------------------------------------------------
mgmt GET "/api/v2/users-by-email?email=$(urlencode MIGRATED@EXAMPLE.COM)"
expect "users-by-email in capitals: the user" "[\"$USER_ID\"]" "$(json '[.[].user_id] | tojson')"

# --- 5. x-ratelimit-* on every Management answer, and kept ----------------------------
mgmt GET "$USER_PATH"
NOW=$(date +%s)
expect "x-ratelimit-limit: the default bucket" 100 "$(header x-ratelimit-limit)"
expect_match "x-ratelimit-remaining: a count" '^[0-9]+$' "$(header x-ratelimit-remaining)"
check "x-ratelimit-reset: a Unix second ahead" test "$(header x-ratelimit-reset)" -ge "$NOW"
mgmt GET /api/v2/no-such-thing
expect "404 on /api/v2: x-ratelimit-limit too" 100 "$(header x-ratelimit-limit)"
api GET /api/v2/users
expect "no token: 401" 401 "$STATUS"
expect "no token: x-ratelimit-limit too" 100 "$(header x-ratelimit-limit)"

# A gateway started with a bucket of 3 refilled at 1 a second
e2e_kill gateway TERM
POSTERN_MGMT_RATE_LIMIT=3 POSTERN_MGMT_RATE_PER_S=1 e2e_restart gateway
e2e_wait_port "$HTTPS_PORT" || fail "the gateway did not come back"
sleep 0.5
mgmt GET "$USER_PATH"
expect "small bucket: first request served" 200 "$STATUS"
expect "small bucket: x-ratelimit-limit" 3 "$(header x-ratelimit-limit)"
expect "small bucket: x-ratelimit-remaining" 2 "$(header x-ratelimit-remaining)"
for attempt in 1 2 3 4 5 6; do
  mgmt GET "$USER_PATH"
  [[ $STATUS == 429 ]] && break
done
expect_mgmt_error "empty bucket" 429 too_many_requests 'rate limit'
expect "empty bucket: x-ratelimit-remaining" 0 "$(header x-ratelimit-remaining)"
expect "empty bucket: Retry-After" 1 "$(header retry-after)"
check "empty bucket: x-ratelimit-reset ahead" test "$(header x-ratelimit-reset)" -ge "$(date +%s)"
sleep "$(header retry-after)"
sleep 0.1
mgmt GET "$USER_PATH"
expect "after Retry-After: served again" 200 "$STATUS"
