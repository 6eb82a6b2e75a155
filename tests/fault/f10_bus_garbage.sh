#!/usr/bin/env bash
# F10 (requirements.md): a 1 MiB bus frame, garbage msgpack, an unknown CURVE key.
# The sender is dropped (its connection for an oversized frame, its message for
# garbage: S18; its handshake for a key no server admits: S27) and the service
# keeps serving.
#
# bus_probe (tests/security) is the peer: with a key the service admits it sends
# one bad frame per connection to each bound socket (authn, mfa, mfa's mail-jobs);
# without one, or with a key nobody knows, a well-formed envelope. A well-formed
# envelope with the right key first proves the probe speaks the protocol (it gets
# a reply), so "silent" afterwards means "dropped".
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol f10-user@example.com || exit 1
PIDS="${E2E_PIDS[authn]} ${E2E_PIDS[mfa]}"
KEYS=${POSTERN_KEYS_DIR:-$POSTERN_DATA_DIR/keys}

probe() { "$POSTERN_BINARY_DIR/tests/security/bus_probe" "$@" --keys "$KEYS"; }

# probe_endpoint NAME ENDPOINT VALID_OP SERVICE AS SERVER
probe_endpoint() {
  local name=$1 endpoint=$2 op=$3 service=$4 as=$5 server=$6 before
  local body='{"job_id":"f10"}'
  expect_match "$name: a well-formed envelope is answered (the probe speaks the bus)" '^reply ' \
    "$(probe "$endpoint" --as "$as" --server "$server" --op "$op" --body "$body")"
  expect "$name: an unknown CURVE key: no answer" silent \
    "$(probe "$endpoint" --stranger --server "$server" --op "$op" --body "$body")"
  expect "$name: no CURVE at all: no answer" silent \
    "$(probe "$endpoint" --plain --server "$server" --op "$op" --body "$body")"
  expect "$name: 1 MiB frame: no answer" silent \
    "$(probe "$endpoint" --as "$as" --server "$server" --raw oversize)"
  for case in garbage bigcount deepnest; do
    before=$(log_count "$service" bus_malformed)
    expect "$name: $case msgpack: message dropped unanswered" silent \
      "$(probe "$endpoint" --as "$as" --server "$server" --raw "$case")"
    check "$name: $case msgpack: logged bus_malformed" \
      wait_until 5 count_ge $((before + 1)) log_count "$service" bus_malformed
  done
  expect_match "$name: still answers well-formed envelopes" '^reply ' \
    "$(probe "$endpoint" --as "$as" --server "$server" --op "$op" --body "$body")"
}

probe_endpoint authn "$POSTERN_AUTHN_ENDPOINT" keys.jwks authn gateway authn
probe_endpoint mfa "$POSTERN_MFA_ENDPOINT" factors.list mfa gateway mfa
probe_endpoint "mfa mail-jobs" "$POSTERN_MFA_JOBS_ENDPOINT" mail.check mfa mailer mfa

# --- The services keep serving -----------------------------------------------------------
for p in $PIDS; do check "service process $p still running" kill -0 "$p"; done
login f10-user@example.com || fail "after the probes: password grant ($STATUS)"
challenge "$MFA_TOKEN"
expect "after the probes: challenge (authn, mfa, mailer)" 200 "$STATUS"
mail=$(wait_mail_to f10-user@example.com 2 10) || fail "after the probes: no email"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$(mail_field "$mail" code)"
expect "after the probes: mfa-oob grant" 200 "$STATUS"
api GET /api/v2/guardian/factors -H "authorization: Bearer $MGMT_TOKEN"
expect "after the probes: Management API on mfa" 200 "$STATUS"
