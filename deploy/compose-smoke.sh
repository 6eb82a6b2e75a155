#!/usr/bin/env bash
# compose-smoke.sh: proves the compose deployment works on this Debian 12 host.
#
#   deploy/compose-smoke.sh            (as root, or it re-runs itself with sudo)
#
# 1. installs what it needs (docker.io docker-compose debootstrap python3-aiosmtpd
#    curl jq openssl; nothing when present) and starts dockerd if it does not answer
# 2. builds the base image (deploy/build-base-image.sh; kept when it exists)
# 3. starts a real SMTP sink (tests/support/smtp_sink.py, aiosmtpd) on 127.0.0.1:2525
# 4. `docker-compose up -d --build` under its own project name (postern-smoke), from
#    empty volumes, with every setting compose.yaml reads pinned to local values
#    (a .env file or exported POSTERN_* cannot send the test mail elsewhere)
# 5. checks the containers (running, host network, non-root, 0700 data dirs, 0600
#    secrets), copies bootstrap.json and the CA out (deploy/compose-credentials.sh)
# 6. runs the seed flow with curl over HTTPS, trusting only that CA: management
#    token, API, application, user, email factor on, password grant -> 403
#    mfa_required, /mfa/associate, the code read from the mail the sink received,
#    mfa-oob grant -> 200 with an access token whose RS256 signature verifies
#    against the JWKS (openssl) and whose iss/aud/sub are right
# 7. recreates every container with two mailers (--force-recreate --scale mailer=2):
#    the old management token still works (signing key kept), the same bootstrap
#    credentials, the enrolment kept (mfa_required, /mfa/challenge, mail, mfa-oob 200)
# 8. tears down: docker-compose down -v (no volume left), the sink stopped.
# Exits non-zero on the first failure, saying what failed, with the services' logs;
# the work directory is then kept. Phase timings are printed at the end.
#
# Environment: POSTERN_SMOKE_PROJECT (compose project, default postern-smoke),
# POSTERN_SMOKE_KEEP=1 (leave the stack and sink running after success),
# POSTERN_DOCKERD_ARGS (when this script starts dockerd itself without systemd;
# default "--bridge=none --iptables=false": the deployment uses host networking only).
# Ports 8443, 5601-5603 and 2525 on 127.0.0.1 must be free (stop `./postern up`).
set -uo pipefail

if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "compose-smoke: run as root" >&2; exit 1; }
  exec sudo --preserve-env=POSTERN_SMOKE_PROJECT,POSTERN_SMOKE_KEEP,POSTERN_DOCKERD_ARGS "$0" "$@"
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
project=${POSTERN_SMOKE_PROJECT:-postern-smoke}
work=$(mktemp -d /tmp/postern-compose-smoke.XXXXXX)
DEBIAN_PYTHON=/usr/bin/python3
DOMAIN=localhost:8443
HTTPS_PORT=8443
SMTP_PORT=2525
BUS_PORTS=(5601 5602 5603)
MAIL_DIR=$work/mail
CREDS=$work/credentials
CA=$CREDS/ca.pem
BOOT=$CREDS/bootstrap.json
USER_EMAIL=smoke-user@example.com
USER_PASSWORD='a long smoke-test password'

START=$(date +%s.%N)
PHASE_START=$START
PHASE_NAME=""
PHASES=()
PASSED=0
FAILED=""
SINK_PID=""
STACK_STARTED=0

