#!/usr/bin/env bash
# bench/onboard.sh — what tenancy.onboard costs over the same DDL as a plain
# psql script, on the same throwaway server, in the same run.
#
# Each round onboards N tenants with 2 databases each through
# tenancy.onboard(), then N other tenants with the equivalent plain SQL
# (role with a password, CREATE DATABASE, REVOKE/GRANT on the database
# and on its schema public, GRANT rds_iam), alternating which goes first.
# Prints each round's ratio and the median ratio (extension / plain SQL).
# Usage (root): bench/onboard.sh [N=10] [ROUNDS=5]
# PER_PROCESS=1 runs each tenant's statements in a psql process of its own
# (as a DBA calling it once per customer would), on both sides.
# BENCH_CONF="shared_preload_libraries = 'aurora_tenancy'" measures with the library preloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
rounds=${2:-5}
. bench/common.sh
bench_server 54331 "fsync = on"

extension_script() {   # $1 = round
    for i in $(seq 1 "$n"); do
        echo "SELECT changes FROM tenancy.onboard('ext_r$1_t$i', ARRAY['db1', 'db2']);"
        echo "--tenant"
    done
}
plain_script() {
    for i in $(seq 1 "$n"); do
        t="plain_r$1_t$i"
        # as a DBA would write it: a random password the server turns into a SCRAM verifier
        echo "CREATE ROLE $t LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$(head -c 30 /dev/urandom | base64 | tr -dc A-Za-z0-9)';"
        for d in db1 db2; do
            echo "CREATE DATABASE ${t}_$d;"
            echo "REVOKE ALL ON DATABASE ${t}_$d FROM PUBLIC;"
            echo "GRANT CONNECT, TEMPORARY, CREATE ON DATABASE ${t}_$d TO $t;"
            echo "\\c ${t}_$d"
            echo "REVOKE ALL ON SCHEMA public FROM PUBLIC;"
            echo "GRANT USAGE, CREATE ON SCHEMA public TO $t;"
            echo "\\c postgres"
        done
        echo "GRANT rds_iam TO $t;"
        echo "--tenant"
    done
}
run_script() {   # one psql for the whole script, or (PER_PROCESS=1) one per tenant
    if [ "${PER_PROCESS:-0}" = 1 ]; then
        awk -v dir="$bench_dir" '/^--tenant$/ { n++; next } { print > (dir "/part." sprintf("%05d", n)) }'
        for f in "$bench_dir"/part.*; do psql -d postgres -f "$f" >/dev/null; done
        rm -f "$bench_dir"/part.*
    else
        psql -d postgres >/dev/null
    fi
}
seconds() {   # runs a script from stdin, prints its wall time in seconds
    local start end
    start=$(date +%s.%N)
    run_script
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

# warm-up, not measured: the first calls load the library and fill caches
n_measured=$n; n=1
extension_script 0 | seconds >/dev/null; plain_script 0 | seconds >/dev/null
n=$n_measured

ratios=()
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then
        e=$(extension_script "$r" | seconds); p=$(plain_script "$r" | seconds)
    else
        p=$(plain_script "$r" | seconds); e=$(extension_script "$r" | seconds)
    fi
    ratio=$(echo "$e / $p" | bc -l)
    ratios+=("$ratio")
    printf 'round %d: %d tenants x 2 databases: onboard %.3fs, plain SQL %.3fs, ratio %.3f\n' "$r" "$n" "$e" "$p" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | median)
printf 'median ratio (tenancy.onboard / plain SQL%s) over %d rounds: %.3f\n' "$([ "${PER_PROCESS:-0}" = 1 ] && echo ', one psql per tenant')" "$rounds" "$median"
