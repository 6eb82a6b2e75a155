#!/usr/bin/env bash
# Builds the Debian 12 base image the Dockerfile starts from, locally: no image
# registry is needed (debootstrap from the Debian mirror + docker import).
set -euo pipefail
image=${1:-postern-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image exists"
  exit 0
fi
rootfs=$(mktemp -d /tmp/postern-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" "$mirror"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import - "$image"
echo "built $image"
