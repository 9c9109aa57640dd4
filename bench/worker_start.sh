#!/usr/bin/env bash
# bench/worker_start.sh — what the library costs the processes that never
# call AWS: executor workers and backends.  Compares this checkout with a
# base commit (by default the one before libcurl became load-on-demand in
# src/aws_http.c), on two throwaway servers started side by side in the
# same run, the base one from a second private PostgreSQL prefix.
#
# For each build:
#   - the shared objects mapped by a backend that called tenancy.check(),
#     and by an executor worker caught while blocked on a lock (as in
#     test/t/002), and whether libcurl is among them;
#   - LOAD 'aurora_tenancy' in a fresh backend (N connections a round);
#   - tenancy.check('bench_t') over one tenant with one database, N calls
#     a round: each call starts one executor worker, which loads the
#     library (unless it is preloaded).
# Rounds alternate which build goes first; prints each round, the medians
# and the ratios this checkout / base.  Machines are noisy: compare ratios.
#
# Usage (root): PG_PREFIX=/opt/x bench/worker_start.sh [N=20] [ROUNDS=5] [BASE=commit]
# BASE_PREFIX=/opt/y keeps the base build's PostgreSQL copy there (made if
# missing) instead of a temporary one.  BENCH_PORT (default 54333) and the
# port after it are used.  BENCH_CONF="shared_preload_libraries =
# 'aurora_tenancy'" measures both servers with the library preloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
rounds=${2:-5}
first=$(git log --diff-filter=A --format=%H -- src/aws_http.c | tail -1)
base=${3:-${first:+$first^}}
base=$(git rev-parse --short "${base:-HEAD}")
port=${BENCH_PORT:-54333}

# the base build, from git, into its own copy of PostgreSQL
base_src=$(mktemp -d /tmp/aurora_tenancy_base_src.XXXXXX)
base_prefix=${BASE_PREFIX:-$(mktemp -d /tmp/aurora_tenancy_base_pg.XXXXXX)}
keep_prefix=${BASE_PREFIX:+yes}
mkdir -p "$base_prefix" && chmod 755 "$base_prefix"
if [ ! -x "$base_prefix/lib/postgresql/15/bin/postgres" ]; then
    mkdir -p "$base_prefix/lib/postgresql" "$base_prefix/share/postgresql" "$base_prefix/include"
    cp -a /usr/lib/postgresql/15 "$base_prefix/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$base_prefix/share/postgresql/"
    cp -a /usr/include/postgresql "$base_prefix/include/"
fi
git archive "$base" | tar -x -C "$base_src"
echo "building base $base into $base_prefix ..."
make -s -C "$base_src" PG_CONFIG="$base_prefix/lib/postgresql/15/bin/pg_config" >/dev/null
make -s -C "$base_src" PG_CONFIG="$base_prefix/lib/postgresql/15/bin/pg_config" install >/dev/null

# this checkout: bench_server builds, installs and starts it
. bench/common.sh
bench_server "$port"
after_dir=$bench_dir
before_dir=$(mktemp -d /tmp/aurora_tenancy_bench.XXXXXX)
chmod 755 "$before_dir"
trap 'cluster_stop "$after_dir"; cluster_stop "$before_dir"; rm -rf "$after_dir" "$before_dir" "$base_src";
      [ -n "$keep_prefix" ] || rm -rf "$base_prefix"' EXIT
(PATH=$base_prefix/lib/postgresql/15/bin:$PATH
 cluster_start "$before_dir" $((port + 1)) ${BENCH_CONF:+"$BENCH_CONF"})

on() {   # on before|after psql-arguments...
    local which=$1; shift
    if [ "$which" = after ]; then
        PGHOST=$after_dir PGPORT=$port psql "$@"
    else
        PGHOST=$before_dir PGPORT=$((port + 1)) psql "$@"
    fi
}
on before -c "CREATE ROLE rds_iam NOLOGIN" -c "CREATE EXTENSION aurora_tenancy"
for w in before after; do
    on "$w" >/dev/null <<'SQL'
