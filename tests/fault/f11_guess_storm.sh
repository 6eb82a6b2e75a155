#!/usr/bin/env bash
# F11 (requirements.md): 10,000 code guesses in parallel, with resends. At most 5
# guesses are evaluated per challenge (S4), the account's failure bucket empties
# (S5), and the legitimate user can still sign in with the recovery code.
#
# The attacker knows the password: it signs in, asks for a code (a "resend": a
# new challenge, which supersedes the previous one) ROUNDS times, and fires
# GUESSES / ROUNDS wrong binding_codes at each oob_code, PARALLEL at a time; each
# round's guesses are still in flight when the next resend goes out. Default
# limits: 5 attempts per oob_code, a failure bucket of 10 refilled one per 360 s.
# Evaluated guesses are counted where they are decided: challenges.attempts in
# mfa.db (read with the sqlite3 CLI, read-only) and the gd_auth_failed audit rows.
# The guesses never include the real code (the test reads it from the mail), so a
# lucky guess cannot blur the counts.
source "$(dirname "${BASH_SOURCE[0]}")/fault_lib.sh"
trap 'fault_finish' EXIT

GUESSES=10000
ROUNDS=20
PARALLEL=8
MAX_ATTEMPTS=5
FAIL_BUCKET=10
FAIL_REFILL_S=360
export POSTERN_CODE_MAX_ATTEMPTS=$MAX_ATTEMPTS POSTERN_MFA_FAIL_BUCKET=$FAIL_BUCKET
export POSTERN_MFA_FAIL_REFILL_S=$FAIL_REFILL_S
EMAIL=f11-user@example.com

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol "$EMAIL" || exit 1
F11_USER=$USER_ID
USER_RECOVERY_CODE=$RECOVERY_CODE
check "enrolment gave a recovery code" test -n "$USER_RECOVERY_CODE"
login "$EMAIL" || { fail "attacker: no mfa_required"; exit 1; }
ATTACK_TOKEN=$MFA_TOKEN

# guesses_config OOB_CODE REAL_CODE COUNT SEED: COUNT wrong guesses for OOB_CODE
guesses_config() {
  awk -v n="$3" -v real="$2" -v seed="$4" 'BEGIN {
        srand(seed)
        for (i = 0; i < n; i++) {
          do { g = sprintf("%06d", int(rand() * 1000000)) } while (g == real)
          print g
        } }' |
    while read -r guess; do
      curl_config_entry POST /oauth/token \
        "grant_type=http://auth0.com/oauth/grant-type/mfa-oob&mfa_token=$ATTACK_TOKEN&oob_code=$1&binding_code=$guess&client_id=$CLIENT_ID"
    done
}

# answered FILE N: at least N transfers of a round have finished
answered() { [[ -f $1 ]] && (( $(wc -l <"$1") >= $2 )); }

PER_ROUND=$((GUESSES / ROUNDS))
OOB=
REAL=
RESENT=0
START_MS=$(now_ms)
declare -a ROUND_PIDS=()
for round in $(seq 1 "$ROUNDS"); do
  mails=$(mail_count_to "$EMAIL")
  challenge "$ATTACK_TOKEN"
  if [[ $STATUS == 200 ]]; then
    RESENT=$((RESENT + 1))
    OOB=$OOB_CODE
    mail=$(wait_mail_to "$EMAIL" $((mails + 1)) 10) || { fail "round $round: no email"; continue; }
    REAL=$(mail_field "$mail" code)
  elif [[ $STATUS != 429 ]]; then
    fail "round $round: resend answered $STATUS"
  fi
  [[ -n $OOB ]] || { fail "round $round: no oob_code yet"; continue; }
  guesses_config "$OOB" "$REAL" "$PER_ROUND" "$round" >"$E2E_WORK/round$round.curl"
  fault_bg parallel_curl "$E2E_WORK/round$round.curl" "$PARALLEL" "$E2E_WORK/round$round.out"
  ROUND_PIDS+=("$BG_PID")
  # the next resend goes out while this round is still guessing; at most two
  # rounds run at once
  wait_until 30 answered "$E2E_WORK/round$round.out" 20 ||
    fail "round $round: guesses are not being answered"
  (( round < 2 )) || wait "${ROUND_PIDS[round - 2]}"
