#!/usr/bin/env bash
# bench/login_guard.sh — what the login guard costs a new connection: the
# connection rate of a server with shared_preload_libraries = 'aurora_tenancy'
# over the same server without it, in the same run, on the same machine.
#
# Two throwaway clusters of the same installation, side by side, with the
# same settings, listening on 127.0.0.1: "base" without the library,
# "preload" with it.  In each, the extension in the database postgres, a
# tenant onboarded (iam_auth => false, allowed_ips 127.0.0.0/8: a guard lets
# it in) and a plain login role owning a database of its own.  A run is
# `pgbench -C -n -T SECONDS` with one client, a new connection for every
# SELECT 1, as (a) the plain role into its database, (b) the tenant into
# bench_t_db1.  Each round runs both roles on both clusters; its ratio for a
# role is preload/base; the results are the medians over the rounds (target:
# connection rate ratio >= 0.98, at most 2% overhead).
#
# Noise: the machines are shared, and other work's load comes and goes
# within seconds: one run against each cluster in turn (SEQUENTIAL=1, twice
# as long, which goes first alternating) gave rounds from 0.68 to 1.21 on a
# busy 2-core machine.  By default the two clusters' runs of a round are
# concurrent instead, so that they share whatever else the machine does:
# rounds then mostly fall within ±5% (±10% under heavy load: medians off
# by several percent, read the CPU ratio then).  With two pgbench -C
# clients the CPUs are saturated (a login is all CPU), so the rates compare
# what a login costs the server: whatever the guard adds, CPU or waiting,
# shows in the ratio.  Also printed: the server's CPU a login
# (the postmaster's and its exited backends', from /proc; autovacuum off),
# steadier (rounds within ±2-5%), and its ratio base/preload.
#
# Logins are password logins over TCP (pg_hba: host all all 127.0.0.1/32
# scram-sha-256), the realistic case for tenants, and the path a guard in
# ClientAuthentication_hook is on.  SCRAM's PBKDF2 (4096 iterations each
# side) is the same on both clusters, and small next to starting and ending
# a backend (about 40 ms of server CPU a login on the 2-core VMs this was
# written on, trust or SCRAM alike): it does not drown the difference.
# AUTH=trust measures without it.
#
# PRELOAD=<libraries> preloads those instead (calibration: what preloading
# any library costs here, e.g. PRELOAD=auth_delay).
#
# Usage (root): bench/login_guard.sh [SECONDS=5] [ROUNDS=11]
# (about 2 x (SECONDS + 0.3) x ROUNDS + 20 s: 2.5 minutes by default).
# BENCH_PORT (default 54337) and BENCH_PORT+1 are the clusters' ports;
# PG_PREFIX picks the installation, as for tools/setup.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-11}
auth=${AUTH:-scram-sha-256}
[ "$auth" = scram ] && auth=scram-sha-256
port=${BENCH_PORT:-54337}
sequential=${SEQUENTIAL:-0}
preload=${PRELOAD:-aurora_tenancy}
. bench/common.sh
tools/setup
. tools/cluster.sh

bench_dir=$(mktemp -d /tmp/aurora_tenancy_bench.XXXXXX)
chmod 755 "$bench_dir"
trap 'cluster_stop "$bench_dir/base"; cluster_stop "$bench_dir/preload"; rm -rf "$bench_dir"' EXIT

echo 'SELECT 1;' >"$bench_dir/select1.sql"
declare -A cluster_port=([base]=$port [preload]=$((port + 1)))
declare -A password   # cluster.role -> password

# setup NAME [postgres options...]: start it, then roles, databases, tenant
setup() {
    local name=$1; shift
    local dir=$bench_dir/$name
    cluster_start "$dir" "${cluster_port[$name]}" "listen_addresses = '127.0.0.1'" \
        "password_encryption = 'scram-sha-256'" "autovacuum = off" "$@"
    password[$name.plain]=$(head -c 30 /dev/urandom | base64 | tr -dc A-Za-z0-9)
    psql -d postgres -c "CREATE ROLE rds_iam NOLOGIN" -c "CREATE EXTENSION aurora_tenancy" \
        -c "CREATE ROLE bench_plain LOGIN PASSWORD '${password[$name.plain]}'" \
        -c "CREATE DATABASE bench_plain_db OWNER bench_plain"
    password[$name.tenant]=$(psql -d postgres -At -c "SELECT password FROM tenancy.onboard('bench_t',
        ARRAY['db1'], iam_auth => false, allowed_ips => ARRAY['127.0.0.0/8']::cidr[])")
    # the superuser over the socket; everybody else with a password over TCP
    printf 'local all postgres trust\nhost all all 127.0.0.1/32 %s\n' "$auth" >"$dir/data/pg_hba.conf"
    psql -d postgres -At -c "SELECT pg_reload_conf()" >/dev/null
}
setup base
setup preload "shared_preload_libraries = '$preload'"
preloaded() { PGHOST=$bench_dir/$1 PGPORT=${cluster_port[$1]} psql -d postgres -At -c 'SHOW shared_preload_libraries'; }
[ "$(preloaded base)" = "" ] && [ "$(preloaded preload)" = "$preload" ]

