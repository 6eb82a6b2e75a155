#!/usr/bin/env bash
# The Management API's log events, end to end against the real four processes:
# sign-ins (a wrong password, an unknown user, right ones), an email enrolment,
# challenges (a wrong code, a right one), then GET /api/v2/logs and
# /api/v2/users/{id}/logs with curl: Auth0's event codes in the order they
# happened, authn's rows and mfa's merged, page/per_page and from/take paging
# without duplicates or gaps, q, scopes, and no secret in any event; then the
# same events read with Auth0's `auth0` ManagementClient (tests/e2e/sdk/logs.mjs).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'e2e_finish' EXIT

e2e_start || { fail "stack did not start"; exit 1; }
BOOT=$POSTERN_DATA_DIR/bootstrap.json
USER_EMAIL=logs@example.com
USER_PASSWORD='correct horse battery staple'
WRONG_PASSWORD='not the password at all'
MAILS=0

urlencode() { jq -rn --arg v "$1" '$v | @uri'; }

next_code() {
  local mail
  CODE=
  MAILS=$((MAILS + 1))
  mail=$(wait_mail "$MAILS") || { fail "email $MAILS did not arrive"; return 1; }
  CODE=$(mail_field "$mail" code)
}

password_grant() {
  api POST /oauth/token --data grant_type=password --data-urlencode "username=$1" \
    --data-urlencode "password=$2" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
}

mgmt() {
  local method=$1 path=$2; shift 2
  api "$method" "$path" -H "authorization: Bearer $MANAGEMENT_TOKEN" "$@"
}

# logs PATH QUERY...: GET PATH with each QUERY url-encoded
logs() {
  local path=$1; shift
  local args=(-G)
  for query in "$@"; do args+=(--data-urlencode "$query"); done
  mgmt GET "$path" "${args[@]}"
}

# --- Tenant: management token, the email factor, application, user -----------------
BOOT_ID=$(jq -r .client_id "$BOOT")
api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$BOOT_ID" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token: status" 200 "$STATUS"
MANAGEMENT_TOKEN=$(json .access_token)
check "management token carries read:logs and read:logs_users" \
  grep -qE '(^| )read:logs( .*)? read:logs_users( |$)|read:logs_users.* read:logs( |$)' <<<"$(json .scope)"
mgmt PUT /api/v2/guardian/factors/email -H 'content-type: application/json' --data '{"enabled":true}'
expect "enable email factor: status" 200 "$STATUS"
mgmt POST /api/v2/clients -H 'content-type: application/json' \
  --data '{"name":"Logs app","app_type":"regular_web","token_endpoint_auth_method":"client_secret_post","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)
mgmt POST /api/v2/users -H 'content-type: application/json' \
  --data "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\",\"email_verified\":true}"
expect "create user: status" 201 "$STATUS"
USER_ID=$(json .user_id)
USER_PATH=/api/v2/users/$(urlencode "$USER_ID")

# --- What the log will tell ----------------------------------------------------------
password_grant "$USER_EMAIL" "$WRONG_PASSWORD"
expect "wrong password: 403" 403 "$STATUS"
password_grant nobody@example.com "$WRONG_PASSWORD"
expect "unknown user: 403" 403 "$STATUS"
password_grant "$USER_EMAIL" "$USER_PASSWORD"
expect "first sign-in: mfa_required" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
api POST /mfa/associate -H "authorization: Bearer $MFA_TOKEN" -H 'content-type: application/json' \
  --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
expect "associate email: status" 200 "$STATUS"
OOB_CODE=$(json .oob_code)
RECOVERY_CODE=$(json '.recovery_codes[0]')
next_code
ENROL_CODE=$CODE
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "enrolment: tokens" 200 "$STATUS"
ACCESS_TOKEN=$(json .access_token)

password_grant "$USER_EMAIL" "$USER_PASSWORD"
expect "second sign-in: mfa_required" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
api POST /mfa/challenge -H 'content-type: application/json' --data "$(jq -cn --arg t "$MFA_TOKEN" \
  --arg c "$CLIENT_ID" --arg s "$CLIENT_SECRET" \
  '{mfa_token: $t, challenge_type: "oob", client_id: $c, client_secret: $s}')"