log() { printf '[compose-smoke %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

phase() {
  local now
  now=$(date +%s.%N)
  [[ -n $PHASE_NAME ]] && PHASES+=("$(printf '%-44s %6ss' "$PHASE_NAME" "$(elapsed "$PHASE_START" "$now")")")
  PHASE_NAME=$1
  PHASE_START=$now
  [[ -n $1 ]] && log "== $1"
}

# die WHAT: the failure, said once; the EXIT trap prints logs and tears down
die() {
  FAILED=$*
  log "FAIL $*"
  exit 1
}
pass() { PASSED=$((PASSED + 1)); log "ok   $*"; }

# expect WHAT WANT GOT
expect() {
  if [[ "$3" == "$2" ]]; then
    pass "$1"
  else
    die "$1: want '$2', got '$3'${BODY:+ (body: ${BODY:0:400})}"
  fi
}
expect_match() {
  if [[ "$3" =~ $2 ]]; then pass "$1"; else die "$1: '$3' does not match /$2/"; fi
}

dc() { docker-compose -f "$root/compose.yaml" -p "$project" "$@"; }

# project_volumes: the volumes mounted by the project's containers, anonymous ones too
project_volumes() {
  docker ps -aq --filter "label=com.docker.compose.project=$project" \
    | xargs -r docker inspect -f '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{"\n"}}{{end}}{{end}}' \
    | sort -u | grep -v '^$'
}

# compose_down: docker-compose down -v, then the anonymous volumes it leaves: a mailer
# replica recreated by docker-compose 1.29 mounts its predecessor's anonymous outbox
# volume by name, and `down -v` keeps such a volume
compose_down() {
  local volumes left
  volumes=$(project_volumes)
  dc down -v --remove-orphans >"$work/down.log" 2>&1 || log "docker-compose down failed: $(tail -n 3 "$work/down.log")"
  for volume in $volumes; do
    docker volume inspect "$volume" >/dev/null 2>&1 && docker volume rm "$volume" >/dev/null
  done
  left=$( { docker volume ls -q --filter "label=com.docker.compose.project=$project"
            for volume in $volumes; do docker volume inspect -f '{{.Name}}' "$volume" 2>/dev/null; done; } \
          | grep -c .)
  if ((left > 0)); then
    log "FAIL $left volume(s) of project $project still exist after teardown"
    return 1
  fi
  log "stack down, its $(wc -w <<<"$volumes") volumes removed"
}

teardown() {
  local rc=$?
  [[ -n $FAILED || $rc -eq 0 ]] || FAILED="exit status $rc"
  phase "teardown"
  if [[ -n $FAILED && $STACK_STARTED == 1 ]]; then
    echo "----- docker-compose ps"
    dc ps 2>&1
    echo "----- docker-compose logs (last 60 lines per service)"
    dc logs --no-color --tail 60 2>&1
  fi
  if [[ -n $FAILED && -s $work/smtp.log ]]; then
    echo "----- smtp sink log"
    tail -n 20 "$work/smtp.log"
  fi
  if [[ -z $FAILED && ${POSTERN_SMOKE_KEEP:-} == 1 ]]; then
    log "POSTERN_SMOKE_KEEP=1: stack (project $project) and sink (pid $SINK_PID) left running;"
    log "  stop with: docker-compose -f $root/compose.yaml -p $project down -v; kill $SINK_PID"
  else
    if command -v docker-compose >/dev/null && docker info >/dev/null 2>&1; then
      compose_down || if [[ -z $FAILED ]]; then FAILED="teardown left volumes behind"; fi
    fi
    if [[ -n $SINK_PID ]]; then
      kill "$SINK_PID" 2>/dev/null
      wait "$SINK_PID" 2>/dev/null
    fi
  fi
  phase ""
  echo
  echo "Phase timings:"
  printf '  %s\n' "${PHASES[@]}"
  printf '  %-44s %6ss\n' "total" "$(elapsed "$START" "$(date +%s.%N)")"
  if [[ -n $FAILED ]]; then
    echo "compose-smoke: FAILED after $PASSED checks: $FAILED"
    echo "compose-smoke: work directory kept: $work"
    exit 1
  fi
  [[ ${POSTERN_SMOKE_KEEP:-} == 1 ]] || rm -rf "$work"
  echo "compose-smoke: PASSED ($PASSED checks)"
  exit 0
}
trap teardown EXIT
trap 'die "interrupted"' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- 1. packages and the Docker daemon -------------------------------------------
phase "install packages (apt-get, when missing)"
packages=(docker.io docker-compose debootstrap python3-aiosmtpd curl jq openssl ca-certificates)
missing=()
for package in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$package" 2>/dev/null) == "install ok installed" ]] || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]}"
  apt-get update -qq >"$work/apt.log" 2>&1 || die "apt-get update failed: $(tail -n 5 "$work/apt.log")"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >>"$work/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed: $(tail -n 5 "$work/apt.log")"
fi
pass "packages present: ${packages[*]}"

phase "Docker daemon"
if ! docker info >/dev/null 2>&1; then
  if [[ -d /run/systemd/system ]]; then
    log "starting docker.service"
    systemctl start docker || die "systemctl start docker failed"
  else
    log "starting dockerd ${POSTERN_DOCKERD_ARGS---bridge=none --iptables=false} (log: /var/log/postern-dockerd.log)"
    # shellcheck disable=SC2086
    setsid dockerd ${POSTERN_DOCKERD_ARGS---bridge=none --iptables=false} \
      >>/var/log/postern-dockerd.log 2>&1 </dev/null &
  fi
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || die "dockerd did not answer within 60 s: $(tail -n 5 /var/log/postern-dockerd.log 2>/dev/null)"
fi
pass "docker daemon answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null))"
docker-compose version --short >/dev/null 2>&1 || die "docker-compose does not run"
pass "docker-compose $(docker-compose version --short)"

# --- 2. base image ---------------------------------------------------------------
phase "base image (deploy/build-base-image.sh)"
"$root/deploy/build-base-image.sh" >"$work/base-image.log" 2>&1 \
  || die "deploy/build-base-image.sh failed: $(tail -n 15 "$work/base-image.log")"
tail -n 1 "$work/base-image.log"
docker image inspect postern-base:bookworm >/dev/null 2>&1 || die "no postern-base:bookworm image"
pass "base image postern-base:bookworm"

# --- 3. a clean slate, the pinned settings and the SMTP sink -------------------------
phase "SMTP sink and clean slate"
compose_down >/dev/null || die "could not remove the leftovers of an earlier run of project $project"
for port in "$HTTPS_PORT" "${BUS_PORTS[@]}" "$SMTP_PORT"; do
  port_busy "$port" && die "port $port on 127.0.0.1 is in use (./postern up or another deployment running?)"
done
pass "ports $HTTPS_PORT ${BUS_PORTS[*]} $SMTP_PORT free"

# Every variable compose.yaml substitutes, emptied (so compose's defaults apply and a
# .env file cannot override them), then the few this test sets
# shellcheck disable=SC2016
while read -r name; do
  export "$name="
done < <(grep -o '\${POSTERN_[A-Z_]*' "$root/compose.yaml" | cut -c3- | sort -u)
export POSTERN_DOMAIN=$DOMAIN POSTERN_HTTPS_PORT=$HTTPS_PORT POSTERN_BIND_ADDRESS=127.0.0.1 \
       POSTERN_SMTP_HOST=127.0.0.1 POSTERN_SMTP_PORT=$SMTP_PORT POSTERN_SMTP_STARTTLS=off \
       POSTERN_SMTP_FROM="Postern <no-reply@postern.test>"
export COMPOSE_PROJECT_NAME=$project     # for deploy/compose-credentials.sh

mkdir -p "$MAIL_DIR"
"$DEBIAN_PYTHON" "$root/tests/support/smtp_sink.py" --host 127.0.0.1 --port "$SMTP_PORT" \
  --maildir "$MAIL_DIR" --port-file "$work/smtp.port" >"$work/smtp.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 1 100); do [[ -s $work/smtp.port ]] && break; sleep 0.1; done
[[ -s $work/smtp.port ]] || die "SMTP sink did not start: $(tail -n 5 "$work/smtp.log")"
expect "SMTP sink listens on 127.0.0.1:$SMTP_PORT" "$SMTP_PORT" "$(tr -d '\n' <"$work/smtp.port")"

# --- 4. the stack ------------------------------------------------------------------
phase "docker-compose build, the bus keys (deploy/compose-keys.sh)"
dc build >"$work/compose-build.log" 2>&1 \
  || die "docker-compose build failed: $(tail -n 30 "$work/compose-build.log")"
"$root/deploy/compose-keys.sh" >"$work/compose-keys.log" 2>&1 \
  || die "deploy/compose-keys.sh failed: $(tail -n 15 "$work/compose-keys.log")"
pass "image built, keys made"
phase "docker-compose up -d --build"
STACK_STARTED=1
dc up -d --build >"$work/compose-up.log" 2>&1 \
  || die "docker-compose up -d --build failed: $(tail -n 30 "$work/compose-up.log")"
pass "docker-compose up -d --build"

# the container of each service (the first one for the mailer), for docker exec
declare -A CONTAINER=()
find_containers() {
  local service
  for service in mfa authn mailer gateway; do
    CONTAINER[$service]=$(dc ps -q "$service" | head -n1)
    [[ -n ${CONTAINER[$service]} ]] || die "$service: no container"
  done
}
in_container() { local service=$1; shift; docker exec "${CONTAINER[$service]}" "$@"; }

phase "containers, volumes, credentials"
find_containers
for service in mfa authn mailer gateway; do
  expect "$service: running, host network, read-only root, no capabilities, init" \
    "true host true [ALL] true" \
    "$(docker inspect -f '{{.State.Running}} {{.HostConfig.NetworkMode}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.Init}}' "${CONTAINER[$service]}")"
  expect "$service: runs as uid 10001, not root" 10001 "$(in_container "$service" id -u)"
  expect "$service: data dir 0700" 700 "$(in_container "$service" stat -c %a /var/lib/postern)"
done

"$root/deploy/compose-credentials.sh" "$CREDS" >"$work/credentials.log" 2>&1 \
  || die "deploy/compose-credentials.sh failed: $(cat "$work/credentials.log")"
expect "bootstrap.json copied out, mode 600" 600 "$(stat -c %a "$BOOT" 2>/dev/null)"
expect "credentials directory mode 700" 700 "$(stat -c %a "$CREDS")"
check_secret() {
  expect "$1:$2 is mode 600" 600 "$(in_container "$1" stat -c %a "$2")"
}
check_secret authn /var/lib/postern/bootstrap.json
check_secret authn /var/lib/postern/authn.db
check_secret mfa /var/lib/postern/mfa-code.key
check_secret gateway /var/lib/postern/tls/ca.key
check_secret gateway /var/lib/postern/tls/server.key
check_secret mailer /var/lib/postern/mailer-outbox.db
grep -q 'BEGIN CERTIFICATE' "$CA" || die "ca.pem is not a certificate"
pass "development CA copied out"

# --- 5. the seed flow over HTTPS ---------------------------------------------------
# req METHOD PATH [curl args...]: sets STATUS and BODY; TLS verified against the CA only
req() {
  local method=$1 path=$2; shift 2
  STATUS=$(curl -sS --cacert "$CA" -X "$method" -o "$work/body" -w '%{http_code}' \
    --max-time 20 "https://$DOMAIN$path" "$@" 2>"$work/curl.err") || STATUS=000
  BODY=$(cat "$work/body" 2>/dev/null)
  [[ $STATUS != 000 ]] || BODY="curl: $(cat "$work/curl.err")"
  rm -f "$work/body"
}
json() { jq -r "$1" <<<"$BODY" 2>/dev/null; }

# until_status WANT SECONDS METHOD PATH [curl args...]: retries while the answer differs
until_status() {
  local want=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  while :; do
    req "$@"
    [[ $STATUS == "$want" ]] && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# wait_mail, mail_field, b64url_decode, verify_jwt, jwt_claims
source "$(dirname "${BASH_SOURCE[0]}")/../tests/support/checks.sh"

password_grant() {
  req POST /oauth/token --data grant_type=password --data-urlencode "username=$USER_EMAIL" \
    --data-urlencode "password=$USER_PASSWORD" --data audience=https://someapi.com/api \
    --data scope=read:sample --data "client_id=$CLIENT_ID" --data "client_secret=$CLIENT_SECRET"
}
mfa_oob() {
  req POST /oauth/token --data grant_type=http://auth0.com/oauth/grant-type/mfa-oob \
    --data "mfa_token=$1" --data "oob_code=$2" --data "binding_code=$3" --data "client_id=$CLIENT_ID"
}
management_token() {
  req POST /oauth/token --data grant_type=client_credentials \
    --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
    --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
    --data-urlencode "audience=https://$DOMAIN/api/v2/"
}

phase "seed flow: enrolment by email"
until_status 200 30 GET /.well-known/jwks.json \
  || die "gateway not serving https://$DOMAIN/.well-known/jwks.json within 30 s: $STATUS ${BODY:0:300}"
pass "gateway answers over TLS signed by the copied CA (JWKS 200)"
JWKS=$BODY

until_status 200 15 POST /oauth/token --data grant_type=client_credentials \
  --data-urlencode "client_id=$(jq -r .client_id "$BOOT")" \
  --data-urlencode "client_secret=$(jq -r .client_secret "$BOOT")" \
  --data-urlencode "audience=https://$DOMAIN/api/v2/"
expect "management token from bootstrap.json: status" 200 "$STATUS"
MANAGEMENT_TOKEN=$(json .access_token)
auth=(-H "authorization: Bearer $MANAGEMENT_TOKEN" -H 'content-type: application/json')

req POST /api/v2/resource-servers "${auth[@]}" \
  --data '{"identifier":"https://someapi.com/api","name":"Smoke API","scopes":[{"value":"read:sample"}]}'
expect "create API: status" 201 "$STATUS"

req POST /api/v2/clients "${auth[@]}" \
  --data '{"name":"Smoke app","grant_types":["password","http://auth0.com/oauth/grant-type/mfa-oob","http://auth0.com/oauth/grant-type/mfa-recovery-code"]}'
expect "create application: status" 201 "$STATUS"
CLIENT_ID=$(json .client_id)
CLIENT_SECRET=$(json .client_secret)
expect_match "create application: client_id" '^[A-Za-z0-9]{32}$' "$CLIENT_ID"

req POST /api/v2/users "${auth[@]}" \
  --data "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\"}"
expect "create user: status" 201 "$STATUS"
USER_ID=$(json .user_id)

req PUT /api/v2/guardian/factors/email "${auth[@]}" --data '{"enabled": true}'
expect "enable the email factor: status" 200 "$STATUS"
expect "enable the email factor: enabled" true "$(json .enabled)"

password_grant
expect "password grant: status" 403 "$STATUS"
expect "password grant: error" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
expect_match "password grant: mfa_token" '^[A-Za-z0-9_-]{43,}$' "$MFA_TOKEN"

req POST /mfa/associate -H "authorization: Bearer $MFA_TOKEN" -H 'content-type: application/json' \
  --data '{"authenticator_types":["oob"],"oob_channels":["email"]}'
expect "associate: status" 200 "$STATUS"
expect "associate: oob_channel" email "$(json .oob_channel)"
OOB_CODE=$(json .oob_code)
AUTHENTICATOR_ID=$(json .id)
expect_match "associate: authenticator id" '^email\|' "$AUTHENTICATOR_ID"

MAIL=$(wait_mail 1 200) || die "no mail reached the SMTP sink within 20 s (mailer -> 127.0.0.1:$SMTP_PORT)"
pass "mail delivered by the mailer container to the sink"
expect "mail: recipient" "$USER_EMAIL" "$(mail_field "$MAIL" To)"
expect "mail: envelope recipient" "$USER_EMAIL" "$(jq -r '.rcpt_tos[0]' "${MAIL%.eml}.json")"
CODE=$(mail_field "$MAIL" code)
expect_match "mail: 6-digit code" '^[0-9]{6}$' "$CODE"

mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "mfa-oob grant: status" 200 "$STATUS"
expect "mfa-oob grant: token_type" Bearer "$(json .token_type)"
ACCESS_TOKEN=$(json .access_token)
verify_jwt "$ACCESS_TOKEN" "$JWKS" || die "access token: RS256 signature does not verify against the JWKS"
pass "access token: RS256 signature verifies against the JWKS (openssl)"
CLAIMS=$(jwt_claims "$ACCESS_TOKEN")
expect "access token: iss" "https://$DOMAIN/" "$(jq -r .iss <<<"$CLAIMS")"
expect "access token: aud" "https://someapi.com/api" "$(jq -r .aud <<<"$CLAIMS")"
expect "access token: sub" "$USER_ID" "$(jq -r .sub <<<"$CLAIMS")"

# --- 6. recreate everything with two mailers: state survives ----------------------
phase "recreate with --scale mailer=2"
declare -A BEFORE=()
for service in mfa authn gateway; do BEFORE[$service]=${CONTAINER[$service]}; done
outbox_volume() {   # the volume of replica 1 of the mailer
  docker ps -q --filter "label=com.docker.compose.project=$project" \
    --filter label=com.docker.compose.service=mailer --filter label=com.docker.compose.container-number=1 \
    | xargs -r docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}'
}
OUTBOX_VOLUME=$(outbox_volume)
dc up -d --force-recreate --scale mailer=2 >"$work/compose-scale.log" 2>&1 \
  || die "docker-compose up -d --force-recreate --scale mailer=2 failed: $(tail -n 20 "$work/compose-scale.log")"
find_containers
for service in mfa authn gateway; do
  check_new=$([[ ${CONTAINER[$service]} != "${BEFORE[$service]}" ]] && echo new || echo "the same")
  expect "$service: a new container" new "$check_new"
done
expect "the first mailer keeps its outbox volume across recreation" "$OUTBOX_VOLUME" "$(outbox_volume)"
expect "two mailer containers running" 2 "$(dc ps -q mailer | xargs -r docker inspect -f '{{.State.Running}}' | grep -c true)"
for _ in $(seq 1 60); do
  (( $(dc logs --no-color mfa 2>/dev/null | grep -c '"mailer_joined"') >= 2 )) && break
  sleep 0.5
done
JOINED=$(dc logs --no-color mfa 2>/dev/null | grep -c '"mailer_joined"')
expect "mfa saw both mailers join (mailer_joined events >= 2)" true "$( ((JOINED >= 2)) && echo true || echo "false ($JOINED)")"
BOOT_AGAIN=$(in_container authn cat /var/lib/postern/bootstrap.json)
expect "bootstrap credentials kept across recreation" "$(jq -r .client_id "$BOOT")" "$(jq -r .client_id <<<"$BOOT_AGAIN")"

until_status 200 30 GET /api/v2/users/"$USER_ID" -H "authorization: Bearer $MANAGEMENT_TOKEN"
expect "management token issued before recreation still accepted (signing key kept)" 200 "$STATUS"
expect "user kept" "$USER_EMAIL" "$(json .email)"

phase "seed flow: sign-in challenge after recreation"
password_grant
expect "password grant after recreation: status" 403 "$STATUS"
expect "password grant after recreation: error" mfa_required "$(json .error)"
MFA_TOKEN=$(json .mfa_token)
until_status 200 15 POST /mfa/challenge -H 'content-type: application/json' \
  --data "{\"mfa_token\":\"$MFA_TOKEN\",\"challenge_type\":\"oob\",\"authenticator_id\":\"$AUTHENTICATOR_ID\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\"}"
expect "challenge (enrolment kept): status" 200 "$STATUS"
OOB_CODE=$(json .oob_code)
MAIL=$(wait_mail 2 200) || die "no second mail reached the sink within 20 s"
CODE=$(mail_field "$MAIL" code)
expect_match "second mail: 6-digit code" '^[0-9]{6}$' "$CODE"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$CODE"
expect "mfa-oob grant after challenge: status" 200 "$STATUS"
verify_jwt "$(json .access_token)" "$JWKS" || die "second access token does not verify against the JWKS"
pass "second access token verifies against the JWKS"