done
for pid in "${ROUND_PIDS[@]}"; do wait "$pid"; done
END_MS=$(now_ms)
cat "$E2E_WORK"/round*.out >"$E2E_WORK/guesses.out"
e2e_log "$GUESSES guesses, $RESENT resends accepted, in $(( END_MS - START_MS )) ms:" \
  "$(cut -d' ' -f1 "$E2E_WORK/guesses.out" | sort | uniq -c | tr '\n' ' ')"

# --- Outcomes ---------------------------------------------------------------------------
R403=$(status_count "$E2E_WORK/guesses.out" 403)
R429=$(status_count "$E2E_WORK/guesses.out" 429)
expect "every guess answered" "$GUESSES" "$(wc -l <"$E2E_WORK/guesses.out")"
expect "no guess succeeded" 0 "$(status_count "$E2E_WORK/guesses.out" 200)"
expect "every guess refused with 403 or 429" "$GUESSES" "$((R403 + R429))"
check "resends were accepted during the storm ($RESENT)" test "$RESENT" -ge 2

Q_USER=$(sql_quote "$F11_USER")
MAX_SEEN=$(mfa_sql "SELECT max(attempts) FROM challenges WHERE user_id = $Q_USER")
EVALUATED=$(mfa_sql "SELECT sum(attempts) FROM challenges WHERE user_id = $Q_USER")
CHALLENGES=$(mfa_sql "SELECT count(*) FROM challenges WHERE user_id = $Q_USER")
e2e_log "challenges: $CHALLENGES, guesses evaluated: $EVALUATED (most on one challenge: $MAX_SEEN)"
check "at most $MAX_ATTEMPTS guesses evaluated per challenge (most: $MAX_SEEN)" \
  test "$MAX_SEEN" -le "$MAX_ATTEMPTS"
# the enrolment's right code is the one evaluated attempt that was not a guess
GUESSED=$((EVALUATED - 1))
# one token comes back every FAIL_REFILL_S; the storm is far shorter than that
REFILLS=$(( (END_MS - START_MS) / (FAIL_REFILL_S * 1000) ))
check "the account's failure bucket bounds the evaluated guesses ($GUESSED, bucket $FAIL_BUCKET + $REFILLS refilled)" \
  test "$GUESSED" -ge "$FAIL_BUCKET" -a "$GUESSED" -le "$((FAIL_BUCKET + REFILLS))"
expect "one gd_auth_failed 'wrong binding_code' audit event per evaluated guess" "$GUESSED" \
  "$(audit_count gd_auth_failed "$F11_USER" "AND detail = 'wrong binding_code'")"
check "every evaluated guess answered 403 (and more 403s for dead oob_codes)" test "$R403" -ge "$GUESSED"
check "the bucket emptied: guesses were refused with 429 ($R429)" test "$R429" -ge 1
expect "one gd_otp_rate_limit_exceed audit event per 429" "$R429" \
  "$(audit_count gd_otp_rate_limit_exceed "$F11_USER")"
expect "failure bucket level in mfa.db" 0 \
  "$(mfa_sql "SELECT level FROM buckets WHERE user_id = $Q_USER AND kind = 'fail'")"

# Still empty: even the right code of the live challenge is refused now (S5)
if [[ -n $REAL ]]; then
  mfa_oob "$ATTACK_TOKEN" "$OOB" "$REAL"
  expect "the right code while the bucket is empty: 429" 429 "$STATUS"
  expect "the right code while the bucket is empty: error" too_many_attempts "$(json .error)"
fi

# --- The legitimate user -------------------------------------------------------------------
login "$EMAIL" || fail "legitimate user: no mfa_required"
recovery "$MFA_TOKEN" "$USER_RECOVERY_CODE"
expect "legitimate user: the recovery code signs in" 200 "$STATUS"
check "legitimate user: an access token" test -n "$(json '.access_token // empty')"
expect_match "legitimate user: a new recovery code" '^[A-Z0-9]{24}$' "$(json '.recovery_code // empty')"
expect "a success refills the failure bucket" "$FAIL_BUCKET" \
  "$(mfa_sql "SELECT level FROM buckets WHERE user_id = $Q_USER AND kind = 'fail'")"
