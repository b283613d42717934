#!/usr/bin/env bash
# A throwaway PostgreSQL server for the monitor's storage tests, on loopback only.
#
#   scripts/postgres.sh install            install Debian's postgresql package if missing
#   scripts/postgres.sh start DIR PORT     initdb a new cluster in DIR and start it on
#                                          127.0.0.1:PORT (user postgres, trust auth, socket
#                                          in DIR); prints the URL
#   scripts/postgres.sh stop DIR           stop the server started in DIR
#
# Run as root, the server runs as the system user `postgres` (initdb refuses root).
set -euo pipefail

pg_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
    return 1
}

as_server_user() {
    if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
install)
    if pg_bin >/dev/null; then echo "postgres: found $(pg_bin)"; exit 0; fi
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "postgres: installing Debian's postgresql package"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends postgresql
        # the package starts a cluster of its own on port 5432; the tests use their own
        (command -v service >/dev/null 2>&1 && service postgresql stop) >/dev/null 2>&1 || true
        pg_bin >/dev/null || { echo "postgres: initdb not found after install" >&2; exit 1; }
        exit 0
    fi
    echo "postgres: PostgreSQL is not installed; install it (Debian: apt-get install postgresql)" >&2
    exit 1 ;;
start)
    dir=${2:?usage: postgres.sh start DIR PORT}; port=${3:?usage: postgres.sh start DIR PORT}
    bin=$(pg_bin) || { echo "postgres: PostgreSQL is not installed (scripts/postgres.sh install)" >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" = "0" ] && chown postgres: "$dir"
    as_server_user "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$port/postgres" ;;
stop)
    dir=${2:?usage: postgres.sh stop DIR}
    bin=$(pg_bin) || exit 0
    [ -d "$dir/data" ] && as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true ;;
*)
    echo "usage: postgres.sh install | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
