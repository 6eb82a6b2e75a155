#!/usr/bin/env bash
# Builds the Debian 12 base image the Dockerfile starts from (postern-base:bookworm),
# locally: no image registry is needed, only the Debian mirror (debootstrap) and a
# running Docker daemon (docker import).
#
#   deploy/build-base-image.sh [--rebuild] [IMAGE]
#
# Does nothing when the image exists; --rebuild (or POSTERN_BASE_REBUILD=1) builds
# it again, e.g. to pick up a Debian point release. Needs root (debootstrap);
# re-runs itself with sudo otherwise. Mirrors: DEBIAN_MIRROR (default
# http://deb.debian.org/debian) and DEBIAN_SECURITY_MIRROR (default
# http://deb.debian.org/debian-security); the image's apt sources use the same,
# with bookworm-updates and bookworm-security, so the Dockerfile's apt-get installs
# the current security fixes.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "build-base-image: run as root (debootstrap)" >&2; exit 1; }
  exec sudo --preserve-env=DEBIAN_MIRROR,DEBIAN_SECURITY_MIRROR,POSTERN_BASE_REBUILD "$0" "$@"
fi

rebuild=${POSTERN_BASE_REBUILD:-0}
if [[ ${1:-} == --rebuild ]]; then
  rebuild=1
  shift
fi
image=${1:-postern-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

for tool in debootstrap docker; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-base-image: $tool is missing (apt-get install debootstrap docker.io)" >&2
    exit 1
  fi
done
if ! docker info >/dev/null 2>&1; then
  echo "build-base-image: the Docker daemon does not answer (start dockerd)" >&2
  exit 1
fi

if [[ $rebuild != 1 ]] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "build-base-image: $image exists (--rebuild to build it again)"
  exit 0
fi

rootfs=$(mktemp -d /tmp/postern-rootfs.XXXXXX)
cleanup() {
  # debootstrap mounts /proc and /sys (and perhaps more) inside the target: an
  # interrupted run can leave them there, and rm must never walk into them
  local mount_point
  while read -r mount_point; do
    umount -l "$mount_point" 2>/dev/null || true
  done < <(awk -v root="$rootfs" 'index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$rootfs"
}
trap cleanup EXIT
# debootstrap runs in its own process group, so an interrupt stops all of it (wget,
# dpkg...) before the cleanup removes the tree it writes to
child=""
stop_child() {
  [[ -n $child ]] && kill -TERM -- "-$child" 2>/dev/null && wait "$child" 2>/dev/null
  exit 130
}
trap stop_child INT TERM

echo "build-base-image: debootstrap bookworm from $mirror"
setsid debootstrap --variant=minbase bookworm "$rootfs" "$mirror" &
child=$!
wait "$child"
child=""

cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security_mirror bookworm-security main
SOURCES
# the build host's name and resolver do not belong in the image (Docker provides both)
rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
       "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* "$rootfs"/var/log/*.log

tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=minbase bookworm $mirror" \
  - "$image"
echo "build-base-image: built $image"
