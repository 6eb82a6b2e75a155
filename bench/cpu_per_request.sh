#!/usr/bin/env bash
# CPU time the gateway and authn spend per request, for JWKS and client_credentials:
# steadier than requests per second on a shared machine, where other work takes
# the cores wrk and the services would use. Starts the four processes as the e2e
# tests do, runs wrk for SECONDS at 8 connections over HTTPS, reads the two
# processes' CPU ticks from /proc before and after.
#   bench/cpu_per_request.sh [SECONDS]       (POSTERN_BINARY_DIR: default ./build)
# Compare two commits by running it from each tree, interleaved.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export POSTERN_SOURCE_DIR=$here POSTERN_BINARY_DIR=${POSTERN_BINARY_DIR:-$here/build}
export POSTERN_LOG_LEVEL=warn
seconds=${1:-5}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || exit 1; }
source "$here/tests/e2e/lib.sh"
trap 'e2e_finish' EXIT
e2e_start || exit 1
BOOT=$POSTERN_DATA_DIR/bootstrap.json
api POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
TOKEN=$(json .access_token)
auth=(-H "authorization: Bearer $TOKEN" -H 'content-type: application/json')
api POST /api/v2/resource-servers "${auth[@]}" --data '{"identifier":"https://bench.example/api"}'
api POST /api/v2/clients "${auth[@]}" --data '{"name":"bench","grant_types":["client_credentials"]}'
CLIENT_ID=$(json .client_id); CLIENT_SECRET=$(json .client_secret)
api POST /api/v2/client-grants "${auth[@]}" \
  --data "{\"client_id\":\"$CLIENT_ID\",\"audience\":\"https://bench.example/api\",\"scope\":[]}"

# ticks: user + system CPU ticks of the gateway and authn so far
ticks() {
  local total=0 pid
  for pid in "${E2E_PIDS[gateway]}" "${E2E_PIDS[authn]}"; do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$total"
}

lua=$E2E_WORK/post.lua
run() {
  local name=$1 method=$2 path=$3 body=${4:-} before after out requests errors
  printf 'wrk.method = "%s"\nwrk.body = "%s"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n' \
    "$method" "$body" >"$lua"
  before=$(ticks)
  out=$(wrk -t 2 -c 8 -d "${seconds}s" -s "$lua" "https://$DOMAIN$path")
  after=$(ticks)
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  errors=$(awk '/Non-2xx/ { print $5 }' <<<"$out")
  ((requests > 0)) || { fail "$name: no requests"; return; }
  # a tick is 10 ms
  echo "$name requests=$requests non2xx=${errors:-0} cpu_us_per_request=$(( (after - before) * 10000 / requests ))"
}
run jwks GET /.well-known/jwks.json
run client_credentials POST /oauth/token \
  "grant_type=client_credentials&client_id=$CLIENT_ID&client_secret=$CLIENT_SECRET&audience=https%3A%2F%2Fbench.example%2Fapi"
pass "measured"
