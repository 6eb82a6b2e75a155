#!/usr/bin/env bash
# compose-ha-smoke.sh: proves compose.ha.yaml works on this Debian 12 host, and
# that it has no single point of failure.
#
#   deploy/compose-ha-smoke.sh            (as root, or it re-runs itself with sudo)
#
# 1. as compose-smoke.sh: packages, dockerd, the base image, a real SMTP sink on
#    127.0.0.1:2525, every setting the file reads pinned to local values
# 2. builds both images, makes the bus keys and the database passwords, starts the
#    stack from empty volumes: PostgreSQL primary + standby, authn-1/2, mfa-1/2,
#    mailer-1/2/3, gateway-1/2
# 3. checks the containers (running, host network, read-only root, no
#    capabilities, non-root), the standby streaming synchronously, every mailer
#    known to both mfa instances, no password in any container's environment
# 4. the seed flow over HTTPS through gateway-1 and a sign-in through gateway-2
# 5. loses an instance: authn-1 and mfa-1 stopped, new users enrol and an
#    enrolled one signs in through both gateways; then the same with authn-2 and
#    mfa-2 stopped and the first pair back
# 6. loses the database: a user enrolled just before the primary is killed; while
#    there is no primary, sign-ins answer 503 quickly; the standby promoted
#    (pg_ctl promote, nothing else changed), sign-ins continue, and that user and
#    everything before are there (synchronous replication: nothing acknowledged lost)
# 7. every mail the services acknowledged (associate and challenge answered 200)
#    arrived at the SMTP server exactly once
# 8. tears down: docker-compose down -v, the sink stopped.
# Exits non-zero on the first failure, with the services' logs. Phase timings at
# the end. Environment as compose-smoke.sh (POSTERN_SMOKE_PROJECT, default
# postern-ha-smoke; POSTERN_SMOKE_KEEP; POSTERN_DOCKERD_ARGS). Ports 8443-8444,
# 5601-5603, 5611-5613, 5432-5433 and 2525 on 127.0.0.1 must be free.
set -uo pipefail

if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "compose-ha-smoke: run as root" >&2; exit 1; }
  exec sudo --preserve-env=POSTERN_SMOKE_PROJECT,POSTERN_SMOKE_KEEP,POSTERN_DOCKERD_ARGS "$0" "$@"
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
compose_file=$root/compose.ha.yaml
SMOKE_NAME=compose-ha-smoke
project=${POSTERN_SMOKE_PROJECT:-postern-ha-smoke}
work=$(mktemp -d /tmp/postern-compose-ha-smoke.XXXXXX)
DOMAIN=localhost:8443
GATEWAYS=(localhost:8443 localhost:8444)
HTTPS_PORT=8443
SMTP_PORT=2525
SMOKE_PORTS=(8443 8444 5601 5602 5603 5611 5612 5613 5432 5433 2525)
MAIL_DIR=$work/mail
CREDS=$work/credentials
CA=$CREDS/ca.pem
BOOT=$CREDS/bootstrap.json
USER_PASSWORD='a long smoke-test password'
SECRETS=$root/secrets-compose
POSTERN_SERVICES=(authn-1 authn-2 mfa-1 mfa-2 mailer-1 mailer-2 mailer-3 gateway-1 gateway-2)

# shellcheck source=deploy/smoke-lib.sh
source "$root/deploy/smoke-lib.sh"
smoke_prepare
export POSTERN_PG_PRIMARY_PORT=5432 POSTERN_PG_STANDBY_PORT=5433 POSTERN_HTTPS_PORT_2=8444 \
       POSTERN_PG_SYNCHRONOUS=on

container() { dc ps -q "$1" | head -n1; }
psql_on() {   # psql_on SERVICE SQL: one value, as the local superuser (peer login)
  docker exec "$(container "$1")" psql -h /tmp -U postgres -d postern -AXqt -c "$2" 2>&1
}

# --- the stack ---------------------------------------------------------------------
phase "build both images, bus keys, database passwords"
dc build >"$work/compose-build.log" 2>&1 \
  || die "docker-compose build failed: $(tail -n 30 "$work/compose-build.log")"
"$root/deploy/compose-keys.sh" >"$work/compose-keys.log" 2>&1 \
  || die "deploy/compose-keys.sh failed: $(tail -n 15 "$work/compose-keys.log")"
"$root/deploy/compose-ha-secrets.sh" "$SECRETS" >"$work/compose-secrets.log" 2>&1 \
  || die "deploy/compose-ha-secrets.sh failed: $(tail -n 15 "$work/compose-secrets.log")"
expect "database password files are 0600" "600 600 600" \
  "$(stat -c %a "$SECRETS/postgres/postern.password" "$SECRETS/postgres/replicator.password" "$SECRETS/postern/pgpass" | xargs)"
pass "images built, keys and passwords made"

phase "docker-compose up -d"
STACK_STARTED=1
dc up -d >"$work/compose-up.log" 2>&1 \
  || die "docker-compose up -d failed: $(tail -n 30 "$work/compose-up.log")"
