#!/usr/bin/env bash
#  A throw-away PostgreSQL cluster for the tests: its own folder under /tmp,
#  listening only on a Unix socket in that folder (no port, so clusters of
#  two checkouts never meet), trust for the local socket alone.
#
#    pg-cluster.sh start FILE   starts one and writes its socket folder to FILE
#    pg-cluster.sh stop FILE    stops the one(s) FILE names and deletes the folder
#
#  A primary with a synchronous streaming standby (a commit returns once the
#  standby has it too), for the failover tests; FILE gets the primary's socket
#  folder on its first line and the standby's on its second:
#    pg-cluster.sh start-pair FILE
#    pg-cluster.sh kill-primary FILE     the primary stops at once (-m immediate)
#    pg-cluster.sh promote FILE          the standby becomes the primary
#
#  And for any cluster FILE names (its first line):
#    pg-cluster.sh restart FILE [S]      stopped at once (-m immediate, as a
#                                        crash) and started again S seconds later
#
#  PostgreSQL refuses to run as root: as root, the cluster runs as nobody.
set -euo pipefail

command="${1:-}"
state="${2:-}"
[[ -n "$command" && -n "$state" ]] || { echo "usage: $0 start|stop FILE" >&2; exit 2; }

bindir="${POSTERN_PG_BINDIR:-}"
if [[ -z "$bindir" ]]; then
    for candidate in /usr/lib/postgresql/*/bin; do
        [[ -x "$candidate/initdb" ]] && bindir="$candidate"
    done
fi
[[ -x "$bindir/initdb" ]] || { echo "pg-cluster: initdb not found (install postgresql)" >&2; exit 1; }

as_owner () {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

# init_and_start DIR [server options]: a cluster in DIR/data, started
init_and_start() {
    local dir=$1; shift
    as_owner "$bindir/initdb" -D "$dir/data" -U postern -A trust -E UTF8 --no-locale \
        --no-sync > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    start_server "$dir" "$@"
}

start_server() {
    local dir=$1; shift
    #  Enough connections for parallel tests with several instances each; fsync
    #  kept on, so what the tests see of durability is the real thing
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=300 $*" \
        start > /dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

new_dir() {
    local dir
    dir="$(mktemp -d /tmp/postern-pg.XXXXXX)"
    chmod 0755 "$dir"
    [[ "$(id -u)" == 0 ]] && chown nobody "$dir"
    echo "$dir"
}

case "$command" in
start-pair)
    if [[ -s "$state" ]]; then "$0" stop "$state"; fi
    primary="$(new_dir)"
    standby="$(new_dir)"
    init_and_start "$primary" "-c synchronous_standby_names=standby1"
    as_owner "$bindir/pg_basebackup" -h "$primary" -U postern -D "$standby/data" -R -X stream \
        > "$standby/basebackup.log" 2>&1 || { cat "$standby/basebackup.log" >&2; exit 1; }
    #  The standby names itself as the primary's synchronous standby
    echo "primary_conninfo = 'host=$primary user=postern application_name=standby1'" \
        | as_owner tee -a "$standby/data/postgresql.auto.conf" > /dev/null
    start_server "$standby"
    printf '%s\n%s\n' "$primary" "$standby" > "$state"
    #  Wait until the standby streams synchronously: before, commits would wait
    for _ in $(seq 1 100); do
        sync_state=$(psql -qAtX -h "$primary" -U postern -d postgres \
            -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")
        [[ "$sync_state" == sync ]] && break
        sleep 0.1
    done
    [[ "$sync_state" == sync ]] || { echo "pg-cluster: the standby is not synchronous" >&2; exit 1; }
    echo "pg-cluster: primary in $primary, synchronous standby in $standby"
    ;;
kill-primary)
    primary="$(sed -n 1p "$state")"
    as_owner "$bindir/pg_ctl" -D "$primary/data" -m immediate -w stop > /dev/null
    ;;
restart)
    dir="$(sed -n 1p "$state")"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null
    sleep "${3:-0}"
    start_server "$dir"
    ;;
promote)
    standby="$(sed -n 2p "$state")"
    as_owner "$bindir/pg_ctl" -D "$standby/data" -w promote > /dev/null
    ;;
start)
    if [[ -s "$state" ]]; then "$0" stop "$state"; fi
    dir="$(new_dir)"
    init_and_start "$dir"
    echo "$dir" > "$state"
    echo "pg-cluster: started in $dir"
    ;;
stop)
    [[ -s "$state" ]] || exit 0
    while read -r dir; do
        if [[ -d "$dir/data" ]]; then
            as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true
        fi
        case "$dir" in /tmp/postern-pg.*) rm -rf "$dir" ;; esac
    done < "$state"
    rm -f "$state"
    ;;
*)
    echo "usage: $0 start|stop FILE" >&2; exit 2 ;;
esac