SELECT changes FROM tenancy.onboard('bench_t', ARRAY['db1']);
CREATE FUNCTION bench_checks(n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	c bigint;
BEGIN
	FOR i IN 1 .. n LOOP
		SELECT count(*) INTO c FROM tenancy.check('bench_t');
	END LOOP;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
END
$$;
SQL
done

# SQL: the shared objects a process maps, and how many of them are libcurl
so_sql() {
    echo "SELECT count(DISTINCT m[1]) || ' ' || count(DISTINCT m[1]) FILTER (WHERE m[1] ~ '/libcurl')
          FROM regexp_matches(pg_catalog.pg_read_file('/proc/$1/maps'), '(/\S+\.so(?:\.[0-9.]+)?)\n', 'g') m"
}

# "<objects> <libcurl>" of a backend after tenancy.check()
backend_objects() {
    on "$1" -At -c "SELECT count(*) FROM tenancy.check('bench_t')" -c "$(so_sql self)" | tail -1
}

# "<objects> <libcurl>" of an executor, caught while its onboarding waits
# for a lock held by another session
executor_objects() {
    local w=$1 holder onboard pid="" result i
    printf 'BEGIN;\nLOCK TABLE tenancy.tenant_databases IN SHARE MODE;\nSELECT pg_sleep(600);\n' |
        on "$w" >/dev/null 2>&1 &
    holder=$!
    for i in $(seq 100); do
        [ "$(on "$w" -At -c "SELECT count(*) FROM pg_locks WHERE relation = 'tenancy.tenant_databases'::regclass AND mode = 'ShareLock' AND granted")" = 1 ] && break
        sleep 0.1
    done
    on "$w" -c "SELECT changes FROM tenancy.onboard('bench_lock', ARRAY['db1'])" >/dev/null &
    onboard=$!
    for i in $(seq 300); do
        pid=$(on "$w" -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor' AND wait_event_type = 'Lock' LIMIT 1")
        [ -n "$pid" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] || { echo "no executor blocked on the lock" >&2; exit 1; }
    result=$(on "$w" -At -c "$(so_sql "$pid")")
    on "$w" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null
    wait "$holder" || true
    wait "$onboard"
    echo "$result"
}

load_ms() {   # mean time of LOAD in N fresh backends, in ms
    for i in $(seq "$n"); do
        on "$1" -c '\timing on' -c "LOAD 'aurora_tenancy'" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
    done | awk '{ s += $1 } END { printf "%.3f\n", s / NR }'
}

check_ms() {   # time of one tenancy.check() that starts one executor, in ms
    on "$1" -At -c "SELECT round(bench_checks($n)::numeric, 3)"
}

linked() { readelf -d "$1" | grep -q 'NEEDED.*libcurl' && echo "linked with libcurl" || echo "not linked with libcurl"; }
echo "before: base $base, $(linked "$base_prefix/lib/postgresql/15/lib/aurora_tenancy.so")"
echo "after:  this checkout, $(linked "$(pg_config --pkglibdir)/aurora_tenancy.so")"
echo "${BENCH_CONF:-library not preloaded}"

read -r bb bbc <<<"$(backend_objects before)"
read -r ba bac <<<"$(backend_objects after)"
read -r eb ebc <<<"$(executor_objects before)"
read -r ea eac <<<"$(executor_objects after)"
printf 'shared objects mapped (libcurl among them)   before     after\n'
printf '  backend that called tenancy.check()        %3d (%d)   %3d (%d)\n' "$bb" "$bbc" "$ba" "$bac"
printf '  executor worker                            %3d (%d)   %3d (%d)\n' "$eb" "$ebc" "$ea" "$eac"

# warm-up, not measured
check_ms before >/dev/null; check_ms after >/dev/null

lb=() la=() cb=() ca=()
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
    for w in $order; do
        l=$(load_ms "$w"); c=$(check_ms "$w")
        if [ "$w" = before ]; then lb+=("$l"); cb+=("$c"); else la+=("$l"); ca+=("$c"); fi
    done
    printf 'round %d: LOAD %.3f ms before, %.3f ms after; check() with one worker start %.2f ms before, %.2f ms after\n' \
        "$r" "${lb[-1]}" "${la[-1]}" "${cb[-1]}" "${ca[-1]}"
done
mlb=$(printf '%s\n' "${lb[@]}" | median); mla=$(printf '%s\n' "${la[@]}" | median)
mcb=$(printf '%s\n' "${cb[@]}" | median); mca=$(printf '%s\n' "${ca[@]}" | median)
printf "median LOAD 'aurora_tenancy' over %d rounds of %d backends: before %.3f ms, after %.3f ms, ratio after/before %.2f\n" \
    "$rounds" "$n" "$mlb" "$mla" "$(echo "$mla / $mlb" | bc -l)"
printf 'median tenancy.check() starting one executor, over %d rounds of %d calls: before %.2f ms, after %.2f ms, ratio after/before %.2f\n' \
    "$rounds" "$n" "$mcb" "$mca" "$(echo "$mca / $mcb" | bc -l)"
