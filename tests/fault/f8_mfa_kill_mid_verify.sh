#!/usr/bin/env bash
# F8 (requirements.md): mfa is killed in the middle of a verification. Either
# nothing was committed or all of it; never tokens while the code is still usable.
#
# ROUNDS times: a fresh challenge, its code from the mail, the mfa-oob grant with
# the right code sent in the background, and mfa SIGKILLed a few milliseconds
# later; then mfa is restarted. SWEEP delays spread over 0 .. 1.5 T, where T is the
# longest of three timed mfa-oob calls (wrong oob_code: the same way through
# curl, gateway, authn and mfa, one transaction) measured first, so the kills
# fall before, during and after mfa's work whatever the machine's (or the
# sanitizers') speed; then PROBES more between the longest delay that found
# nothing committed and the shortest that found tokens, where mfa was at work.
# The outcome is read from the HTTP answer and from mfa.db (sqlite3 CLI,
# read-only): the challenge's
# state and attempts and the mfa_token's `used` flag change in one transaction,
# so the only consistent pairs are
#   nothing committed:  challenge pending, 0 attempts, token unused; no tokens issued,
#                       and the same code then still completes the grant, once;
#   all committed:      challenge used, 1 attempt, token used; tokens issued or the
#                       reply lost (503), and the code never works again.
# `PRAGMA integrity_check` must pass after every kill (S28).
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

SWEEP=10
PROBES=8
ROUNDS=$((SWEEP + PROBES))
export POSTERN_BUS_TIMEOUT_MS=1000
export POSTERN_MFA_SEND_BURST=100
EMAIL=f8-user@example.com

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol "$EMAIL" || exit 1
F8_USER=$USER_ID

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
mfa_ready() { api GET /api/v2/guardian/factors -H "authorization: Bearer $MGMT_TOKEN"; [[ $STATUS == 200 ]]; }
challenge_ok() { challenge "$1"; [[ $STATUS == 200 ]]; }
# db_outcome OOB_CODE MFA_TOKEN: "state attempts used"
db_outcome() {
  local challenge token
  challenge=$(mfa_sql "SELECT state || ' ' || attempts FROM challenges WHERE oob_hash = '$(sha256 "$1")'")
  token=$(mfa_sql "SELECT used FROM mfa_tokens WHERE token_hash = '$(sha256 "$2")'")
  echo "$challenge $token"
}

# verify_bg TOKEN OOB CODE OUT: the mfa-oob grant in the background (BG_PID),
# status and body into OUT.status and OUT.body
verify_bg() {
  fault_bg bash -c 'curl -sS --cacert "$1" -o "$2.body" -w "%{http_code}" --max-time 20 \
      "https://$3/oauth/token" --data grant_type=http://auth0.com/oauth/grant-type/mfa-oob \
      --data-urlencode "mfa_token=$4" --data-urlencode "oob_code=$5" \
      --data-urlencode "binding_code=$6" --data-urlencode "client_id=$7" >"$2.status"' \
    _ "$CA" "$4" "$DOMAIN" "$1" "$2" "$3" "$CLIENT_ID"
}

login "$EMAIL" || { fail "calibration: no mfa_required"; exit 1; }
T_MS=0
for i in 1 2 3; do
  start=$(now_ms)
  verify_bg "$MFA_TOKEN" "not-an-oob-code-$i" 123456 "$E2E_WORK/calibrate$i"
  wait "$BG_PID"
  took=$(( $(now_ms) - start ))
  expect "calibration $i: answered invalid_grant" 403 "$(cat "$E2E_WORK/calibrate$i.status")"
  (( took > T_MS )) && T_MS=$took
done
KILL_SPREAD_MS=$(( T_MS * 3 / 2 ))
e2e_log "an mfa-oob call takes up to $T_MS ms here: kills sweep 0..$KILL_SPREAD_MS ms"

declare -A OUTCOMES=()
ROUND=0
LAST_NOTHING_US=-1      # longest delay that still found nothing committed
FIRST_TOKENS_US=-1      # shortest delay that found tokens issued