pass "docker-compose -f compose.ha.yaml up -d"

phase "containers, replication, credentials"
for service in postgres-primary postgres-standby "${POSTERN_SERVICES[@]}"; do
  id=$(container "$service")
  [[ -n $id ]] || die "$service: no container"
  expect "$service: running, host network, read-only root, no capabilities" \
    "true host true [ALL]" \
    "$(docker inspect -f '{{.State.Running}} {{.HostConfig.NetworkMode}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}' "$id")"
  uid=$(docker exec "$id" id -u)
  [[ $service == postgres-* ]] && want=10002 || want=10001
  expect "$service: runs as uid $want" "$want" "$uid"
  env_dump=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$id")
  for secret in "$SECRETS"/postgres/*.password; do
    grep -qF "$(cat "$secret")" <<<"$env_dump" && die "$service: a database password is in its environment"
  done
done
pass "no database password in any container's environment"

for _ in $(seq 1 60); do
  [[ $(psql_on postgres-primary "SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = 'standby1'") == "streaming sync" ]] && break
  sleep 0.5
done
expect "the standby streams synchronously from the primary" "streaming sync" \
  "$(psql_on postgres-primary "SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")"
expect "the standby is in recovery (read-only)" t "$(psql_on postgres-standby 'SELECT pg_is_in_recovery ()')"

"$root/deploy/compose-credentials.sh" "$CREDS" >"$work/credentials.log" 2>&1 \
  || die "deploy/compose-credentials.sh failed: $(cat "$work/credentials.log")"
expect "bootstrap.json copied out, mode 600" 600 "$(stat -c %a "$BOOT" 2>/dev/null)"
grep -q 'BEGIN CERTIFICATE' "$CA" || die "ca.pem is not a certificate"
pass "development CA copied out"

for mfa in mfa-1 mfa-2; do
  for _ in $(seq 1 60); do
    (( $(dc logs --no-color "$mfa" 2>/dev/null | grep -c '"mailer_joined"') >= 3 )) && break
    sleep 0.5
  done
  JOINED=$(dc logs --no-color "$mfa" 2>/dev/null | grep -c '"mailer_joined"')
  expect "$mfa: all three mailers joined" true "$( ((JOINED >= 3)) && echo true || echo "false ($JOINED)")"
done

# --- sign-ins ------------------------------------------------------------------------
ACKNOWLEDGED=0     # mails the services said they hold (associate/challenge 200)

# mail_to RCPT N: the path of the Nth mail to RCPT, waiting up to 20 s
mail_to() {
  local rcpt=$1 want=$2 tries=200 files
  while :; do
    mapfile -t files < <(grep -lF "\"$rcpt\"" "$MAIL_DIR"/*.json 2>/dev/null | sort -V)
    if ((${#files[@]} >= want)); then
      local eml=${files[want - 1]%.json}.eml
      for _ in $(seq 1 50); do [[ -s $eml ]] && break; sleep 0.1; done
      echo "$eml"
      return 0
    fi
    tries=$((tries - 1))
    ((tries > 0)) || return 1
    sleep 0.1
  done
}

# finish EMAIL N OOB_CODE WHAT: the Nth mail to EMAIL carries the code; mfa-oob -> tokens
finish() {
  local email=$1 n=$2 oob=$3 what=$4 mail code
  mail=$(mail_to "$email" "$n") || die "$what: no mail $n to $email within 20 s"
  code=$(mail_field "$mail" code)
  expect_match "$what: 6-digit code in mail $n" '^[0-9]{6}$' "$code"
  mfa_oob "$MFA_TOKEN" "$oob" "$code"
  expect "$what: mfa-oob grant" 200 "$STATUS"
  verify_jwt "$(json .access_token)" "$JWKS" || die "$what: access token does not verify against the JWKS"
}

# enrol EMAIL WHAT: a new user, through the gateway GATEWAY names: mfa_required,
# email enrolment, the mailed code, tokens
enrol() {
  local email=$1 what=$2
  req POST /api/v2/users "${auth[@]}" \
    --data "{\"email\":\"$email\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\"}"
  expect "$what: create user" 201 "$STATUS"
  password_grant "$email"
  expect "$what: password grant" "403 mfa_required" "$STATUS $(json .error)"
  MFA_TOKEN=$(json .mfa_token)
  req POST /mfa/associate -H "authorization: Bearer $MFA_TOKEN" -H 'content-type: application/json' \
    --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
  expect "$what: associate" 200 "$STATUS"
  ACKNOWLEDGED=$((ACKNOWLEDGED + 1))
  AUTHENTICATOR[$email]=$(json .id)
  MAILS[$email]=1
  finish "$email" 1 "$(json .oob_code)" "$what"
}

# sign_in EMAIL WHAT: an enrolled user signs in again: challenge, mail, tokens
sign_in() {
  local email=$1 what=$2
  password_grant "$email"
  expect "$what: password grant" "403 mfa_required" "$STATUS $(json .error)"
  MFA_TOKEN=$(json .mfa_token)
  req POST /mfa/challenge -H 'content-type: application/json' \
    --data "{\"mfa_token\":\"$MFA_TOKEN\",\"challenge_type\":\"oob\",\"authenticator_id\":\"${AUTHENTICATOR[$email]}\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\"}"
  expect "$what: challenge" 200 "$STATUS"
  ACKNOWLEDGED=$((ACKNOWLEDGED + 1))
  MAILS[$email]=$((MAILS[$email] + 1))
  finish "$email" "${MAILS[$email]}" "$(json .oob_code)" "$what"
}
declare -A AUTHENTICATOR=() MAILS=()

phase "seed flow through gateway-1, sign-in through gateway-2"
GATEWAY=${GATEWAYS[0]}
until_status 200 60 GET /.well-known/jwks.json \
  || die "gateway-1 not serving the JWKS within 60 s: $STATUS ${BODY:0:300}"
JWKS=$BODY
smoke_tenant
enrol user-0@example.com "gateway-1, all up"
GATEWAY=${GATEWAYS[1]}
until_status 200 30 GET /.well-known/jwks.json || die "gateway-2 not serving the JWKS: $STATUS"
expect "both gateways publish the same keys" "$JWKS" "$BODY"
sign_in user-0@example.com "gateway-2, all up"

# --- instances lost --------------------------------------------------------------------
# lose_pair DOWN... : those instances killed (SIGKILL, no goodbye); new users enrol
# and user-0 signs in through both gateways; then they start again
round=0
lose() {
  local down=("$@") gateway
  phase "instances lost: ${down[*]}"
  dc kill -s KILL "${down[@]}" >"$work/kill.log" 2>&1 || die "docker-compose kill ${down[*]} failed"
  for service in "${down[@]}"; do
    expect "$service: stopped" false "$(docker inspect -f '{{.State.Running}}' "$(dc ps -q "$service")")"
  done
  for gateway in "${GATEWAYS[@]}"; do
    GATEWAY=$gateway
    round=$((round + 1))
    enrol "user-$round@example.com" "without ${down[*]}, via $gateway"
    sign_in user-0@example.com "without ${down[*]}, via $gateway"
  done
  dc start "${down[@]}" >"$work/start.log" 2>&1 || die "docker-compose start ${down[*]} failed"
}
lose authn-1 mfa-1
lose authn-2 mfa-2 mailer-1

# --- the database lost: promotion ------------------------------------------------------
phase "primary killed, standby promoted"
GATEWAY=${GATEWAYS[0]}
enrol user-last@example.com "just before the primary dies"
dc kill -s KILL postgres-primary >"$work/kill.log" 2>&1 || die "docker-compose kill postgres-primary failed"
expect "postgres-primary: stopped, not restarted" false \
  "$(docker inspect -f '{{.State.Running}}' "$(dc ps -q postgres-primary)")"
OUTAGE_START=$(date +%s.%N)
password_grant user-0@example.com
OUTAGE_S=$(elapsed "$OUTAGE_START" "$(date +%s.%N)")
expect "a sign-in without a primary: 503 temporarily_unavailable" "503 temporarily_unavailable" \
  "$STATUS $(json .error)"
expect "... answered within the bus deadline (${OUTAGE_S} s)" true \
  "$(awk -v s="$OUTAGE_S" 'BEGIN { print (s < 5)? "true": "false" }')"

docker exec "$(container postgres-standby)" pg_ctl -D /var/lib/postgresql/data -w promote \
  >"$work/promote.log" 2>&1 || die "pg_ctl promote failed: $(cat "$work/promote.log")"
PROMOTED=$(date +%s.%N)
expect "the standby is now the primary" f "$(psql_on postgres-standby 'SELECT pg_is_in_recovery ()')"
for _ in $(seq 1 60); do
  password_grant user-last@example.com
  [[ $STATUS == 403 ]] && break
  sleep 0.5
done
log "first sign-in answer $(elapsed "$PROMOTED" "$(date +%s.%N)") s after pg_ctl promote"
expect "the user enrolled just before the failure is there: password grant" \
  "403 mfa_required" "$STATUS $(json .error)"
sign_in user-last@example.com "after the promotion, via gateway-1"
GATEWAY=${GATEWAYS[1]}
sign_in user-0@example.com "after the promotion, via gateway-2"
enrol user-after@example.com "a new user after the promotion"

# --- mail, exactly once --------------------------------------------------------------------
phase "every acknowledged mail arrived exactly once"
sleep 3      # time for a duplicate, were one to come
DELIVERED=$(find "$MAIL_DIR" -name '*.eml' | wc -l)
expect "mails at the SMTP server = mails acknowledged" "$ACKNOWLEDGED" "$DELIVERED"
DUPLICATES=$(for mail in "$MAIL_DIR"/*.eml; do echo "$(mail_field "$mail" To) $(mail_field "$mail" code)"; done \
  | sort | uniq -d | grep -c .)
expect "no mail delivered twice (recipient and code)" 0 "$DUPLICATES"
