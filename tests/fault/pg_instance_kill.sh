#!/usr/bin/env bash
# Several instances over PostgreSQL (issue 11): under load (LOAD_WORKERS loops of
# whole sign-ins running alongside this script's own), one authn and one mfa
# instance are SIGKILLed. The others carry on, and nothing that was acknowledged
# is lost, in the loops as in the script's own sign-ins:
#   - every challenge answered 200 brings its mail, whose code completes the
#     sign-in (mfa-oob -> tokens), whichever instance answers the verification;
#   - no mail arrives twice (the Message-ID of every mail at the sink is unique);
#   - every answer is the flow's normal one or a 503 (a request the killed
#     instance held), never anything else;
#   - sign-ins complete after the kill, on the survivors alone.
# Runs only in the PostgreSQL run (label pg), where lib.sh starts two of each.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

[[ -n ${POSTERN_TEST_PG:-} ]] || { fail "needs the PostgreSQL run (POSTERN_TEST_PG)"; exit 1; }
export POSTERN_MFA_SEND_BURST=1000      # one user is challenged many times here
export POSTERN_BUS_TIMEOUT_MS=1500
USERS=3
RUN_S=16                                # sign-ins for this long ...
KILL_AT_S=6                             # ... the kill this far in
MIN_AFTER_KILL=3                        # sign-ins completed on the survivors, at least
LOAD_WORKERS=4                          # sign-in loops in the background, a user each

fault_start || { fail "stack did not start"; exit 1; }
((E2E_REPLICAS >= 2)) || { fail "two instances of each service expected, got $E2E_REPLICAS"; exit 1; }
fault_tenant || exit 1
for ((n = 1; n <= USERS; n++)); do
  fault_enrol "pgkill-$n@example.com" || exit 1
done
for ((w = 1; w <= LOAD_WORKERS; w++)); do
  fault_enrol "pgload-$w@example.com" || exit 1
done
pass "$((USERS + LOAD_WORKERS)) users enrolled through the replicated services"

# sign_in_cycle EMAIL: password grant, challenge, the mailed code, mfa-oob; prints
# what happened: 503 (a request a dead instance held), "acked completed", "acked
# held" (the killed instance used the code before it died), or "other ..."
sign_in_cycle() {
  local email=$1 before mail code retried=0
  login "$email"
  if [[ -z $MFA_TOKEN ]]; then
    [[ $STATUS == 503 ]] && echo 503 || echo "other: password grant $STATUS ${BODY:0:200}"
    return
  fi
  before=$(mail_count_to "$email")
  challenge "$MFA_TOKEN"
  [[ $STATUS == 503 ]] && { echo 503; return; }
  [[ $STATUS == 200 && -n $OOB_CODE ]] || { echo "other: challenge $STATUS ${BODY:0:200}"; return; }
  mail=$(wait_mail_to "$email" $((before + 1)) 15) || { echo "other: no mail for an acknowledged challenge"; return; }
  code=$(mail_field "$mail" code)
  mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$code"
  if [[ $STATUS == 503 ]]; then
    retried=1
    sleep 0.5
    mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$code"
  fi
  if [[ $STATUS == 200 && -n $(json '.access_token // empty') ]]; then echo "acked completed"
  elif ((retried)) && [[ $(json .error) == invalid_grant ]]; then echo "acked held"
  else echo "other: the mailed code did not complete the sign-in: $STATUS ${BODY:0:200}"
  fi
}

# load W: sign-in cycles for pgload-W until the run ends, a line each in load-W.log;
# its own work folder, so its answers do not mix with another's
load() {
  local w=$1 result
  E2E_WORK=$E2E_WORK/load-$w
  mkdir -p "$E2E_WORK"
  while (( $(now_ms) < start_ms + RUN_S * 1000 )); do
    result=$(sign_in_cycle "pgload-$w@example.com")
    echo "$result"
    # a challenge a dead instance held may still mail: let it land before counting again
    [[ $result == 503 ]] && sleep 1.5
  done > "$E2E_WORK.log"
}

acked=0 completed=0 completed_after_kill=0 unavailable=0 other=0 held=0
start_ms=$(now_ms)
kill_ms=$((start_ms + KILL_AT_S * 1000))
killed=0
AUTHN_PID=${E2E_PIDS[authn]}
MFA_PID=${E2E_PIDS[mfa]}
round=0
for ((w = 1; w <= LOAD_WORKERS; w++)); do
  fault_bg load "$w"
