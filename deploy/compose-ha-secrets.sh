#!/usr/bin/env bash
# Makes the database passwords of compose.ha.yaml, as files (never in the image,
# the environment or a command line):
#   DIR/postgres/   for the PostgreSQL containers (uid 10002, 0700): postern.password,
#                   replicator.password, pgpass (the standby's login to the primary)
#   DIR/postern/    for authn and mfa (uid 10001, 0700): pgpass, libpq's password
#                   file for the role `postern` (PGPASSFILE)
# Every file 0600. Existing passwords are kept, so running it again changes
# nothing. To change one: ALTER ROLE on the primary first, then edit the files
# and recreate the containers.
#
#   deploy/compose-ha-secrets.sh [DIR]      (default: ./secrets-compose beside compose.ha.yaml)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$root/secrets-compose}
postern_uid=10001
postgres_uid=10002

install -d -m 0700 "$dir" "$dir/postgres" "$dir/postern"
umask 077
for name in postern replicator; do
  file=$dir/postgres/$name.password
  [[ -s $file ]] || openssl rand -hex 32 > "$file"
done
postern_password=$(cat "$dir/postgres/postern.password")
replicator_password=$(cat "$dir/postgres/replicator.password")
# hostname:port:database:user:password; hex passwords need no escaping
printf '127.0.0.1:*:replication:replicator:%s\n' "$replicator_password" > "$dir/postgres/pgpass"
printf '127.0.0.1:*:postern:postern:%s\n' "$postern_password" > "$dir/postern/pgpass"
chmod 0600 "$dir"/postgres/* "$dir"/postern/*
chown -R "$postgres_uid:$postgres_uid" "$dir/postgres"
chown -R "$postern_uid:$postern_uid" "$dir/postern"
printf '*\n' > "$dir/.gitignore"
echo "compose-ha-secrets: passwords in $dir (postgres/ for uid $postgres_uid, postern/ for uid $postern_uid)"
