#!/usr/bin/env bash
#  A throw-away PostgreSQL cluster for the tests: its own folder under /tmp,
#  listening only on a Unix socket in that folder (no port, so clusters of
#  two checkouts never meet), trust for the local socket alone.
#
#    pg-cluster.sh start FILE   starts one and writes its socket folder to FILE
#    pg-cluster.sh stop FILE    stops the one FILE names and deletes its folder
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

case "$command" in
start)
    if [[ -s "$state" ]] && [[ -d "$(cat "$state")" ]]; then
        "$0" stop "$state"
    fi
    dir="$(mktemp -d /tmp/postern-pg.XXXXXX)"
    chmod 0755 "$dir"
    [[ "$(id -u)" == 0 ]] && chown nobody "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U postern -A trust -E UTF8 --no-locale \
        --no-sync > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    #  Enough connections for parallel tests with several instances each; fsync
    #  kept on, so what the tests see of durability is the real thing
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=300" \
        start > /dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "$dir" > "$state"
    echo "pg-cluster: started in $dir"
    ;;
stop)
    [[ -s "$state" ]] || exit 0
    dir="$(cat "$state")"
    if [[ -d "$dir/data" ]]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true
    fi
    case "$dir" in /tmp/postern-pg.*) rm -rf "$dir" ;; esac
    rm -f "$state"
    ;;
*)
    echo "usage: $0 start|stop FILE" >&2; exit 2 ;;
esac
