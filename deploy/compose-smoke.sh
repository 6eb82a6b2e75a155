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
compose_file=$root/compose.yaml
SMOKE_NAME=compose-smoke
project=${POSTERN_SMOKE_PROJECT:-postern-smoke}
work=$(mktemp -d /tmp/postern-compose-smoke.XXXXXX)
DOMAIN=localhost:8443
HTTPS_PORT=8443
SMTP_PORT=2525
SMOKE_PORTS=(8443 5601 5602 5603 2525)
MAIL_DIR=$work/mail
CREDS=$work/credentials
CA=$CREDS/ca.pem
BOOT=$CREDS/bootstrap.json
USER_EMAIL=smoke-user@example.com
USER_PASSWORD='a long smoke-test password'


# shellcheck source=deploy/smoke-lib.sh
source "$root/deploy/smoke-lib.sh"
smoke_prepare

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

phase "seed flow: enrolment by email"
until_status 200 30 GET /.well-known/jwks.json \
  || die "gateway not serving https://$DOMAIN/.well-known/jwks.json within 30 s: $STATUS ${BODY:0:300}"
pass "gateway answers over TLS signed by the copied CA (JWKS 200)"
JWKS=$BODY

smoke_tenant

req POST /api/v2/users "${auth[@]}" \
  --data "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\",\"connection\":\"Username-Password-Authentication\"}"
expect "create user: status" 201 "$STATUS"
USER_ID=$(json .user_id)

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
