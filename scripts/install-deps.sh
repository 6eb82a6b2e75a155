#!/usr/bin/env bash
# Installs the Debian 12 packages Postern needs to build, run and test, and the npm
# packages of the e2e tests' real clients. Idempotent: does nothing (and needs no
# network) when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libczmq-dev libmsgpack-dev libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev
  libcmocka-dev libsodium-dev libssl-dev libjansson-dev
  libpq-dev postgresql            # authn and mfa on PostgreSQL; the tests start their own cluster
  python3-aiosmtpd curl jq openssl sqlite3 ca-certificates procps iproute2 util-linux
  wrk gnuplot-nox                 # bench/run.sh (its smoke runs in ./postern test)
  libdb5.3 libicu72 libnsl2 libsasl2-2  # postfix's smtp-sink, the bench's SMTP sink (bench/smtp_sink.sh)
  libfaketime                     # wall clock steps: test_msg_clock_step, fault mailer_clock_step
)

# Node.js runs Auth0's official SDKs in the e2e tests; a machine that already has
# a Node.js (the SDKs want 20.19 or later) keeps its own
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  echo "postern: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The SDKs, pinned by tests/e2e/sdk/package-lock.json; reinstalled when the lock changes
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/sdk" && pwd)
if [[ ! -f $sdk/node_modules/.package-lock.json || $sdk/package-lock.json -nt $sdk/node_modules/.package-lock.json ]]; then
  echo "postern: installing the Auth0 SDKs for the e2e tests (npm ci)" >&2
  (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