# server CPU so far, in clock ticks: the postmaster's own and its reaped
# children's (every backend that has exited)
server_cpu() { awk '{print $14 + $15 + $16 + $17}' "/proc/$(head -1 "$bench_dir/$1/data/postmaster.pid")/stat"; }
tick_ms=$(echo "1000 / $(getconf CLK_TCK)" | bc -l)

# run NAME ROLE SECONDS: prints "conn/s logins server-CPU-ticks"
run() {
    local name=$1 role=$2 user db out cpu
    case $role in
        plain) user=bench_plain db=bench_plain_db ;;
        tenant) user=bench_t db=bench_t_db1 ;;
    esac
    cpu=$(server_cpu "$name")
    # a refused login aborts the client: pgbench exits non-zero
    out=$(PGPASSWORD=${password[$name.$role]} pgbench -C -n -T "$3" -f "$bench_dir/select1.sql" \
        "host=127.0.0.1 port=${cluster_port[$name]} user=$user dbname=$db" 2>&1) &&
        grep -q '^tps = ' <<<"$out" ||
        { echo "pgbench failed ($name, $role): $out" >&2; return 1; }
    sleep 0.2   # the last backend exits and is reaped
    echo "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")" \
        "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")" \
        "$(($(server_cpu "$name") - cpu))"
}

# warm-up, not measured: first logins fill the caches of each database
for name in base preload; do for role in plain tenant; do run "$name" "$role" 1 >/dev/null; done; done

echo "login_guard: $rounds rounds of ${secs}s runs, $([ "$sequential" = 1 ] &&
    echo 'one cluster at a time' || echo 'both clusters at once'), auth $auth, one pgbench -C client a cluster"
declare -A all   # role.what -> the rounds' values, space-separated
for r in $(seq 1 "$rounds"); do
    line="round $r:"
    first=$((r % 2))   # which cluster starts first alternates, for each role
    for role in plain tenant; do
        if [ $((first++ % 2)) = 1 ]; then order=(base preload); else order=(preload base); fi
        if [ "$sequential" = 1 ]; then
            for name in "${order[@]}"; do run "$name" "$role" "$secs" >"$bench_dir/out.$name"; done
            how="${order[0]} first"
        else
            run "${order[0]}" "$role" "$secs" >"$bench_dir/out.${order[0]}" &
            run "${order[1]}" "$role" "$secs" >"$bench_dir/out.${order[1]}" ||
                { wait; exit 1; }
            wait $! || exit 1
            how=concurrent
        fi
        declare -A tps=() cpu=()
        for name in base preload; do
            read -r t n c <"$bench_dir/out.$name"
            tps[$name]=$t
            cpu[$name]=$(echo "$c * $tick_ms / $n" | bc -l)   # ms a login
        done
        ratio=$(echo "${tps[preload]} / ${tps[base]}" | bc -l)
        cpu_ratio=$(echo "${cpu[base]} / ${cpu[preload]}" | bc -l)
        all[$role.ratio]+="$ratio " all[$role.cpu_ratio]+="$cpu_ratio "
        all[$role.base]+="${tps[base]} " all[$role.preload]+="${tps[preload]} "
        all[$role.base_cpu]+="${cpu[base]} " all[$role.preload_cpu]+="${cpu[preload]} "
        line+=$(printf '  %s %.1f/%.1f conn/s = %.3f, CPU %.1f/%.1f ms (%s);' "$role" \
            "${tps[preload]}" "${tps[base]}" "$ratio" "${cpu[preload]}" "${cpu[base]}" "$how")
    done
    echo "${line%;}"
done

# over the words of $1: median, min, max
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
least() { tr ' ' '\n' <<<"$1" | grep . | sort -g | head -1; }
most() { tr ' ' '\n' <<<"$1" | grep . | sort -g | tail -1; }
echo "medians over $rounds rounds, preload/base:"
for role in plain tenant; do
    printf '  %-6s connection rate %.1f/%.1f conn/s: ratio %.3f (rounds %.3f to %.3f; target >= 0.98)\n' "$role" \
        "$(med "${all[$role.preload]}")" "$(med "${all[$role.base]}")" \
        "$(med "${all[$role.ratio]}")" "$(least "${all[$role.ratio]}")" "$(most "${all[$role.ratio]}")"
    printf '  %-6s server CPU a login %.2f/%.2f ms: ratio base/preload %.3f (rounds %.3f to %.3f)\n' "$role" \
        "$(med "${all[$role.preload_cpu]}")" "$(med "${all[$role.base_cpu]}")" \
        "$(med "${all[$role.cpu_ratio]}")" "$(least "${all[$role.cpu_ratio]}")" "$(most "${all[$role.cpu_ratio]}")"
done
echo "($SECONDS s in all)"
