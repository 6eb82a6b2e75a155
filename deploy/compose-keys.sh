#!/usr/bin/env bash
# Makes the bus keys of the compose deployment, one folder per service, each
# holding that service's key pair and only the public keys it needs (the
# distribution of docs/security.md), owned by the containers' user (10001) and
# private to it (0700, secrets 0600). compose.yaml mounts each folder read-only
# at /etc/postern/keys. Keys are files: never in the image or the environment.
#
#   deploy/compose-keys.sh [DIR]      (default: ./keys-compose beside compose.yaml)
#
# Existing pairs are kept, so running it again changes nothing; to rotate one,
# delete its files under DIR/all and run it again, then restart the services
# (docs/security.md). Uses postern-keys from the postern:latest image
# (docker-compose build first), or from ./build/tools when there is no image.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$root/keys-compose}
uid=10001
names=(gateway authn mfa mailer)

install -d -m 0700 "$dir" "$dir/all"
if docker image inspect postern:latest >/dev/null 2>&1; then
  chown "$uid:$uid" "$dir/all"
  docker run --rm --network none -u "$uid:$uid" -v "$dir/all:/keys" postern:latest \
    postern-keys --dir /keys "${names[@]}"
else
  "$root/build/tools/postern-keys" --dir "$dir/all" "${names[@]}"
fi

# share SERVICE PEER...: SERVICE's folder with its pair and the PEERs' public keys
share() {
  local service=$1; shift
  local folder=$dir/$service
  install -d -m 0700 "$folder"
  install -m 0600 "$dir/all/$service.key_secret" "$folder/"
  install -m 0644 "$dir/all/$service.key" "$folder/"
  local peer
  for peer in "$@"; do install -m 0644 "$dir/all/$peer.key" "$folder/"; done
  chown -R "$uid:$uid" "$folder"
}
share gateway authn mfa
share authn gateway mfa
share mfa gateway authn mailer
share mailer mfa
chown -R "$uid:$uid" "$dir/all"
printf '*\n' >"$dir/.gitignore"
echo "compose-keys: keys in $dir (one folder per service, owned by uid $uid)"
