#!/usr/bin/env bash
# F1 (requirements.md): the mailer is SIGKILLed after DATA, before the final 250.
# After a restart the same message (same code, same Message-ID) is sent again;
# the relay ends up with 1-2 identical copies (S23), and the code works.
#
# How: the sink runs with --reply-delay REPLY_DELAY_S: it stores a message at the
# end of DATA, then waits before answering 250. The test waits for that stored
# copy, SIGKILLs the mailer while it waits for the 250, checks the outbox row is
# still 'sending' (the fault really hit between DATA and 250), and restarts the
# mailer against the same, still slow, relay. This sink keeps what it stored, so
# exactly 2 copies are expected here (a relay that drops an unfinished
# transaction would hold 1).
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

REPLY_DELAY_S=3
EMAIL=f1-user@example.com

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol "$EMAIL" || exit 1
F1_USER=$USER_ID
login "$EMAIL" || { fail "no mfa_required"; exit 1; }

# --- Fault ------------------------------------------------------------------------------
fault_sink ok --reply-delay "$REPLY_DELAY_S" || { fail "sink did not start"; exit 1; }
challenge "$MFA_TOKEN"
expect "challenge acknowledged" 200 "$STATUS"
JOB=$(latest_job "$F1_USER")
FIRST=$(wait_mail_to "$EMAIL" 2 10) || { fail "the relay never received the message"; exit 1; }
fault_stop mailer KILL
e2e_log "mailer killed $(( $(now_ms) - $(mtime_ms "$FIRST") )) ms after the relay stored the message"
expect "at the kill: the outbox row was still sending (no 250 seen)" sending "$(outbox_state "$JOB")"
expect "at the kill: one attempt" 1 "$(outbox_field "$JOB" attempts)"
expect "at the kill: one copy at the relay" 2 "$(mail_count_to "$EMAIL")"

# --- Restart ------------------------------------------------------------------------------
fault_restart mailer
check "restart: the row was recovered (mail_recovered)" \
  wait_until 10 count_ge 1 log_count mailer mail_recovered
SECOND=$(wait_mail_to "$EMAIL" 3 20) || { fail "the message was not sent again"; exit 1; }
check "restart: outbox row sent" wait_until $((REPLY_DELAY_S + 10)) state_is sent outbox_state "$JOB"
expect "restart: two attempts in all" 2 "$(outbox_field "$JOB" attempts)"
check "mfa recorded the job sent" wait_until 5 state_is sent job_state "$JOB"

FIRST_ID=$(mail_field "$FIRST" Message-ID)
check "copies: a Message-ID" test -n "$FIRST_ID"
expect "copies: same Message-ID" "$FIRST_ID" "$(mail_field "$SECOND" Message-ID)"
CODE=$(mail_field "$FIRST" code)
expect "copies: same code" "$CODE" "$(mail_field "$SECOND" code)"
check "copies: byte-identical messages" cmp -s "$FIRST" "$SECOND"
expect "copies: exactly two (the sink keeps the first)" 3 "$(mail_count_to "$EMAIL")"

mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "the resent code completes the mfa-oob grant" 200 "$STATUS"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "and only once" 403 "$STATUS"
expect "no failure (fn) event" 0 "$(audit_count fn "$F1_USER")"
check "mailer outbox passes integrity_check" integrity_ok "$POSTERN_DATA_DIR/mailer-outbox.db"
