#!/usr/bin/env bash
# bench/remote_onboard.sh — what tenancy.onboard(..., cluster => ...) costs
# on a target cluster over the same DDL sent there by psql, in the same run.
#
# A control cluster (library preloaded, extension created) and a target
# cluster (plain PostgreSQL 15 from the same installation, nothing of the
# extension, TCP on 127.0.0.1 with SCRAM passwords, no TLS, and a
# non-superuser admin tenancy_admin LOGIN CREATEROLE CREATEDB, a member of
# pg_signal_backend as on Aurora, which offboard() needs).  Each round
# onboards N tenants with 2 databases each there:
#   extension: tenancy.onboard(t, ARRAY['db1', 'db2'], iam_auth => false,
#              cluster => 'tgt') per tenant, from one psql session on the
#              control cluster;
#   baseline:  the statements the extension sends (role with a precomputed
#              SCRAM verifier and a comment, CREATE DATABASE under a
#              temporary name, then rename, comment, allow connections,
#              REVOKE/GRANT on the database, REVOKE/GRANT on its schema
#              public, in the extension's transactions), sent by psql from
#              the control host to the target as
#              tenancy_admin over TCP: one session to postgres for the
#              cluster-wide statements, then a connection (\c) to each new
#              database for the schema statements;
# alternating which goes first, then drops everything (offboard() through
# the extension; DROP DATABASE/ROLE as the admin for the baseline).
# Prints each round's seconds, the medians and their ratio
# (extension / baseline).
# Usage (root): bench/remote_onboard.sh [N=10] [ROUNDS=5]
# Set PG_PREFIX=/opt/x to use (and install into) a private copy of
# PostgreSQL (see tools/setup).
# PROFILE=1 also logs every statement with its duration and every
# connection on the target (kept as /tmp/remote_onboard.target.log) and
# prints, per side and round: the target's connections and the time spent
# authenticating them, its statements and the time it was busy running
# them, the WAL flushes on each cluster, and the audit rows written.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
rounds=${2:-5}
control_port=${CONTROL_PORT:-54360}
target_port=${TARGET_PORT:-54361}
. bench/common.sh
bench_server "$control_port" "fsync = on" "shared_preload_libraries = 'aurora_tenancy'" \
    "password_encryption = 'scram-sha-256'" "track_wal_io_timing = $([ "${PROFILE:-0}" = 1 ] && echo on || echo off)"

# --- the target: initdb'd like the control cluster, then reached over TCP only
target_dir=$bench_dir/target
trap 'cluster_stop "$target_dir"; cluster_stop "$bench_dir"
      [ "${PROFILE:-0}" = 1 ] && cp "$target_dir/server.log" /tmp/remote_onboard.target.log
      rm -rf "$bench_dir"' EXIT
mkdir -p "$target_dir" && chown postgres: "$target_dir"
as_postgres initdb -D "$target_dir/data" -A trust -U postgres --no-sync >"$target_dir/initdb.log"
{
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$target_dir'"
    echo "port = $target_port"
    echo "fsync = on"
    echo "ssl = off"
    echo "password_encryption = 'scram-sha-256'"
    if [ "${PROFILE:-0}" = 1 ]; then
        echo "log_min_duration_statement = 0"
        echo "log_connections = on"
        echo "log_disconnections = on"
        echo "log_line_prefix = '%m [%p] %u@%d '"
        echo "track_wal_io_timing = on"
    fi
} >>"$target_dir/data/postgresql.conf"
# the bootstrap superuser over the unix socket only; everyone else SCRAM over TCP
{
    echo "local all postgres trust"
    echo "host all all 127.0.0.1/32 scram-sha-256"
} >"$target_dir/data/pg_hba.conf"
as_postgres pg_ctl -D "$target_dir/data" -l "$target_dir/server.log" -w start >/dev/null
target_su() { psql -h "$target_dir" -p "$target_port" -U postgres "$@"; }

admin_password=admin-$(head -c 30 /dev/urandom | base64 | tr -dc a-z0-9 | head -c 24)
target_su -d postgres <<EOF
SET log_statement = 'none';
CREATE ROLE rds_iam NOLOGIN;
CREATE ROLE tenancy_admin LOGIN CREATEROLE CREATEDB PASSWORD '$admin_password' IN ROLE pg_signal_backend;
EOF
# a SCRAM verifier of the right shape for the baseline, made on a scratch role
verifier=$(target_su -d postgres -At <<EOF
SET log_statement = 'none';
CREATE ROLE bench_scratch;
ALTER ROLE bench_scratch PASSWORD '$(head -c 30 /dev/urandom | base64 | tr -dc A-Za-z0-9)';
SELECT rolpassword FROM pg_authid WHERE rolname = 'bench_scratch';
DROP ROLE bench_scratch;
EOF
)
case $verifier in SCRAM-SHA-256\$*) ;; *) echo "no SCRAM verifier: $verifier" >&2; exit 1;; esac

