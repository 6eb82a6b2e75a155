#!/usr/bin/env bash
# F6 (requirements.md): an SMTP server accepts the TCP connection and never says a
# word. The per-stage timeout (POSTERN_SMTP_RESPONSE_TIMEOUT) frees the delivery
# worker, and other mail keeps flowing.
#
# How: the mailer (2 delivery workers, per-stage timeout STAGE_TIMEOUT_S, connect
# timeout 30 s, whole attempt 60 s) talks to tcp_switch.py, which sends its first connection to a sink
# in `hang` mode and every later one to the suite's ok sink: a relay pool with one
# stuck backend. User A's mail takes the hung connection; user B's mail, sent
# while A's worker is stuck, must arrive at once; A's attempt must end after
# about STAGE_TIMEOUT_S (not the 60 s attempt limit) and A's retry must deliver.
# libcurl counts the wait for the SMTP greeting against the connect timeout too
# (it is part of its protocol "connect" phase), so a hung greeting ends at the
# smaller of the two: the connect timeout is raised to 30 s here so the 5 s end
# can only come from the per-stage timeout.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

STAGE_TIMEOUT_S=5
CONNECT_TIMEOUT_S=30
ATTEMPT_TIMEOUT_S=60

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol f6-a@example.com || exit 1
USER_A=$USER_ID
fault_enrol f6-b@example.com || exit 1
USER_B=$USER_ID

# --- The stuck backend and the switch in front of both sinks ---------------------------------
e2e_run hangsink "$DEBIAN_PYTHON" "$POSTERN_SOURCE_DIR/tests/support/smtp_sink.py" \
  --host 127.0.0.1 --port 0 --maildir "$E2E_WORK/hang-mail" --port-file "$E2E_WORK/hang.port" --mode hang
wait_until 10 test -s "$E2E_WORK/hang.port" || { fail "hang sink did not start"; exit 1; }
e2e_run switch "$DEBIAN_PYTHON" "$FAULT_DIR/tcp_switch.py" --port-file "$E2E_WORK/switch.port" \
  --first 1 --first-port "$(cat "$E2E_WORK/hang.port")" --then-port "$SMTP_PORT"
wait_until 10 test -s "$E2E_WORK/switch.port" || { fail "switch did not start"; exit 1; }

JOINED=$(log_count mfa mailer_joined)
fault_stop mailer TERM
POSTERN_SMTP_PORT=$(cat "$E2E_WORK/switch.port")
export POSTERN_SMTP_PORT
export POSTERN_SMTP_RESPONSE_TIMEOUT=$STAGE_TIMEOUT_S
export POSTERN_SMTP_CONNECT_TIMEOUT=$CONNECT_TIMEOUT_S
export POSTERN_SMTP_TIMEOUT=$ATTEMPT_TIMEOUT_S
export POSTERN_MAILER_CONCURRENCY=2
fault_restart mailer
check "the reconfigured mailer joined mfa" wait_until 10 count_ge $((JOINED + 1)) log_count mfa mailer_joined

login f6-a@example.com || { fail "A: no mfa_required"; exit 1; }
TOKEN_A=$MFA_TOKEN
login f6-b@example.com || { fail "B: no mfa_required"; exit 1; }
TOKEN_B=$MFA_TOKEN

# --- A's mail hits the hung backend ------------------------------------------------------------
switch_conn() { grep -m1 "^conn $1 -> " "$E2E_WORK/switch.log" | awk '{ print $NF }'; }
challenge "$TOKEN_A"
expect "A: challenge acknowledged" 200 "$STATUS"
OOB_A=$OOB_CODE
JOB_A=$(latest_job "$USER_A")
check "A: the mailer connected to the hung backend" wait_until 5 nonempty switch_conn 1
HUNG_AT=$(switch_conn 1)

# --- B's mail, while A's worker waits for a greeting that never comes ---------------------------
challenge "$TOKEN_B"
expect "B: challenge acknowledged while A's delivery hangs" 200 "$STATUS"
OOB_B=$OOB_CODE
MAIL_B=$(wait_mail_to f6-b@example.com 2 5) || fail "B: not delivered while A's delivery hung"
if [[ -n $MAIL_B ]]; then
  B_AT=$(mtime_ms "$MAIL_B")
  check "B: delivered $(( B_AT - HUNG_AT )) ms after A's delivery hung, before A's stage timeout" \
    test "$B_AT" -lt "$(( HUNG_AT + STAGE_TIMEOUT_S * 1000 ))"
  expect "B: A's job was still in its first attempt then" "sending 1" \
    "$(outbox_sql "SELECT state || ' ' || attempts FROM outbox WHERE job_id = $(sql_quote "$JOB_A")")"
  mfa_oob "$TOKEN_B" "$OOB_B" "$(mail_field "$MAIL_B" code)"
  expect "B: the code works" 200 "$STATUS"
fi

# --- The stage timeout frees A's worker; A is retried and delivered --------------------------------
retry_a() { log_events mailer mail_retry ".job_id == \"$JOB_A\"" | head -n1; }
check "A: the hung attempt ended (mail_retry)" wait_until $((STAGE_TIMEOUT_S + 10)) nonempty retry_a
RETRY=$(retry_a)
if [[ -n $RETRY ]]; then
  FREED_MS=$(( $(ts_ms "$(jq -r .ts <<<"$RETRY")") - HUNG_AT ))
  check "A: freed after ${FREED_MS} ms: the ${STAGE_TIMEOUT_S} s stage timeout, not the ${CONNECT_TIMEOUT_S} s connect or ${ATTEMPT_TIMEOUT_S} s attempt limit" \
    test "$FREED_MS" -ge $((STAGE_TIMEOUT_S * 1000 - 500)) -a "$FREED_MS" -le $((STAGE_TIMEOUT_S * 1000 + 4000))
  expect_match "A: the retry names a timeout" '[Tt]imeout' "$(jq -r .detail <<<"$RETRY")"
fi
MAIL_A=$(wait_mail_to f6-a@example.com 2 15) || fail "A: not delivered after the hung attempt"
if [[ -n $MAIL_A ]]; then
  mfa_oob "$TOKEN_A" "$OOB_A" "$(mail_field "$MAIL_A" code)"
  expect "A: the code works" 200 "$STATUS"
fi
check "A: outbox row sent" wait_until 5 state_is sent outbox_state "$JOB_A"
expect "A: two attempts (the hung one and the retry)" 2 "$(outbox_field "$JOB_A" attempts)"
expect "only the first connection went to the hung backend" 1 "$(grep -c -- "-> $(cat "$E2E_WORK/hang.port")\b" "$E2E_WORK/switch.log")"
expect "A: exactly one copy" 2 "$(mail_count_to f6-a@example.com)"
expect "B: exactly one copy" 2 "$(mail_count_to f6-b@example.com)"
expect "no failure (fn) events" 0 "$(( $(audit_count fn "$USER_A") + $(audit_count fn "$USER_B") ))"
