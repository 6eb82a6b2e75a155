#!/usr/bin/env bash
# Throughput and latency of the gateway → service paths, measured with wrk over
# HTTPS against the real four processes (started as in the e2e tests):
#   jwks      GET /.well-known/jwks.json   HTTP + TLS + one bus round trip, no crypto
#   cc        client_credentials grant     + one RSA-2048 signature
#   password  password grant → mfa_required + one argon2id (19 MiB, t=2) + a call to mfa
#             (every answer is the expected 403 mfa_required: wrk counts them as Non-2xx)
# Usage: bench/grants.sh [seconds per run, default 10] [connections, default 8]
# Needs a build (./postern build); installs wrk if missing.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export POSTERN_SOURCE_DIR=$here POSTERN_BINARY_DIR=${POSTERN_BINARY_DIR:-$here/build}
seconds=${1:-10}
connections=${2:-8}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || exit 1; }
source "$here/tests/e2e/lib.sh"
trap 'e2e_finish' EXIT
export POSTERN_LOG_LEVEL=warn
e2e_start || exit 1
BOOT=$POSTERN_DATA_DIR/bootstrap.json
api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
TOKEN=$(json .access_token)
auth=(-H "authorization: Bearer $TOKEN" -H 'content-type: application/json')
api POST /api/v2/resource-servers "${auth[@]}" --data '{"identifier":"https://bench.example/api"}'
api POST /api/v2/clients "${auth[@]}" \
  --data '{"name":"bench","grant_types":["client_credentials","password","http://auth0.com/oauth/grant-type/mfa-oob"]}'
CLIENT_ID=$(json .client_id); CLIENT_SECRET=$(json .client_secret)
api POST /api/v2/client-grants "${auth[@]}" \
  --data "{\"client_id\":\"$CLIENT_ID\",\"audience\":\"https://bench.example/api\",\"scope\":[]}"
api POST /api/v2/users "${auth[@]}" \
  --data '{"email":"bench@example.com","password":"bench password 1","connection":"Username-Password-Authentication"}'
api PUT /api/v2/guardian/factors/email "${auth[@]}" --data '{"enabled":true}'

lua=$E2E_WORK/post.lua
run() {
  local name=$1 method=$2 path=$3 body=${4:-}
  cat >"$lua" <<LUA
wrk.method = "$method"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
  echo "== $name ($connections connections, ${seconds}s)"
  wrk -t 2 -c "$connections" -d "${seconds}s" --latency -s "$lua" "https://$DOMAIN$path" \
    | grep -E "Requests/sec|Latency  |50%|99%|Non-2xx|Socket errors"
}
run jwks GET /.well-known/jwks.json
run cc POST /oauth/token \
  "grant_type=client_credentials&client_id=$CLIENT_ID&client_secret=$CLIENT_SECRET&audience=https%3A%2F%2Fbench.example%2Fapi"
run password POST /oauth/token \
  "grant_type=password&username=bench%40example.com&password=bench+password+1&client_id=$CLIENT_ID&client_secret=$CLIENT_SECRET&audience=https%3A%2F%2Fbench.example%2Fapi"
pass "benchmark ran"
