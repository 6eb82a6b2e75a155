#!/usr/bin/env bash
# populate.sh DATA_DIR N: gives a running (or stopped) Postern on SQLite what a
# tenant of N users holds after a busy day, so that the bench can measure the
# same paths against a full database (bench/run.sh --populate N):
#   authn.db            N users (the password hash of the first user there)
#   mfa.db              N confirmed email authenticators, and a day of sign-ins:
#                       N mfa_tokens, N challenges (used), N mail jobs, N audit rows,
#                       created over the last 24 hours, none of them prunable yet
#   mailer-outbox*.db   N sent mails over the same day (the first outbox found)
# Rows go in with SQL from the sqlite3 shell, in one transaction per table, while
# the services wait on SQLite's lock (times as each table keeps them: authn's users in
# seconds, the rest in ms); every id is made unique with a "pop" prefix,
# so the real users and the bench's are untouched. Prints each file's size after.
# Needs the sqlite3 shell (Debian: sqlite3). PostgreSQL is not handled.
set -euo pipefail

dir=${1:?usage: populate.sh DATA_DIR N}
count=${2:?usage: populate.sh DATA_DIR N}
[[ $count =~ ^[0-9]+$ ]] && ((count >= 1 && count <= 10000000)) \
  || { echo "populate: N must be 1..10000000" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "populate: the sqlite3 shell is missing (apt-get install sqlite3)" >&2; exit 1; }
authn_db=$dir/authn.db
mfa_db=$dir/mfa.db
outbox_db=$(find "$dir" -maxdepth 1 -name 'mailer-outbox*.db' | sort | head -n1)
for db in "$authn_db" "$mfa_db"; do
  [[ -s $db ]] || { echo "populate: $db missing (start the services once first)" >&2; exit 1; }
done

declare -A table=([$authn_db]=users [$mfa_db]=challenges)
[[ -n $outbox_db ]] && table[$outbox_db]=outbox
now=$(date +%s%3N)
day=86400000
# sql DB STATEMENTS: one transaction, waiting up to 10 minutes for the services' locks
sql() {
  sqlite3 -batch -bail "$1" <<SQL
.timeout 600000
PRAGMA foreign_keys = ON;
BEGIN IMMEDIATE;
$2
COMMIT;
SQL
}
# The numbers 1..N, and the instant of the i-th of them over the last day
series="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count)"
at="($now - $day + (i * ($day - 600000)) / $count)"

started=$(date +%s)
sql "$authn_db" "
$series
INSERT INTO users (user_id, email, password_hash, email_verified, created_at, updated_at)
SELECT printf('auth0|pop%021x', i), printf('pop-%d@populate.example', i),
       (SELECT password_hash FROM users ORDER BY created_at LIMIT 1), 1, $at / 1000, $at / 1000
FROM n;"

sql "$mfa_db" "
$series
INSERT INTO authenticators (id, user_id, type, email, active, created_at)
SELECT printf('email|dev_pop%013x', i), printf('auth0|pop%021x', i), 'email',
       printf('pop-%d@populate.example', i), 1, $at - $day
FROM n;
$series
INSERT INTO mfa_tokens (token_hash, user_id, email, client_id, client_name, audience, scope,
                        expires_at, used, created_at)
SELECT printf('pop%061x', i), printf('auth0|pop%021x', i), printf('pop-%d@populate.example', i),
       'populate-client', 'Populate', 'https://populate.example/api', 'read:populate',
       $at + 600000, 1, $at
FROM n;
$series
INSERT INTO challenges (oob_hash, user_id, authenticator_id, token_hash, code_hmac, attempts,
                        expires_at, state, created_at)
SELECT printf('pop%061x', i), printf('auth0|pop%021x', i), printf('email|dev_pop%013x', i),
       printf('pop%061x', i), printf('%064x', i), 0, $at + 300000, 'used', $at
FROM n;
$series
INSERT INTO mail_jobs (job_id, challenge_id, user_id, state, detail, created_at, updated_at)
SELECT printf('pop%029x', i), NULL, printf('auth0|pop%021x', i), 'sent', '250 2.0.0 Ok', $at, $at
FROM n;
$series
INSERT INTO audit (type, user_id, client_id, ip, result, detail, created_at)
SELECT 'gd_auth_succeed', printf('auth0|pop%021x', i), 'populate-client', '127.0.0.1', 'success',
       NULL, strftime('%Y-%m-%dT%H:%M:%fZ', $at / 1000.0, 'unixepoch')
FROM n;"

if [[ -n $outbox_db ]]; then
  sql "$outbox_db" "
$series
INSERT INTO outbox (job_id, mail_from, rcpt_to, subject, text_body, html_body, message_id,
                    expires_at, created_at, state, attempts, next_attempt_at, last_smtp_code,
                    last_detail, updated_at)
SELECT printf('pop%029x', i), 'Postern <no-reply@populate.example>',
       printf('pop-%d@populate.example', i), 'Your verification code',
       printf('Your verification code is %06d. It expires in 5 minutes.%s', i % 1000000,
              substr(hex(zeroblob(100)), 1, 200)),
       NULL, printf('<pop%029x@populate.example>', i), $at + 300000, $at, 'sent', 1, $at,
       250, '250 2.0.0 Ok', $at
FROM n;"
fi
echo "populate: $count users, authenticators and a day of sign-ins in $(( $(date +%s) - started )) s"
for db in "$authn_db" "$mfa_db" $outbox_db; do
  rows=$(sqlite3 -batch "$db" ".timeout 60000" "SELECT count(*) FROM ${table[$db]}")
  printf 'populate: %-20s %s bytes (with its WAL), %s rows in %s\n' "$(basename "$db")" \
    "$(( $(stat -c %s "$db") + $(stat -c %s "$db-wal" 2>/dev/null || echo 0) ))" "$rows" "${table[$db]}"
done