done
while (( $(now_ms) < start_ms + RUN_S * 1000 )); do
  if ((!killed && $(now_ms) >= kill_ms)); then
    kill -KILL "$AUTHN_PID" "$MFA_PID"
    killed=1
    e2e_log "killed authn (pid $AUTHN_PID) and mfa (pid $MFA_PID)"
  fi
  email="pgkill-$((round % USERS + 1))@example.com"
  round=$((round + 1))
  login "$email"
  if [[ -z $MFA_TOKEN ]]; then
    if [[ $STATUS == 503 ]]; then unavailable=$((unavailable + 1)); sleep 1.5; continue; fi
    other=$((other + 1)); fail "password grant for $email: $STATUS ${BODY:0:200}"; continue
  fi
  before=$(mail_count_to "$email")
  challenge "$MFA_TOKEN"
  if [[ $STATUS == 503 ]]; then
    # a challenge the killed mfa held: its mail may come or not; let it land
    unavailable=$((unavailable + 1)); sleep 1.5; continue
  fi
  if [[ $STATUS != 200 || -z $OOB_CODE ]]; then
    other=$((other + 1)); fail "challenge for $email: $STATUS ${BODY:0:200}"; continue
  fi
  acked=$((acked + 1))
  mail=$(wait_mail_to "$email" $((before + 1)) 15) \
    || { fail "no mail for an acknowledged challenge ($email)"; continue; }
  code=$(mail_field "$mail" code)
  mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$code"
  retried=0
  if [[ $STATUS == 503 ]]; then
    retried=1
    # the verification the killed instance held: the code is still good
    unavailable=$((unavailable + 1)); sleep 0.5
    mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$code"
  fi
  if [[ $STATUS == 200 && -n $(json '.access_token // empty') ]]; then
    completed=$((completed + 1))
    ((killed)) && completed_after_kill=$((completed_after_kill + 1))
  elif ((retried)) && [[ $(json .error) == invalid_grant ]]; then
    # the killed instance had used the code before it died: held by it
    held=$((held + 1))
  else
    other=$((other + 1)); fail "the mailed code did not complete the sign-in: $STATUS ${BODY:0:200}"
  fi
done
# On a slow machine the load can leave few sign-ins of our own after the kill: a
# few more on the survivors, counted, not timed
for ((extra = 0; killed && completed_after_kill < MIN_AFTER_KILL && extra < 2 * MIN_AFTER_KILL; extra++)); do
  result=$(sign_in_cycle pgkill-1@example.com)
  case $result in
    "acked completed") acked=$((acked + 1)); completed=$((completed + 1)); completed_after_kill=$((completed_after_kill + 1)) ;;
    503) unavailable=$((unavailable + 1)); sleep 1.5 ;;
    *) other=$((other + 1)); fail "a sign-in on the survivors: $result" ;;
  esac
done
e2e_log "acknowledged $acked, completed $completed ($completed_after_kill after the kill), 503 $unavailable, held $held"
for pid in "${FAULT_BG_PIDS[@]}"; do wait "$pid"; done
cat "$E2E_WORK"/load-*.log > "$E2E_WORK/load.log"
load_acked=$(grep -c '^acked' "$E2E_WORK/load.log")
load_done=$(grep -c '^acked \(completed\|held\)$' "$E2E_WORK/load.log")
load_other=$(grep -c '^other' "$E2E_WORK/load.log")
e2e_log "load: $(wc -l < "$E2E_WORK/load.log") sign-ins tried by $LOAD_WORKERS loops, $load_acked acknowledged," \
  "$(grep -c '^acked completed$' "$E2E_WORK/load.log") completed, $(grep -c '^503$' "$E2E_WORK/load.log") answered 503"
grep '^other' "$E2E_WORK/load.log" | head -n 5 | while read -r line; do e2e_log "load: $line"; done
check "the load loops had challenges acknowledged" test "$load_acked" -gt 0
expect "load: answers other than the flow's own or 503" 0 "$load_other"
expect "load: every acknowledged challenge completed a sign-in (or its code was used by the killed instance)" \
  "$load_acked" "$load_done"

check "the kill happened during the run" test "$killed" = 1
check "the killed authn is gone" proc_done "$AUTHN_PID"
check "the killed mfa is gone" proc_done "$MFA_PID"
expect "answers other than the flow's own or 503" 0 "$other"
expect "every acknowledged challenge completed a sign-in (or its code was used by the killed instance)" \
  "$acked" "$((completed + held))"
check "sign-ins completed on the survivors (at least $MIN_AFTER_KILL)" \
  test "$completed_after_kill" -ge "$MIN_AFTER_KILL"
sleep 2     # a straggler would show now
duplicates=$(grep -hi '^Message-ID:' "$MAIL_DIR"/*.eml | sort | uniq -d | wc -l)
expect "no mail arrived twice (duplicate Message-IDs)" 0 "$duplicates"
