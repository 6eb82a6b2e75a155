#!/usr/bin/env bash
# Copies what an operator needs out of the running compose deployment:
#   DIR/bootstrap.json   management application credentials (authn's volume), 0600
#   DIR/ca.pem           the gateway's development CA (gateway's volume), to trust
#
#   deploy/compose-credentials.sh [DIR]        (default: ./data-compose beside compose.yaml)
#
# DIR is created 0700 and holds a .gitignore that ignores everything in it. Run it
# after `docker-compose up -d`; it waits up to 60 s for the services to write the
# files. Uses the same compose project as your docker-compose commands
# (COMPOSE_PROJECT_NAME or the directory name) and file (COMPOSE_FILE, default
# compose.yaml; with compose.ha.yaml it reads authn-1's and gateway-1's volumes,
# which the other instances share). With POSTERN_TLS_CERT set there is no
# development CA: only bootstrap.json is copied.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$root/data-compose}
compose=(docker-compose -f "${COMPOSE_FILE:-$root/compose.yaml}")

# container SERVICE: the id of the service's running container (of its first
# instance, SERVICE-1, in a file that runs several)
container() {
  local id service services
  services=$("${compose[@]}" config --services)
  service=$(grep -x -m1 -E "$1|$1-1" <<<"$services") || service=$1
  id=$("${compose[@]}" ps -q "$service" | head -n1)
  if [[ -z $id ]]; then
    echo "compose-credentials: no $1 container (docker-compose up -d first)" >&2
    return 1
  fi
  echo "$id"
}

# wait_file ID PATH: until PATH exists and is not empty in the container
wait_file() {
  local id=$1 path=$2 tries=120
  until docker exec "$id" test -s "$path" 2>/dev/null; do
    tries=$((tries - 1))
    if ((tries == 0)); then
      echo "compose-credentials: $path did not appear in container $id (docker-compose logs)" >&2
      return 1
    fi
    sleep 0.5
  done
}

# copy ID PATH DEST MODE: the file's content, written aside then renamed
copy() {
  local id=$1 path=$2 dest=$3 mode=$4
  docker exec "$id" cat "$path" >"$dest.tmp"
  chmod "$mode" "$dest.tmp"
  mv -f "$dest.tmp" "$dest"
}

umask 077
mkdir -p "$dir"
chmod 700 "$dir"
[[ -f $dir/.gitignore ]] || printf '# written by deploy/compose-credentials.sh: secrets, never commit\n*\n' >"$dir/.gitignore"

authn=$(container authn)
gateway=$(container gateway)
wait_file "$authn" /var/lib/postern/bootstrap.json
copy "$authn" /var/lib/postern/bootstrap.json "$dir/bootstrap.json" 600
echo "management credentials  $dir/bootstrap.json"

if [[ -n $(docker exec "$gateway" printenv POSTERN_TLS_CERT 2>/dev/null || true) ]]; then
  echo "gateway uses POSTERN_TLS_CERT: no development CA to copy"
  exit 0
fi
wait_file "$gateway" /var/lib/postern/tls/ca.pem
copy "$gateway" /var/lib/postern/tls/ca.pem "$dir/ca.pem" 644
echo "development CA          $dir/ca.pem   (curl --cacert it)"
