#!/usr/bin/env bash
# A path whose decoded form holds a NUL byte is refused with 400 (issue 9, "HTTP
# front door"). libmicrohttpd decodes the path before the gateway routes it, and a
# %00 cut it short there: /oauth/token%00 was /oauth/token, and
# /api/v2/clients/<id>%00junk fetched the client <id>. Refused now whatever the
# route, in a path segment or a capture; a literal "%00" (%2500) is an ordinary
# character.
source "$(dirname "${BASH_SOURCE[0]}")/security_lib.sh"
trap 'fault_finish' EXIT

security_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
MGMT=(-H "authorization: Bearer $MGMT_TOKEN")

# refused NAME FAMILY METHOD PATH [curl args...]: 400 with the family's error code
refused() {
  local name=$1 family=$2 method=$3 path=$4; shift 4
  api "$method" "$path" --path-as-is "$@"
  expect "$name: 400" 400 "$STATUS"
  if [[ $family == mgmt ]]; then
    expect "$name: errorCode invalid_uri" invalid_uri "$(json .errorCode)"
  else
    expect "$name: error invalid_request" invalid_request "$(json .error)"
  fi
}

# The captures: without the NUL these are the real client and its real key set
api GET "/api/v2/clients/$CLIENT_ID" "${MGMT[@]}"
expect "the client itself is there" 200 "$STATUS"
refused "client id with %00junk" mgmt GET "/api/v2/clients/$CLIENT_ID%00junk" "${MGMT[@]}"
refused "client id ending in %00" mgmt GET "/api/v2/clients/$CLIENT_ID%00" "${MGMT[@]}"
refused "sub-resource after %00" mgmt DELETE \
  "/api/v2/users/auth0%7Cnobody%00/authentication-methods" "${MGMT[@]}"

# Path segments
boot=$POSTERN_DATA_DIR/bootstrap.json
refused "/oauth/token%00 with good client credentials" auth POST /oauth/token%00 \
  --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$boot")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$boot")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
refused "/.well-known/jwks.json%00" auth GET /.well-known/jwks.json%00
refused "%00 in the middle" auth GET /mfa%00/authenticators -H 'authorization: Bearer x'
refused "%00 on an unknown path" auth GET /nope%00
refused "%00 before the query" mgmt GET "/api/v2/clients%00?fields=name" "${MGMT[@]}"
status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --path-as-is \
         "http://127.0.0.1:$HTTP_PORT/oauth/token%00") || status=000
expect "plain HTTP too" 400 "$status"

# Not a NUL: a literal %00 in an id is an id that does not exist, and a %00 in the
# query is the query's business (form rules: NUL is refused there as invalid_query_string)
api GET "/api/v2/clients/abc%2500" "${MGMT[@]}"
expect "a literal %00 (%2500) is an ordinary id: 404" 404 "$STATUS"
api GET "/api/v2/clients?fields=name%00" "${MGMT[@]}"
expect "%00 in the query: the query's 400" invalid_query_string "$(json .errorCode)"
