#!/usr/bin/env bash
# Online backup and restore of a Postern deployment that keeps its data in
# SQLite (the embedded default). The services may keep running during a
# backup: each database is copied with SQLite's online backup API (the sqlite3
# shell's .backup), which gives a consistent snapshot, then checked with
# PRAGMA integrity_check. The secrets that the data is useless without are
# copied beside it: the bus keys, mfa's code key, the TLS material and the
# bootstrap credentials. Everything is written readable by the owner only.
#
#   scripts/backup.sh backup DEST     DEST must not exist or be empty
#   scripts/backup.sh restore SRC     the services must be stopped; the data
#                                     directory's current files are moved aside
#
# Paths follow the services' own settings: POSTERN_DATA_DIR (./data),
# POSTERN_AUTHN_DB, POSTERN_MFA_DB, POSTERN_MAILER_OUTBOX, POSTERN_KEYS_DIR,
# POSTERN_MFA_CODE_KEY_FILE. A database on PostgreSQL is not copied here: back
# it up with pg_dump or base backups (deploy/README.md).
set -euo pipefail

command=${1:-}
target=${2:-}
[[ -n $command && -n $target ]] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

data=${POSTERN_DATA_DIR:-./data}
authn_db=${POSTERN_AUTHN_DB:-$data/authn.db}
mfa_db=${POSTERN_MFA_DB:-$data/mfa.db}
keys_dir=${POSTERN_KEYS_DIR:-$data/keys}
code_key=${POSTERN_MFA_CODE_KEY_FILE:-$data/mfa-code.key}
umask 077

die() { echo "backup: $*" >&2; exit 1; }
is_postgres() { [[ $1 == postgres://* || $1 == postgresql://* ]]; }

# The mailers' outboxes: the configured one, and every mailer-outbox*.db of
# the data directory (one per mailer replica on this host)
outboxes() {
  { [[ -n ${POSTERN_MAILER_OUTBOX:-} ]] && echo "$POSTERN_MAILER_OUTBOX"
    compgen -G "$data/mailer-outbox*.db" || true; } | sort -u
}

backup_db() {
  local source=$1 name=$2
  if is_postgres "$source"; then
    echo "backup: $name is on PostgreSQL: use pg_dump or a base backup (deploy/README.md)" >&2
    return 0
  fi
  [[ -f $source ]] || { echo "backup: $name: no $source, skipped" >&2; return 0; }
  sqlite3 -cmd '.timeout 10000' "$source" ".backup '$target/$name'" \
    || die "$name: the online backup failed"
  [[ $(sqlite3 "$target/$name" 'PRAGMA integrity_check') == ok ]] \
    || die "$name: the copy fails its integrity check"
  echo "$name"
}

do_backup() {
  if [[ -e $target ]] && [[ -n $(ls -A "$target") ]]; then
    die "$target is not empty"
  fi
  mkdir -p "$target"
  chmod 0700 "$target"
  local copied=()
  copied+=("$(backup_db "$authn_db" authn.db)")
  copied+=("$(backup_db "$mfa_db" mfa.db)")
  local outbox
  while read -r outbox; do
    [[ -n $outbox ]] && copied+=("$(backup_db "$outbox" "$(basename "$outbox")")")
  done < <(outboxes)
  # The secrets: without the code key no stored code can be checked, without
  # the bus keys no service admits another
  [[ -d $keys_dir ]] && cp -a "$keys_dir" "$target/keys" && copied+=(keys)
  [[ -f $code_key ]] && cp -a "$code_key" "$target/mfa-code.key" && copied+=(mfa-code.key)
  [[ -d $data/tls ]] && cp -a "$data/tls" "$target/tls" && copied+=(tls)
  [[ -f $data/bootstrap.json ]] && cp -a "$data/bootstrap.json" "$target/" && copied+=(bootstrap.json)
  {
    echo "postern backup $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    (cd "$target" && find . -type f ! -name MANIFEST -print0 | sort -z | xargs -0 sha256sum)
  } >"$target/MANIFEST"
  echo "backup: ${copied[*]} -> $target"
}

# Refuses while a service still has a database open: restoring under a running
# service would mix two states
services_stopped() {
  local file
  for file in "$authn_db" "$mfa_db"; do
    is_postgres "$file" && continue
    [[ -f $file ]] || continue
    # an open descriptor on it, in any process we can see
    if [[ -n $(find /proc/[0-9]*/fd -lname "$(realpath "$file")" -print -quit 2>/dev/null) ]]; then
      return 1
    fi
  done
  return 0
}

restore_file() {
  local name=$1 destination=$2
  [[ -e $target/$name ]] || return 0
  if [[ -e $destination ]]; then
    mv "$destination" "$aside/"
  fi
  # a database's -wal and -shm belong to the state being replaced
  local extra
  for extra in "$destination-wal" "$destination-shm"; do
    [[ -e $extra ]] && mv "$extra" "$aside/"
  done
  cp -a "$target/$name" "$destination"
}

do_restore() {
  [[ -f $target/MANIFEST ]] || die "$target holds no backup (no MANIFEST)"
  (cd "$target" && tail -n +2 MANIFEST | sha256sum --quiet -c -) \
    || die "$target does not match its MANIFEST"
  services_stopped || die "a service still has its database open: stop it first (./postern down)"
  mkdir -p "$data"
  aside="$data/before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$aside"
  restore_file authn.db "$authn_db"
  restore_file mfa.db "$mfa_db"
  local outbox
  for outbox in "$target"/mailer-outbox*.db; do
    [[ -e $outbox ]] && restore_file "$(basename "$outbox")" "$data/$(basename "$outbox")"
  done
  restore_file keys "$keys_dir"
  restore_file mfa-code.key "$code_key"
  restore_file tls "$data/tls"
  restore_file bootstrap.json "$data/bootstrap.json"
  echo "backup: restored $target into $data (what was there is in $aside)"
}

case $command in
  backup) do_backup ;;
  restore) do_restore ;;
  *) die "unknown command $command (backup or restore)" ;;
esac
