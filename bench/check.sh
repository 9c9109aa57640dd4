#!/usr/bin/env bash
# bench/check.sh — tenancy.check() over many tenants, against what a DBA
# would do by hand: one psql script that connects to each tenant database in
# turn and reads its ACL and schema public's, on the same throwaway server
# in the same run.  Also times check(deep => false), which looks inside no
# database.  Prints each round, then the medians and the ratio.
# Usage (root): bench/check.sh [TENANTS=100] [ROUNDS=5]
# BENCH_CONF="shared_preload_libraries = 'aurora_tenancy'" measures with the library preloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
tenants=${1:-100}
rounds=${2:-5}
. bench/common.sh
bench_server "${BENCH_PORT:-54332}" "max_connections = 200" "max_worker_processes = 16"

echo "onboarding $tenants tenants with 2 databases each ..."
for i in $(seq 1 "$tenants"); do
    echo "SELECT changes FROM tenancy.onboard('bench_t$i', ARRAY['db1', 'db2']);"
done | psql >/dev/null

by_hand() {
    for i in $(seq 1 "$tenants"); do
        for d in db1 db2; do
            echo "\\c bench_t${i}_$d"
            echo "SELECT d.datacl, n.nspacl FROM pg_catalog.pg_database d, pg_catalog.pg_namespace n WHERE d.datname = current_database() AND n.nspname = 'public';"
        done
    done
}

check_s=(); plain_s=(); shallow_s=()
for r in $(seq 1 "$rounds"); do
    problems=$(psql -At -c "SELECT count(*) FROM tenancy.check()")
    c=$(echo "SELECT count(*) FROM tenancy.check();" | seconds)
    s=$(echo "SELECT count(*) FROM tenancy.check(deep => false);" | seconds)
    p=$(by_hand | seconds)
    check_s+=("$c"); plain_s+=("$p"); shallow_s+=("$s")
    printf 'round %d: check() %.3fs (%s problems), check(deep => false) %.3fs, by hand %.3fs\n' \
        "$r" "$c" "$problems" "$s" "$p"
done
cm=$(printf '%s\n' "${check_s[@]}" | median)
pm=$(printf '%s\n' "${plain_s[@]}" | median)
sm=$(printf '%s\n' "${shallow_s[@]}" | median)
printf 'medians over %d tenants (%d databases): check() %.3fs, by hand %.3fs, ratio %.2f; check(deep => false) %.3fs\n' \
    "$tenants" $((tenants * 2)) "$cm" "$pm" "$(echo "$cm / $pm" | bc -l)" "$sm"