# --- the control cluster knows the target as server tgt
psql -d postgres <<EOF
SET log_statement = 'none';
CREATE SERVER tgt FOREIGN DATA WRAPPER aurora_tenancy
    OPTIONS (host '127.0.0.1', port '$target_port', dbname 'postgres', sslmode 'disable');
CREATE USER MAPPING FOR CURRENT_USER SERVER tgt
    OPTIONS (user 'tenancy_admin', password '$admin_password');
EOF

# the admin's psql to the target over TCP, SCRAM, no TLS, nothing from PG* but the password
admin_psql() {
    PGPASSWORD=$admin_password psql \
        "host=127.0.0.1 port=$target_port user=tenancy_admin sslmode=disable dbname=postgres" "$@"
}

extension_script() {   # $1 = prefix of the tenants' names
    for i in $(seq 1 "$n"); do
        echo "SELECT changes FROM tenancy.onboard('$1_t$i', ARRAY['db1', 'db2'], iam_auth => false, cluster => 'tgt');"
    done
}
baseline_script() {   # $1 = prefix of the tenants' names
    local t d tmp hmac
    for i in $(seq 1 "$n"); do
        t="$1_t$i"
        hmac=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
        echo "BEGIN;"
        echo "CREATE ROLE $t LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$verifier';"
        echo "COMMENT ON ROLE $t IS 'aurora_tenancy tenant=$t hmac=$hmac';"
        echo "COMMIT;"
        for d in db1 db2; do
            tmp=tenancy_new_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
            hmac=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
            echo "CREATE DATABASE $tmp TEMPLATE template0 ALLOW_CONNECTIONS false;"
            echo "BEGIN;"
            echo "REVOKE ALL ON DATABASE $tmp FROM PUBLIC;"
            echo "ALTER DATABASE $tmp RENAME TO ${t}_$d;"
            echo "COMMENT ON DATABASE ${t}_$d IS 'aurora_tenancy tenant=$t hmac=$hmac';"
            echo "ALTER DATABASE ${t}_$d ALLOW_CONNECTIONS true;"
            echo "COMMIT;"
            echo "BEGIN;"
            echo "REVOKE ALL ON DATABASE ${t}_$d FROM PUBLIC;"
            echo "GRANT CONNECT, TEMPORARY, CREATE ON DATABASE ${t}_$d TO $t;"
            echo "COMMIT;"
        done
    done
    # then a connection to each new database for its schema public
    for i in $(seq 1 "$n"); do
        t="$1_t$i"
        for d in db1 db2; do
            echo "\\c ${t}_$d"
            echo "BEGIN;"
            echo "REVOKE ALL ON SCHEMA public FROM PUBLIC;"
            echo "GRANT USAGE, CREATE ON SCHEMA public TO $t;"
            echo "COMMIT;"
        done
    done
}
extension_drop() {
    for i in $(seq 1 "$n"); do
        echo "SELECT tenancy.set_deletion_protection('$1_t$i', false);"
        echo "SELECT count(*) FROM tenancy.offboard('$1_t$i');"
    done | psql -d postgres >/dev/null
}
baseline_drop() {
    for i in $(seq 1 "$n"); do
        echo "DROP DATABASE $1_t${i}_db1;"
        echo "DROP DATABASE $1_t${i}_db2;"
        echo "DROP ROLE $1_t$i;"
    done | admin_psql >/dev/null
}
timed() {   # timed CMD...: runs CMD with stdin, prints its wall time in seconds
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
control_psql() { psql -d postgres "$@"; }
# PROFILE=1: what the target's log and both clusters' WAL statistics say
wal_syncs() {   # $1 = psql function: "syncs ms" of WAL flushes so far
    sleep 1.2   # backends report their statistics at most once a second
    echo "SELECT pg_stat_clear_snapshot(); SELECT wal_sync || ' ' || round(wal_sync_time::numeric, 1) FROM pg_stat_wal;" |
        "$1" -At | tail -1
}
audit_rows() { psql -d postgres -At -c "SELECT count(*) FROM tenancy.audit_log"; }
log_mark() {
    [ "${PROFILE:-0}" = 1 ] || { echo 0; return; }
    echo "$(wc -l <"$target_dir/server.log") $(wal_syncs control_psql) $(wal_syncs target_psql) $(audit_rows)"
}
profile() {   # $1 = side, $2 = what log_mark said where it started
    [ "${PROFILE:-0}" = 1 ] || return 0
    local line c_syncs c_ms t_syncs t_ms rows
    read -r line c_syncs c_ms t_syncs t_ms rows <<<"$2"
    sleep 0.2   # disconnections are logged after the client has gone
    tail -n +"$((line + 1))" "$target_dir/server.log" | awk -v side="$1" '
        function ms(ts) { split(ts, a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
        / connection received: host=127/ { recv[$3] = ms($2); next }
        / tenancy_admin@.* connection authorized: / { conns++; auth += ms($2) - recv[$3]; next }
        / tenancy_admin@.* LOG:  duration: / { split($0, d, "duration: "); split(d[2], e, " "); busy += e[1];
            if ($0 ~ / (statement|execute [^:]*): /) stmts++; next }
        / tenancy_admin@.* disconnection: / { split($0, d, "session time: "); split(d[2], e, " "); open += ms(e[1]) }
        END { printf "  %-9s target: %d connections (%.0f ms from accept to authorized), %d statements, busy %.0f ms of %.0f ms sessions open\n",
                side, conns, auth, stmts, busy, open }'
    read -r c_syncs2 c_ms2 <<<"$(wal_syncs control_psql)"
    read -r t_syncs2 t_ms2 <<<"$(wal_syncs target_psql)"
    printf '  %-9s WAL flushes: control %d (%.0f ms), target %d (%.0f ms); audit rows written %d\n' "$1" \
        $((c_syncs2 - c_syncs)) "$(echo "$c_ms2 - $c_ms" | bc -l)" $((t_syncs2 - t_syncs)) \
        "$(echo "$t_ms2 - $t_ms" | bc -l)" $(($(audit_rows) - rows))
}
target_psql() { target_su -d postgres "$@"; }
check_target() {   # $1 = prefix: what is on the target now
    target_su -d postgres -At -c "SELECT (SELECT count(*) FROM pg_roles WHERE rolname LIKE '$1\\_t%') || ' roles, ' || (SELECT count(*) FROM pg_database WHERE datname LIKE '$1\\_t%') || ' databases'"
}

# warm-up, not measured: the first calls load the library and fill caches
n_measured=$n; n=1
extension_script w0e | timed control_psql >/dev/null
baseline_script w0b | timed admin_psql >/dev/null
extension_drop w0e; baseline_drop w0b
n=$n_measured

ext_s=(); base_s=()
for r in $(seq 1 "$rounds"); do
    for side in $([ $((r % 2)) = 1 ] && echo "extension baseline" || echo "baseline extension"); do
        mark=$(log_mark)
        if [ "$side" = extension ]; then
            e=$(extension_script "r${r}e" | timed control_psql)
            [ "$(check_target "r${r}e")" = "$n roles, $((2 * n)) databases" ] ||
                { echo "extension: $(check_target "r${r}e") on the target" >&2; exit 1; }
        else
            b=$(baseline_script "r${r}b" | timed admin_psql)
            [ "$(check_target "r${r}b")" = "$n roles, $((2 * n)) databases" ] ||
                { echo "baseline: $(check_target "r${r}b") on the target" >&2; exit 1; }
        fi
        profile "$side" "$mark"
    done
    extension_drop "r${r}e"; baseline_drop "r${r}b"
    ext_s+=("$e"); base_s+=("$b")
    printf 'round %d (%s first): %d tenants x 2 databases on the target: onboard() %.3fs, psql baseline %.3fs, ratio %.3f\n' \
        "$r" "$([ $((r % 2)) = 1 ] && echo extension || echo baseline)" "$n" "$e" "$b" "$(echo "$e / $b" | bc -l)"
done
em=$(printf '%s\n' "${ext_s[@]}" | median)
bm=$(printf '%s\n' "${base_s[@]}" | median)
printf 'medians over %d rounds: onboard(cluster => tgt) %.3fs, psql baseline %.3fs, ratio %.3f (extension / baseline)\n' \
    "$rounds" "$em" "$bm" "$(echo "$em / $bm" | bc -l)"
