# tools/cluster.sh — sourced by test/run and tools/demo: a throwaway
# PostgreSQL 15 cluster owned by the postgres OS user (initdb refuses root),
# listening on a unix socket only, removed on exit.
PGBIN=${PG_PREFIX:-/usr}/lib/postgresql/15/bin
export PATH=$PGBIN:$PATH

as_postgres() { runuser -u postgres -- env PATH="$PATH" "$@"; }

# cluster_start DIR PORT [postgres -c options...]
cluster_start() {
    local dir=$1 port=$2; shift 2
    mkdir -p "$dir" && chown postgres: "$dir"
    as_postgres initdb -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log"
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = $port"
        echo "max_worker_processes = 32"
        echo "fsync = off"
        for opt in "$@"; do echo "$opt"; done
    } >>"$dir/data/postgresql.conf"
    as_postgres pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
    export PGHOST=$dir PGPORT=$port PGUSER=postgres
}

cluster_stop() {
    local dir=$1
    [ -d "$dir/data" ] && as_postgres pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
}
