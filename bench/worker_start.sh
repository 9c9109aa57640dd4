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
#   - LOAD 'aurora_tenancy' in a fresh backend (N connections a round): the
#     statement's time, and the CPU time of each such backend, start to exit;
#   - tenancy.check('bench_t') over one tenant with one database, N calls
#     a round: each call starts one executor worker, which loads the
#     library (unless it is preloaded): the call's time, and the CPU time
#     of each executor, fork to exit.
# CPU times are the postmaster's reaped children's (/proc/PID/stat cutime +
# cstime, in clock ticks, so 10 ms / N resolution); they move less than
# elapsed times when other jobs share the machine.
# Each round measures both builds back to back, alternating which goes
# first; prints each round with its ratio this checkout / base, then the
# medians and the median ratio.  Machines are noisy: compare ratios.
#
# Usage (root): PG_PREFIX=/opt/x bench/worker_start.sh [N=20] [ROUNDS=9] [BASE=commit]
# BASE_PREFIX=/opt/y keeps the base build's PostgreSQL copy there (made if
# missing) instead of a temporary one.  BENCH_PORT (default 54333) and the
# port after it are used.  BENCH_CONF="shared_preload_libraries =
# 'aurora_tenancy'" measures both servers with the library preloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
rounds=${2:-9}
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
bench_server "$port" "autovacuum = off"
after_dir=$bench_dir
before_dir=$(mktemp -d /tmp/aurora_tenancy_bench.XXXXXX)
chmod 755 "$before_dir"
trap 'cluster_stop "$after_dir"; cluster_stop "$before_dir"; rm -rf "$after_dir" "$before_dir" "$base_src";
      [ -n "$keep_prefix" ] || rm -rf "$base_prefix"' EXIT
(PATH=$base_prefix/lib/postgresql/15/bin:$PATH
 cluster_start "$before_dir" $((port + 1)) "autovacuum = off" ${BENCH_CONF:+"$BENCH_CONF"})

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
-- the median time of n calls, in ms: one call slowed by another job on
-- the machine does not move it
CREATE FUNCTION bench_checks(n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	c bigint;
	ms float8[] := '{}';
BEGIN
	FOR i IN 1 .. n LOOP
		t0 := clock_timestamp();
		SELECT count(*) INTO c FROM tenancy.check('bench_t');
		ms := ms || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
	END LOOP;
	RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ms) x);
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

# CPU time, in clock ticks, of the postmaster's children that have exited:
# backends and workers, once reaped (autovacuum is off on both servers)
clk_tck=$(getconf CLK_TCK)
postmaster_pid() {
    if [ "$1" = before ]; then head -1 "$before_dir/data/postmaster.pid"; else head -1 "$after_dir/data/postmaster.pid"; fi
}
children_ticks() { awk '{ print $16 + $17 }' "/proc/$(postmaster_pid "$1")/stat"; }
per_call_ms() { echo "($2 - $1) * 1000 / $clk_tck / $n" | bc -l; }   # ticks before, after

# "<median ms> <CPU ms each>" of LOAD in N fresh backends: the time of the
# LOAD statement, and the CPU of each backend from start to exit
load_cost() {
    local t0 t1 ms
    t0=$(children_ticks "$1")
    ms=$(for i in $(seq "$n"); do
        on "$1" -c '\timing on' -c "LOAD 'aurora_tenancy'" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
    done | median)
    sleep 0.3                   # the last backend reaped
    t1=$(children_ticks "$1")
    echo "$ms $(per_call_ms "$t0" "$t1")"
}

# "<median ms> <CPU ms each>" of N calls of tenancy.check('bench_t'), each
# starting one executor: the call's time, and the executor's CPU from fork
# to exit (the calling backend lives on and is not counted)
check_cost() {
    local pm out
    pm=$(postmaster_pid "$1")
    out=$(on "$1" -At <<SQL
\\! awk '{ print "t0", \$16 + \$17 }' /proc/$pm/stat
SELECT 'ms ' || round(bench_checks($n)::numeric, 3);
\\! sleep 0.3; awk '{ print "t1", \$16 + \$17 }' /proc/$pm/stat
SQL
)
    echo "$(sed -n 's/^ms //p' <<<"$out") $(per_call_ms "$(sed -n 's/^t0 //p' <<<"$out")" "$(sed -n 's/^t1 //p' <<<"$out")")"
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
check_cost before >/dev/null; check_cost after >/dev/null

# Each round measures both builds back to back (alternating which goes
# first) and keeps the ratios: load from other jobs changes between rounds
# more than within one.  Four measures: LOAD time, a loading backend's CPU,
# check() time, an executor's CPU.
names=("LOAD 'aurora_tenancy', ms" "backend that loads it, CPU ms" "check() starting 1 executor, ms" "executor, CPU ms")
declare -A val ratio
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
    declare -A now
    for w in $order; do
        read -r now[$w,0] now[$w,1] <<<"$(load_cost "$w")"
        read -r now[$w,2] now[$w,3] <<<"$(check_cost "$w")"
    done
    line="round $r:"
    for k in 0 1 2 3; do
        val[before,$k]+="${now[before,$k]} "; val[after,$k]+="${now[after,$k]} "
        q=$(echo "${now[after,$k]} / ${now[before,$k]}" | bc -l 2>/dev/null || echo 0)
        ratio[$k]+="$q "
        line+=$(printf ' %s %.2f/%.2f (%.2f);' "${names[$k]%%,*}" "${now[before,$k]}" "${now[after,$k]}" "$q")
    done
    echo "$line"
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
printf '%d rounds of %d, medians                    before      after   ratio after/before\n' "$rounds" "$n"
for k in 0 1 2 3; do
    printf '  %-36s %9.2f  %9.2f   %.2f\n' "${names[$k]}" "$(med "${val[before,$k]}")" "$(med "${val[after,$k]}")" "$(med "${ratio[$k]}")"
done