expect "challenge: status" 200 "$STATUS"
OOB_CODE=$(json .oob_code)
next_code
WRONG_CODE=$(printf '%06d' $(( (10#$CODE + 1) % 1000000 )))
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$WRONG_CODE"
expect "a wrong code: 403" 403 "$STATUS"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "the right code: tokens" 200 "$STATUS"

# A checkpoint read leaves the last two seconds for later (pst_logs.h)
sleep 3

# --- The user's events, oldest first ----------------------------------------------------
WANT="fp gd_start_auth gd_start_enroll gd_send_email gd_enrollment_complete seoobft"
WANT+=" gd_start_auth gd_send_email gd_auth_failed gd_auth_succeed seoobft"
logs /api/v2/logs "q=user_id:\"$USER_ID\"" sort=date:1
expect "logs of the user: status" 200 "$STATUS"
expect "logs: ascending dates" true "$(json '[.[].date] == ([.[].date] | sort)')"
expect "logs: ascending log_ids" true "$(json '[.[].log_id] == ([.[].log_id] | sort)')"
# Two services' events of the same millisecond sort authn's first (pst_logs.h),
# while mfa's come first in time (authn writes its own after mfa answered): from
# here on the events are read by date, a tie in the order they happened
SERVED_USER=$BODY
BODY=$(jq 'sort_by(.date, (if (.type | startswith("gd_")) then 0 else 1 end))' <<<"$BODY")
expect "logs of the user: Auth0's codes in order" "$WANT" "$(json '[.[].type] | join(" ")')"
ALL_USER=$BODY
expect "fp: Auth0's description" "Wrong email or password." \
  "$(json '.[0].description')"
expect "fp: the user's email" "$USER_EMAIL" "$(json '.[0].user_name')"
expect "fp: the application's name" "Logs app" "$(json '.[0].client_name')"
expect "fp: the client" "$CLIENT_ID" "$(json '.[0].client_id')"
expect_match "fp: the caller's address" '^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$' "$(json '.[0].ip')"
expect_match "fp: an ISO 8601 date" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$(json '.[0].date')"
expect "seoobft: its client" "$CLIENT_ID" "$(json '.[5].client_id')"
expect "gd_auth_failed: failure" failure "$(json '.[8].details.result')"
# A refused MFA grant: authn learns no user from mfa's refusal (gd_auth_failed
# names it), so feoobft is the client's
logs /api/v2/logs "q=type:feoobft AND client_id:\"$CLIENT_ID\""
expect "feoobft: the refused code" "1 failure" "$(json '"\(length) \(.[0].details.result)"')"
expect "feoobft: after gd_auth_failed, by date" true \
  "$(jq --arg date "$(json '.[0].date')" '.[8].date <= $date and .[9].date >= $date' <<<"$ALL_USER")"

# No secret anywhere: not the password, the codes, the tokens, the recovery code
logs /api/v2/logs per_page=100
EVERYTHING=$BODY
for secret in "$USER_PASSWORD" "$WRONG_PASSWORD" "$ENROL_CODE" "$CODE" "$WRONG_CODE" \
              "$CLIENT_SECRET" "$MFA_TOKEN" "$ACCESS_TOKEN" "$RECOVERY_CODE" "$OOB_CODE"; do
  check "no secret in the log (${secret:0:4}…)" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$secret" "$EVERYTHING"
done

# --- The users route: newest first, include_totals, another user's nothing ----------------
mgmt GET "$USER_PATH/logs"
expect "users logs: status" 200 "$STATUS"
expect "users logs: newest first" "$(jq -r '[reverse[].log_id] | join(" ")' <<<"$SERVED_USER")" \
  "$(json '[.[].log_id] | join(" ")')"
mgmt GET "$USER_PATH/logs?per_page=5&page=1&include_totals=true"
expect "users logs with totals: the shape" "5 5 5 11" "$(json '"\(.start) \(.limit) \(.length) \(.total)"')"
expect "users logs page 1: the next five" "$(jq -r '[reverse[5:10][].log_id] | join(" ")' <<<"$SERVED_USER")" \
  "$(json '[.logs[].log_id] | join(" ")')"
mgmt GET "/api/v2/users/$(urlencode 'auth0|nobody')/logs"
expect "a user without events: empty" "200 0" "$STATUS $(json length)"

# --- page/per_page over both services: every event once -----------------------------------
logs /api/v2/logs sort=date:1 per_page=100 include_totals=true
TOTAL=$(json .total)
ALL=$(json '[.logs[].log_id] | join(" ")')
expect "all events: as many as total" "$TOTAL" "$(json '.logs | length')"
PAGED=
for page in $(seq 0 $(( (TOTAL + 2) / 3 - 1 ))); do
  logs /api/v2/logs sort=date:1 per_page=3 "page=$page"
  PAGED+=" $(json '[.[].log_id] | join(" ")')"
done
expect "page/per_page: every event once, in order" "$ALL" "$(xargs <<<"$PAGED")"
logs /api/v2/logs per_page=3 page=1
expect "newest first by default" "$(tr ' ' '\n' <<<"$ALL" | tac | sed -n 4,6p | xargs)" \
  "$(json '[.[].log_id] | join(" ")')"

# --- from/take: every event after the first once, in order ----------------------------------
FIRST=${ALL%% *}
CURSOR=$FIRST
WALKED=
for _ in $(seq 1 100); do
  logs /api/v2/logs "from=$CURSOR" take=4 q=ignored:nonsense
  [[ $STATUS == 200 ]] || { fail "from/take: status $STATUS"; break; }
  [[ $(json length) == 0 ]] && break
  WALKED+=" $(json '[.[].log_id] | join(" ")')"
  CURSOR=$(json '.[-1].log_id')
done
expect "from/take: the events after the first, without duplicates or gaps" \
  "${ALL#"$FIRST" }" "$(xargs <<<"$WALKED")"

# --- q ----------------------------------------------------------------------------------------
logs /api/v2/logs 'q=type:"seccft"'
expect "q type: only seccft" seccft "$(json '[.[].type] | unique | join(" ")')"
expect "q type: the management application's" "$BOOT_ID" "$(json '.[0].client_id')"
logs /api/v2/logs "q=type:fu AND client_id:\"$CLIENT_ID\""
expect "q type and client: the unknown user" "1 fu nobody@example.com" \
  "$(json '"\(length) \(.[0].type) \(.[0].user_name)"')"
logs /api/v2/logs "q=user_id:\"$USER_ID\" AND date:[2000-01-01 TO 2000-12-31]"
expect "q date: nothing in 2000" "200 0" "$STATUS $(json length)"
logs /api/v2/logs 'q=type:fp OR type:fu'
expect "q with OR: 400" 400 "$STATUS"
expect "q with OR: invalid_query_string" invalid_query_string "$(json .errorCode)"
expect_match "q with OR: says why" 'Query validation error: .*AND only' "$(json .message)"
logs /api/v2/logs per_page=101
expect "per_page over 100: 400" 400 "$STATUS"
logs /api/v2/logs per_page=100 page=10
expect "past the first 1000: 400" 400 "$STATUS"
logs /api/v2/logs from=not-a-log-id
expect "from not a log_id: 400" 400 "$STATUS"
logs /api/v2/logs per_page=100 include_totals=true
expect "a refused query changed nothing" "$TOTAL" "$(json .total)"
logs /api/v2/logs per_page=1 fields=log_id,type
expect "fields: those named" '["log_id","type"]' "$(json '.[0] | keys | tostring')"

# --- Scopes: read:logs_users reads a user's events, not the tenant's ------------------------
mgmt POST /api/v2/clients -H 'content-type: application/json' \
  --data '{"name":"Log reader","app_type":"non_interactive","grant_types":["client_credentials"]}'
READER_ID=$(json .client_id)
READER_SECRET=$(json .client_secret)
mgmt POST /api/v2/client-grants -H 'content-type: application/json' \
  --data "{\"client_id\":\"$READER_ID\",\"audience\":\"https://$DOMAIN/api/v2/\",\"scope\":[\"read:logs_users\"]}"
expect "a grant of read:logs_users: status" 201 "$STATUS"
api POST /oauth/token --data grant_type=client_credentials --data-urlencode "client_id=$READER_ID" \
  --data-urlencode "client_secret=$READER_SECRET" --data-urlencode "audience=https://$DOMAIN/api/v2/"
READER_TOKEN=$(json .access_token)
api GET "$USER_PATH/logs" -H "authorization: Bearer $READER_TOKEN"
expect "read:logs_users: the user's events" "200 11" "$STATUS $(json length)"
api GET /api/v2/logs -H "authorization: Bearer $READER_TOKEN"
expect "read:logs_users: not the tenant's" 403 "$STATUS"
expect "read:logs_users: insufficient_scope" insufficient_scope "$(json .errorCode)"

# --- Auth0's ManagementClient reads the same -----------------------------------------------
SDK_DIR=$POSTERN_SOURCE_DIR/tests/e2e/sdk
if [[ ! -d $SDK_DIR/node_modules/auth0 ]]; then
  fail "the SDKs are not installed: run scripts/install-deps.sh (npm ci in $SDK_DIR)"
  exit 1
fi
OUTPUT=$E2E_WORK/sdk-logs.out
POSTERN_BOOTSTRAP=$BOOT POSTERN_LOG_USER=$USER_ID POSTERN_LOG_TYPES=$WANT NODE_EXTRA_CA_CERTS=$CA \
  timeout 120 node "$SDK_DIR/logs.mjs" >"$OUTPUT" 2>&1
STATUS=$?
while IFS= read -r line; do
  case $line in
    "ok   "*) pass "sdk logs: ${line#ok   }" ;;
    "FAIL "*) fail "sdk logs: ${line#FAIL }" ;;
    *) e2e_log "     $line" ;;
  esac
done <"$OUTPUT"
check "sdk logs: ran to its end (exit status $STATUS)" test "$STATUS" = 0
