#!/bin/bash
# postern-postgres ROLE: runs the PostgreSQL server of compose.ha.yaml.
#
#   primary   made on first start (initdb): roles `postern` (owner of the database
#             `postern`) and `replicator` (streaming replication), a physical
#             replication slot for the standby, password (SCRAM) logins from
#             127.0.0.1 only; then serves on PGPORT
#   standby   made on first start from a base backup of the primary
#             (POSTERN_PG_PRIMARY_PORT), streaming through the slot; serves
#             read-only on PGPORT until promoted
#             (`pg_ctl promote`, deploy/README.md "Failover")
#
# Secrets come from files mounted read-only at /etc/postern/postgres (made by
# deploy/compose-ha-secrets.sh), never from the environment: postern.password,
# replicator.password, and pgpass (the standby's copy of the replicator's).
# Local administration: `docker exec -it <container> psql -h /tmp` (peer login;
# PGPORT in the environment makes every client tool use the right port).
set -euo pipefail

role=${1:-}
port=${PGPORT:?PGPORT (the port to serve on) is required}
secrets=/etc/postern/postgres
slot=standby1

log() { printf '{"service":"postgres","event":"%s","role":"%s"}\n' "$1" "$role"; }

password() {
    local file=$secrets/$1.password
    [[ -r $file ]] || { echo "postern-postgres: $file missing (deploy/compose-ha-secrets.sh)" >&2; exit 1; }
    # read without the trailing newline; the value never reaches a command line
    local value
    IFS= read -r value < "$file" || true
    [[ -n $value ]] || { echo "postern-postgres: $file is empty" >&2; exit 1; }
    printf '%s' "$value"
}

make_primary() {
    local pwfile
    initdb -D "$PGDATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    # synchronous by default: a commit returns once the standby holds it, so a
    # promotion loses nothing acknowledged (deploy/README.md, "Failover")
    local synchronous=$slot
    [[ ${POSTERN_PG_SYNCHRONOUS:-on} == off ]] && synchronous=
    cat >> "$PGDATA/postgresql.conf" <<CONF
# compose.ha.yaml
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
password_encryption = 'scram-sha-256'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
synchronous_standby_names = '$synchronous'
CONF
    cat > "$PGDATA/pg_hba.conf" <<HBA
local   all          postgres                  peer
host    postern      postern     127.0.0.1/32  scram-sha-256
host    replication  replicator  127.0.0.1/32  scram-sha-256
HBA
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c synchronous_standby_names=''" \
        start >/dev/null
    POSTERN_PW=$(password postern) REPLICATOR_PW=$(password replicator) \
    psql -h /tmp -U postgres -d postgres -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
\getenv postern_pw POSTERN_PW
\getenv replicator_pw REPLICATOR_PW
CREATE ROLE postern LOGIN PASSWORD :'postern_pw';
CREATE ROLE replicator REPLICATION LOGIN PASSWORD :'replicator_pw';
CREATE DATABASE postern OWNER postern;
SELECT pg_create_physical_replication_slot ('$slot');
SQL
    pg_ctl -D "$PGDATA" -w stop >/dev/null
    log "primary_created"
}

make_standby() {
    local primary_port=${POSTERN_PG_PRIMARY_PORT:?POSTERN_PG_PRIMARY_PORT is required}
    export PGPASSFILE=$secrets/pgpass
    until pg_isready -q -h 127.0.0.1 -p "$primary_port" -U postern -d postern; do sleep 1; done
    # into a fresh folder, moved in place only when complete: a backup cut short
    # is started again, never served
    rm -rf "$PGDATA.partial"
    pg_basebackup -D "$PGDATA.partial" -h 127.0.0.1 -p "$primary_port" -U replicator \
        -X stream -S "$slot" --checkpoint=fast
    cat >> "$PGDATA.partial/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=127.0.0.1 port=$primary_port user=replicator passfile=$PGPASSFILE application_name=$slot'
primary_slot_name = '$slot'
CONF
    touch "$PGDATA.partial/standby.signal"
    rm -rf "$PGDATA"
    mv "$PGDATA.partial" "$PGDATA"
    log "standby_created"
}

case $role in
primary)
    [[ -s $PGDATA/PG_VERSION ]] || make_primary
    exec postgres -D "$PGDATA" -c port="$port"
    ;;
standby)
    [[ -s $PGDATA/PG_VERSION ]] || make_standby
    # never waits for a standby of its own: once promoted it has none, and a
    # synchronous_standby_names copied from the primary would stop every commit
    exec postgres -D "$PGDATA" -c port="$port" -c synchronous_standby_names=''
    ;;
*)
    echo "usage: postern-postgres primary|standby" >&2
    exit 2
    ;;
esac
