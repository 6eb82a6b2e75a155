#!/usr/bin/env bash
# Slow-connection flood (issue 9, "HTTP front door"): one address (127.0.0.2) opens
# more connections than the gateway takes, each sending a partial request and then
# a byte a second, which an idle timeout never catches. Another address (127.0.0.1)
# must still be served, the flooding address must hold no more than its share, and
# every slow request must be cut at the deadline for headers and body.
# Limits are small here so the flood is cheap; the defaults are the same mechanism
# (gateway/README.md). Run over plain HTTP and over TLS.
source "$(dirname "${BASH_SOURCE[0]}")/security_lib.sh"
trap 'fault_finish' EXIT

export POSTERN_MAX_CONNECTIONS=60
export POSTERN_MAX_CONNECTIONS_PER_IP=10
export POSTERN_REQUEST_DEADLINE_S=5
export POSTERN_CONNECTION_TIMEOUT_S=15
FLOOD=80            # more than POSTERN_MAX_CONNECTIONS
SECONDS_RUN=20      # past the deadline with room to spare, short of the idle timeout twice
LONGEST_OK=15       # the deadline plus a generous margin for a loaded machine

security_start || { fail "stack did not start"; exit 1; }

flood() {
  local name=$1; shift
  local out
  out=$(front_door flood "$@" --source 127.0.0.2 --connections "$FLOOD" \
        --seconds "$SECONDS_RUN" --probe-path /.well-known/jwks.json)
  e2e_log "$name: $out"
  expect "$name: 127.0.0.1 is served during the flood" '[200,200,200]' \
    "$(jq -c .probes <<<"$out")"
  check "$name: 127.0.0.2 holds at most $POSTERN_MAX_CONNECTIONS_PER_IP connections" \
    test "$(jq .held_max <<<"$out")" -le "$POSTERN_MAX_CONNECTIONS_PER_IP"
  expect "$name: no slow connection outlives the run" 0 "$(jq .alive_at_end <<<"$out")"
  check "$name: slow requests are cut at the deadline (longest open < ${LONGEST_OK}s)" \
    awk -v s="$(jq .longest_open_s <<<"$out")" -v max="$LONGEST_OK" 'BEGIN { exit !(s < max) }'
}

before=$(log_count gateway http_deadline_cut)
flood "plain HTTP" --port "$HTTP_PORT"
# shellcheck disable=SC2046
flood "TLS" $(tls_args)
check "the gateway logged the cuts" count_ge $((before + 2)) log_count gateway http_deadline_cut

# And afterwards, normal service from both addresses
api GET /.well-known/jwks.json
expect "after the floods: JWKS over TLS" 200 "$STATUS"
status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --interface 127.0.0.2 \
         "http://127.0.0.1:$HTTP_PORT/.well-known/jwks.json") || status=000
expect "after the floods: 127.0.0.2 is served again" 200 "$status"
