#!/usr/bin/env bash
# Two `./postern up` on one machine, as its users run it: with different data
# directories (and HTTPS and SMTP ports) they are two working, isolated
# instances whose bus opens no port at all; a third on a port another holds
# fails loudly instead of saying "Postern is up", and the other keeps serving.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
# lib.sh's expect quotes BODY, which only api sets
BODY=

POSTERN=$POSTERN_SOURCE_DIR/postern
declare -A PORT SMTP DATA
instances=(a b)

cleanup() {
  for i in "${instances[@]}" c; do
    [[ -n ${DATA[$i]:-} ]] && run_postern "$i" down >/dev/null 2>&1
  done
  e2e_finish
}
trap cleanup EXIT

# run_postern INSTANCE COMMAND: ./postern for that instance's data dir and ports
run_postern() {
  local i=$1; shift
  env -u POSTERN_AUTHN_ENDPOINT -u POSTERN_MFA_ENDPOINT -u POSTERN_MFA_JOBS_ENDPOINT \
    -u POSTERN_KEYS_DIR -u POSTERN_DOMAIN \
    POSTERN_SKIP_BUILD=1 POSTERN_BUILD_DIR="$POSTERN_BINARY_DIR" POSTERN_DATA_DIR="${DATA[$i]}" \
    POSTERN_HTTPS_PORT="${PORT[$i]}" POSTERN_SMTP_PORT="${SMTP[$i]}" POSTERN_LOG_LEVEL=info \
    "$POSTERN" "$@"
}

# mgmt_token INSTANCE: a Management API token from that instance's bootstrap client
mgmt_token() {
  local i=$1 boot=${DATA[$1]}/bootstrap.json
  curl -sS --cacert "${DATA[$i]}/tls/ca.pem" "https://localhost:${PORT[$i]}/oauth/token" \
    --data grant_type=client_credentials \
    --data-urlencode "client_id=$(jq -r .client_id "$boot")" \
    --data-urlencode "client_secret=$(jq -r .client_secret "$boot")" \
    --data-urlencode "audience=https://localhost:${PORT[$i]}/api/v2/" | jq -r .access_token
}

# clients INSTANCE TOKEN: HTTP status of GET /api/v2/clients there with TOKEN
clients_status() {
  curl -sS -o /dev/null -w '%{http_code}' --cacert "${DATA[$1]}/tls/ca.pem" \
    -H "authorization: Bearer $2" "https://localhost:${PORT[$1]}/api/v2/clients"
}

# listening_ports INSTANCE: TCP ports its processes listen on, one per line
listening_ports() {
  local pids pid
  pids=$(cat "${DATA[$1]}"/run/*.pid 2>/dev/null)
  for pid in $pids; do
    ss -ltnpH 2>/dev/null | grep "pid=$pid," | awk '{ n = split($4, a, ":"); print a[n] }'
  done | sort -un
}

read -r PORT[a] SMTP[a] PORT[b] SMTP[b] < <(e2e_free_ports 4)
for i in "${instances[@]}"; do DATA[$i]=$E2E_WORK/instance-$i; done

for i in "${instances[@]}"; do
  out=$(run_postern "$i" up 2>&1); rc=$?
  expect "instance $i: ./postern up succeeds" 0 "$rc"
  expect_match "instance $i: says it is up" "Postern is up" "$out"
done

TOKEN_A=$(mgmt_token a)
TOKEN_B=$(mgmt_token b)
expect_match "instance a issues a Management token" '^eyJ' "$TOKEN_A"
expect_match "instance b issues a Management token" '^eyJ' "$TOKEN_B"
expect "instance a serves its own token" 200 "$(clients_status a "$TOKEN_A")"
expect "instance b serves its own token" 200 "$(clients_status b "$TOKEN_B")"
expect "instance b refuses instance a's token (its own keys)" 401 "$(clients_status b "$TOKEN_A")"
expect "instance a refuses instance b's token" 401 "$(clients_status a "$TOKEN_B")"

for i in "${instances[@]}"; do
  check "instance $i: its bus sockets are files in its own data directory" \
    test -S "${DATA[$i]}/bus/authn.sock" -a -S "${DATA[$i]}/bus/mfa.sock" -a -S "${DATA[$i]}/bus/mfa-jobs.sock"
  expect "instance $i: the bus folder is the owner's alone" 700 "$(stat -c %a "${DATA[$i]}/bus")"
  expect "instance $i: listens on its HTTPS and SMTP ports only" \
    "$(printf '%s\n' "${PORT[$i]}" "${SMTP[$i]}" | sort -un | tr '\n' ' ')" \
    "$(listening_ports "$i" | tr '\n' ' ')"
done

# A third instance on instance a's HTTPS port: it must say so and stop
DATA[c]=$E2E_WORK/instance-c
PORT[c]=${PORT[a]}
read -r SMTP[c] < <(e2e_free_ports 1)
out=$(run_postern c up 2>&1); rc=$?
expect "instance c on a's port: ./postern up fails" 1 "$rc"
expect_match "instance c: says which process did not start" "gateway did not start" "$out"
check "instance c: does not claim to be up" bash -c '! grep -q "Postern is up" <<<"$1"' _ "$out"
check "instance c: left nothing running" bash -c '! ls "$1"/run/*.pid >/dev/null 2>&1' _ "${DATA[c]}"
expect "instance a still serves" 200 "$(clients_status a "$TOKEN_A")"

# The same instance again: it says so and leaves it running
out=$(run_postern a up 2>&1); rc=$?
expect "instance a again: ./postern up succeeds" 0 "$rc"
expect_match "instance a again: says what already runs" "gateway already running" "$out"
expect "instance a still serves after that" 200 "$(clients_status a "$TOKEN_A")"

for i in "${instances[@]}" c; do run_postern "$i" down >/dev/null 2>&1; done
expect "instance a: down stops it" 000 "$(clients_status a "$TOKEN_A" 2>/dev/null)"
pass "two instances ran side by side"
