#!/usr/bin/env bash
# bench/check.sh — tenancy.check() over many tenants, against a plain catalog
# query that lists the same databases' ACLs, on the same throwaway server in
# the same run.  Prints each round, then the medians and their ratio.
# Usage (root): bench/check.sh [TENANTS=300] [ROUNDS=5]
# BENCH_CONF="shared_preload_libraries = 'aurora_tenancy'" measures with the library preloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
tenants=${1:-300}
rounds=${2:-5}
. bench/common.sh
bench_server 54332 "max_connections = 200"

echo "onboarding $tenants tenants with 2 databases each ..."
for i in $(seq 1 "$tenants"); do
    echo "SELECT changes FROM tenancy.onboard('bench_t$i', ARRAY['db1', 'db2']);"
done | psql >/dev/null

plain="SELECT d.datname, d.datacl FROM pg_catalog.pg_database d
       JOIN tenancy.tenant_databases t ON t.database_name = d.datname"
ms() {   # server-side time of one statement, in milliseconds
    psql -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

check_ms=(); plain_ms=()
for r in $(seq 1 "$rounds"); do
    problems=$(psql -At -c "SELECT count(*) FROM tenancy.check()")
    c=$(ms "SELECT count(*) FROM tenancy.check()")
    p=$(ms "$plain")
    check_ms+=("$c"); plain_ms+=("$p")
    printf 'round %d: check() %.1f ms (%s problems), plain ACL query %.3f ms\n' "$r" "$c" "$problems" "$p"
done
cm=$(printf '%s\n' "${check_ms[@]}" | median)
pm=$(printf '%s\n' "${plain_ms[@]}" | median)
printf 'median check() over %d tenants (%d databases): %.1f ms; plain ACL query: %.3f ms; ratio %.0f\n' \
    "$tenants" $((tenants * 2)) "$cm" "$pm" "$(echo "$cm / $pm" | bc -l)"
