#!/usr/bin/env bash
# Installs the Debian 12 packages Postern needs to build, run and test.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libczmq-dev libmsgpack-dev libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev
  libcmocka-dev libsodium-dev libssl-dev libjansson-dev
  python3-aiosmtpd curl jq openssl sqlite3 ca-certificates procps
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "postern: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
