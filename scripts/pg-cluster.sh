# Sourced by scripts/test (and usable by hand): a throwaway PostgreSQL cluster in a temp dir on
# a free loopback port, for the PostgreSQL pass of the tests.
#
#   start_pg_cluster   exports WORKFLOW_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres
#                      and PG_CLUSTER_DIR; the cluster trusts local connections (tests only)
#   stop_pg_cluster    stops it and removes the directory (safe to call twice)
#
# PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user
# that Debian's package creates.

PG_PACKAGES=(postgresql)

pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ]; then
        echo "error: PostgreSQL is not installed (apt-get install postgresql)" >&2
        return 1
    fi
    printf '%s\n' "$bin"
}

pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg_cluster() {
    local bin port
    bin=$(pg_bin) || return 1
    PG_CLUSTER_DIR=$(mktemp -d /tmp/workflow-pg.XXXXXX)
    export PG_CLUSTER_DIR
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_CLUSTER_DIR"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    pg_as_owner "$bin/initdb" -D "$PG_CLUSTER_DIR/data" -A trust -U postgres >"$PG_CLUSTER_DIR/initdb.log" 2>&1 ||
        { cat "$PG_CLUSTER_DIR/initdb.log" >&2; return 1; }
    # Tests open a database each: room for many short-lived connections.
    pg_as_owner "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/server.log" -w \
        -o "-p $port -k $PG_CLUSTER_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off" start >/dev/null ||
        { cat "$PG_CLUSTER_DIR/server.log" >&2; return 1; }
    export PG_CLUSTER_PORT="$port"
    export WORKFLOW_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
    echo "==> PostgreSQL $("$bin/postgres" --version | awk '{print $3}') test cluster on 127.0.0.1:$port"
}

stop_pg_cluster() {
    [ -n "${PG_CLUSTER_DIR:-}" ] && [ -d "$PG_CLUSTER_DIR" ] || return 0
    local bin
    bin=$(pg_bin) || return 0
    pg_as_owner "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_CLUSTER_DIR"
    PG_CLUSTER_DIR=
}

# Restarts the cluster of $PG_CLUSTER_DIR (fast: connections are cut), waiting until it
# accepts connections again. The failure tests use it to check that servers and workers
# reconnect.
restart_pg_cluster() {
    if [ -z "${PG_CLUSTER_DIR:-}" ] || [ ! -d "$PG_CLUSTER_DIR/data" ]; then
        echo "error: PG_CLUSTER_DIR names no test cluster (start_pg_cluster sets it)" >&2
        return 1
    fi
    local bin
    bin=$(pg_bin) || return 1
    pg_as_owner "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/server.log" -w -m fast restart >/dev/null
}

# Run, not sourced: `scripts/pg-cluster.sh restart`.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        restart) restart_pg_cluster ;;
        *) echo "usage: $0 restart   (sourced: start_pg_cluster, stop_pg_cluster, restart_pg_cluster)" >&2; exit 2 ;;
    esac
fi