# kill_round DELAY_US: one round, mfa killed DELAY_US microseconds after the grant left
kill_round() {
  local delay_us=$1 round token oob mails mail code out verify_pid http db
  ROUND=$((ROUND + 1)); round=$ROUND
  local at
  at="+$(awk -v us="$delay_us" 'BEGIN { printf "%.2f", us / 1000 }') ms"
  login "$EMAIL" || { fail "round $round: no mfa_required ($STATUS)"; return; }
  token=$MFA_TOKEN
  mails=$(mail_count_to "$EMAIL")
  # right after an mfa restart the mailer may not have announced itself yet
  wait_until 10 challenge_ok "$token" || { fail "round $round: challenge $STATUS"; return; }
  oob=$OOB_CODE
  mail=$(wait_mail_to "$EMAIL" $((mails + 1)) 10) || { fail "round $round: no email"; return; }
  code=$(mail_field "$mail" code)
  expect "round $round: before the kill nothing is spent" "pending 0 0" "$(db_outcome "$oob" "$token")"

  out=$E2E_WORK/verify$round
  verify_bg "$token" "$oob" "$code" "$out"
  verify_pid=$BG_PID
  sleep "$(awk -v us="$delay_us" 'BEGIN { printf "%.4f", us / 1000000 }')"
  fault_stop mfa KILL
  wait_until 5 proc_done "$verify_pid" ||
    fail "round $round: the verification hung after mfa died"
  wait "$verify_pid" 2>/dev/null
  http=$(cat "$out.status" 2>/dev/null)
  db=$(db_outcome "$oob" "$token")
  check "round $round: mfa.db integrity_check after the kill" integrity_ok "$POSTERN_DATA_DIR/mfa.db"
  fault_restart mfa
  check "round $round: mfa serves again" wait_until 10 mfa_ready

  case "$http|$db" in
    "200|used 1 1")
      OUTCOMES[tokens]=$(( ${OUTCOMES[tokens]:-0} + 1 ))
      (( FIRST_TOKENS_US < 0 || delay_us < FIRST_TOKENS_US )) && FIRST_TOKENS_US=$delay_us
      pass "round $round (kill at $at): tokens issued, all committed"
      mfa_oob "$token" "$oob" "$code"
      expect "round $round: the code does not work again" 403 "$STATUS" ;;
    "503|pending 0 0")
      OUTCOMES[nothing]=$(( ${OUTCOMES[nothing]:-0} + 1 ))
      (( delay_us > LAST_NOTHING_US )) && LAST_NOTHING_US=$delay_us
      pass "round $round (kill at $at): no tokens, nothing committed"
      mfa_oob "$token" "$oob" "$code"
      expect "round $round: the untouched code still completes the grant" 200 "$STATUS"
      mfa_oob "$token" "$oob" "$code"
      expect "round $round: ... once" 403 "$STATUS" ;;
    "503|used 1 1")
      OUTCOMES[lost_reply]=$(( ${OUTCOMES[lost_reply]:-0} + 1 ))
      pass "round $round (kill at $at): all committed, the reply was lost (no tokens)"
      mfa_oob "$token" "$oob" "$code"
      expect "round $round: the used code does not work" 403 "$STATUS" ;;
    *)
      fail "round $round (kill at $at): inconsistent outcome: HTTP '$http', challenge/attempts/token-used '$db' (body: $(head -c 300 "$out.body" 2>/dev/null))" ;;
  esac
}

# A sweep, then PROBES more kills spread over the gap where the outcome flipped
# (the time mfa spends deciding and committing)
for i in $(seq 0 $((SWEEP - 1))); do
  kill_round $(( i * KILL_SPREAD_MS * 1000 / (SWEEP - 1) ))
done
if (( LAST_NOTHING_US >= 0 && FIRST_TOKENS_US > LAST_NOTHING_US )); then
  LOW=$LAST_NOTHING_US HIGH=$FIRST_TOKENS_US
else
  LOW=$(( T_MS * 250 )) HIGH=$(( T_MS * 1000 ))
fi
e2e_log "probing kills between $LOW and $HIGH us"
for i in $(seq 1 "$PROBES"); do
  kill_round $(( LOW + i * (HIGH - LOW) / (PROBES + 1) ))
done
e2e_log "outcomes: tokens+committed ${OUTCOMES[tokens]:-0}, nothing committed ${OUTCOMES[nothing]:-0}," \
  "committed+reply lost ${OUTCOMES[lost_reply]:-0} (of $ROUNDS)"
expect "no access token without a used challenge: every grant the API answered 200 is 'used' in mfa.db" 0 \
  "$(mfa_sql "SELECT count(*) FROM challenges c JOIN mfa_tokens t ON t.token_hash = c.token_hash
              WHERE c.user_id = $(sql_quote "$F8_USER") AND t.used = 1 AND c.state = 'pending'")"
