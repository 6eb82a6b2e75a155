# smoke-lib.sh: what the deployment smoke tests share (deploy/compose-smoke.sh,
# deploy/compose-ha-smoke.sh). Sourced, never run. The caller sets, before sourcing:
#   SMOKE_NAME     its name, for the log lines
#   compose_file   the compose file it tests
#   project        the compose project name
#   work           its work directory (kept on failure)
#   SMOKE_PORTS    the 127.0.0.1 ports that must be free before the stack starts
#   DOMAIN, SMTP_PORT, MAIL_DIR, CA, BOOT
# and calls smoke_prepare (packages, dockerd, base image, clean slate, SMTP sink)
# before its own phases. The EXIT trap prints the services' logs on failure and
# tears everything down (POSTERN_SMOKE_KEEP=1 keeps a passing stack running).

DEBIAN_PYTHON=/usr/bin/python3
START=$(date +%s.%N)
PHASE_START=$START
PHASE_NAME=""
PHASES=()
PASSED=0
FAILED=""
SINK_PID=""
STACK_STARTED=0

log() { printf '[%s %s] %s\n' "$SMOKE_NAME" "$(date +%H:%M:%S)" "$*"; }
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

dc() { docker-compose -f "$compose_file" -p "$project" "$@"; }

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
    log "  stop with: docker-compose -f $compose_file -p $project down -v; kill $SINK_PID"
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
    echo "$SMOKE_NAME: FAILED after $PASSED checks: $FAILED"
    echo "$SMOKE_NAME: work directory kept: $work"
    exit 1
  fi
  [[ ${POSTERN_SMOKE_KEEP:-} == 1 ]] || rm -rf "$work"
  echo "$SMOKE_NAME: PASSED ($PASSED checks)"
  exit 0
}
trap teardown EXIT
trap 'die "interrupted"' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# smoke_prepare: packages, the Docker daemon, the base image, a clean slate, the
# settings pinned to local values and the SMTP sink
smoke_prepare() {
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
  for port in "${SMOKE_PORTS[@]}"; do
    port_busy "$port" && die "port $port on 127.0.0.1 is in use (./postern up or another deployment running?)"
  done
  pass "ports ${SMOKE_PORTS[*]} free"

  # Every variable the compose file substitutes, emptied (so compose's defaults apply and a
  # .env file cannot override them), then the few this test sets
  # shellcheck disable=SC2016
  while read -r name; do
    export "$name="
  done < <(grep -o '\${POSTERN_[A-Z_]*' "$compose_file" | cut -c3- | sort -u)
  export POSTERN_DOMAIN=$DOMAIN POSTERN_HTTPS_PORT=$HTTPS_PORT POSTERN_BIND_ADDRESS=127.0.0.1 \
         POSTERN_SMTP_HOST=127.0.0.1 POSTERN_SMTP_PORT=$SMTP_PORT POSTERN_SMTP_STARTTLS=off \
         POSTERN_SMTP_FROM="Postern <no-reply@postern.test>"
  export COMPOSE_PROJECT_NAME=$project COMPOSE_FILE=$compose_file   # for deploy/compose-credentials.sh

  mkdir -p "$MAIL_DIR"
  "$DEBIAN_PYTHON" "$root/tests/support/smtp_sink.py" --host 127.0.0.1 --port "$SMTP_PORT" \
    --maildir "$MAIL_DIR" --port-file "$work/smtp.port" >"$work/smtp.log" 2>&1 &
  SINK_PID=$!
  for _ in $(seq 1 100); do [[ -s $work/smtp.port ]] && break; sleep 0.1; done
  [[ -s $work/smtp.port ]] || die "SMTP sink did not start: $(tail -n 5 "$work/smtp.log")"
  expect "SMTP sink listens on 127.0.0.1:$SMTP_PORT" "$SMTP_PORT" "$(tr -d '\n' <"$work/smtp.port")"
}

# req METHOD PATH [curl args...]: sets STATUS and BODY; TLS verified against the CA
# only; to the gateway at GATEWAY (host:port, default DOMAIN)
req() {
  local method=$1 path=$2; shift 2
  STATUS=$(curl -sS --cacert "$CA" -X "$method" -o "$work/body" -w '%{http_code}' \
    --max-time 20 "https://${GATEWAY:-$DOMAIN}$path" "$@" 2>"$work/curl.err") || STATUS=000
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
source "$root/tests/support/checks.sh"

password_grant() {   # password_grant [EMAIL]: USER_EMAIL's by default
  req POST /oauth/token --data grant_type=password --data-urlencode "username=${1:-$USER_EMAIL}" \
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

# smoke_tenant: the management token from bootstrap.json, then the API, the
# application and the email factor the sign-ins use; sets MANAGEMENT_TOKEN, auth,
# CLIENT_ID and CLIENT_SECRET
smoke_tenant() {
  until_status 200 30 POST /oauth/token --data grant_type=client_credentials \
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
  req PUT /api/v2/guardian/factors/email "${auth[@]}" --data '{"enabled": true}'
  expect "enable the email factor: status" 200 "$STATUS"
  expect "enable the email factor: enabled" true "$(json .enabled)"
}
