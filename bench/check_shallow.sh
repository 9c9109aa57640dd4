#!/usr/bin/env bash
# bench/check_shallow.sh — tenancy.check(deep => false) over many tenants,
# against a plain SELECT that reads the same cluster-wide catalogs for the
# same tenants (their roles' attributes and memberships, their databases'
# ACLs and markers), on the same throwaway server in the same run.  Also
# times check(tenant, deep => false) called once per tenant, as the
# per-tenant cost it replaces.  Prints each round, then medians and ratios;
# each of those calls starts a psql (and so a backend) of its own.  Last, the
# two warm, in one session, as psql's \timing shows them: what a monitoring
# loop that keeps its connection pays a call.
# Usage (root): bench/check_shallow.sh [TENANTS=300] [ROUNDS=5]
# BENCH_PORT picks the server's port, BENCH_CONF adds a postgres option.
set -euo pipefail
cd "$(dirname "$0")/.."
tenants=${1:-300}
rounds=${2:-5}
. bench/common.sh
bench_server "${BENCH_PORT:-54333}" "max_connections = 200" \
    "shared_preload_libraries = 'aurora_tenancy'"

echo "onboarding $tenants tenants with 1 database each ..."
for i in $(seq 1 "$tenants"); do
    echo "SELECT changes FROM tenancy.onboard('bench_s$i', ARRAY['db1']);"
done | psql >/dev/null
# the catalogs' statistics as autovacuum would have them, before any call plans
psql -c "ANALYZE"

plain="SELECT count(*) FROM pg_catalog.pg_roles r
    JOIN pg_catalog.pg_database d ON d.datname = r.rolname || '_db1'
    LEFT JOIN pg_catalog.pg_shseclabel l ON l.objoid = d.oid
    LEFT JOIN pg_catalog.pg_auth_members m ON m.member = r.oid
    WHERE r.rolname LIKE 'bench_s%' AND (r.rolsuper OR NOT r.rolcanlogin
        OR NOT pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT')
        OR l.label IS NULL OR m.roleid IS NULL);"
# the \timing (ms) of each of the last N of N + 3 calls in one session
warm() {
    local sql=$1 n=$2
    { echo '\timing on'; for i in $(seq 1 $((n + 3))); do echo "$sql"; done; } |
        psql -d postgres | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n "$n"
}
per_tenant() {
    for i in $(seq 1 "$tenants"); do
        echo "SELECT count(*) FROM tenancy.check('bench_s$i', deep => false);"
    done
}

check_s=(); plain_s=(); each_s=()
for r in $(seq 1 "$rounds"); do
    problems=$(psql -At -c "SELECT count(*) FROM tenancy.check(deep => false)")
    # each a psql of its own, so each includes one connection (as the baseline)
    c=$(echo "SELECT count(*) FROM tenancy.check(deep => false);" | seconds)
    p=$(echo "$plain" | seconds)
    e=$(per_tenant | seconds)
    check_s+=("$c"); plain_s+=("$p"); each_s+=("$e")
    printf 'round %d: check(deep => false) %.3fs (%s problems), plain SELECT %.3fs, check(tenant, deep => false) x %d %.3fs\n' \
        "$r" "$c" "$problems" "$p" "$tenants" "$e"
done
cm=$(printf '%s\n' "${check_s[@]}" | median)
pm=$(printf '%s\n' "${plain_s[@]}" | median)
em=$(printf '%s\n' "${each_s[@]}" | median)
printf 'medians over %d tenants: check(deep => false) %.3fs, plain SELECT %.3fs, ratio %.2f; check(tenant, deep => false) x %d %.3fs, ratio %.2f\n' \
    "$tenants" "$cm" "$pm" "$(echo "$cm / $pm" | bc -l)" "$tenants" "$em" "$(echo "$cm / $em" | bc -l)"
wc=$(warm "SELECT count(*) FROM tenancy.check(deep => false);" 20 | median)
wp=$(warm "$plain" 20 | median)
printf 'warm, one session, medians of 20 calls: check(deep => false) %.1f ms, plain SELECT %.1f ms, ratio %.2f\n' \
    "$wc" "$wp" "$(echo "$wc / $wp" | bc -l)"
