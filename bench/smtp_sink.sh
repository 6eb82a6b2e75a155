#!/usr/bin/env bash
# The bench's SMTP sink: postfix's smtp-sink, a small C server that answers every
# command at once and dumps each message to a file. It stands in for a relay on
# another machine, so it should take little of this machine's CPU: the tests' Python
# sink (tests/support/smtp_sink.py) spent about as much CPU per message as the
# mailer that delivers it, and the bench would measure it rather than Postern.
#
#   bench/smtp_sink.sh fetch            puts smtp-sink in $POSTERN_BINARY_DIR/bench/postfix
#   bench/smtp_sink.sh run PORT DIR     runs it on 127.0.0.1:PORT (execs: the caller's
#                                       pid is the sink's)
#
# fetch takes Debian's postfix package with `apt-get download` and unpacks it with
# `dpkg -x`: nothing is installed and no mail server starts. Each accepted message
# becomes one file in DIR (YYYYmmddHHMMSS.<hex>): smtp-sink's X-Rcpt-Args and other
# X- lines, the message as received, an empty line. A file exists from MAIL FROM on
# and is written whole when the message ends, so its mtime is the moment the sink
# had the message (bench/driver.py reads both).
set -euo pipefail
dest=${POSTERN_BINARY_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}/bench/postfix
sink=$dest/usr/sbin/smtp-sink

fetch() {
  [[ -x $sink ]] && return 0
  local work rc=0
  work=$(mktemp -d)
  if ! (cd "$work" && apt-get download -qq postfix >/dev/null 2>&1); then
    echo "smtp_sink.sh: apt-get download postfix failed (is Debian's package index there? apt-get update)" >&2
    rc=1
  elif ! mkdir -p "$dest" || ! dpkg -x "$work"/postfix_*.deb "$dest" || [[ ! -x $sink ]]; then
    echo "smtp_sink.sh: no smtp-sink unpacked from the postfix package" >&2
    rc=1
  fi
  rm -rf "$work"
  ((rc == 0)) || return "$rc"
  # The package's own libraries are beside it; the system's must be installed
  # (scripts/install-deps.sh lists them)
  local missing
  missing=$(LD_LIBRARY_PATH=$dest/usr/lib/postfix ldd "$sink" "$dest"/usr/lib/postfix/*.so | { grep 'not found' || true; } | sort -u)
  if [[ -n $missing ]]; then
    echo "smtp_sink.sh: smtp-sink lacks libraries: $missing" >&2
    rm -rf "$dest"
    return 1
  fi
}

run() {
  local port=$1 dir=$2
  [[ $port =~ ^[0-9]+$ ]] || { echo "smtp_sink.sh: bad port $port" >&2; exit 2; }
  # the dump template goes through strftime
  [[ $dir != *%* ]] || { echo "smtp_sink.sh: the folder's name may not hold %" >&2; exit 2; }
  fetch
  mkdir -p "$dir"
  # smtp-sink will not run as root: it drops to nobody once it listens. nobody
  # may not pass through the folders above DIR (the e2e work folder is private),
  # so as root it first changes its root to DIR and writes the dumps there
  local as=() template=$dir/%Y%m%d%H%M%S.
  if (($(id -u) == 0)); then
    id nobody >/dev/null 2>&1 || { echo "smtp_sink.sh: as root it needs the user nobody" >&2; exit 1; }
    chown nobody "$dir"
    as=(-R "$dir" -u nobody)
    template=/%Y%m%d%H%M%S.
  fi
  # -m: up to 256 sessions at once; the last 256 is the listen backlog
  LD_LIBRARY_PATH=$dest/usr/lib/postfix exec "$sink" "${as[@]}" -m 256 \
    -d "$template" "127.0.0.1:$port" 256
}

case ${1:-} in
  fetch) fetch ;;
  run) shift; (($# == 2)) || { echo "usage: smtp_sink.sh run PORT DIR" >&2; exit 2; }; run "$@" ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
