#!/usr/bin/env bash
# bench/noop.sh — what work that changes nothing costs: re-onboarding N
# healthy tenants against onboarding them, on the same throwaway server in
# the same run.  Each round onboards N new tenants with 2 databases each,
# then calls the same onboard() for each of them again; it prints both times
# and their ratio (re-onboard / onboard), then the median ratio.
# Usage (root): bench/noop.sh [N=20] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
rounds=${2:-5}
. bench/common.sh
bench_server 54334 "fsync = on"

script() {   # $1 = round
    for i in $(seq 1 "$n"); do
        echo "SELECT changes FROM tenancy.onboard('noop_r$1_t$i', ARRAY['db1', 'db2']);"
    done
}
workers() { psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor'"; }

script 0 | seconds >/dev/null   # warm-up, not measured
ratios=()
for r in $(seq 1 "$rounds"); do
    first=$(script "$r" | seconds)
    again=$(script "$r" | seconds)
    changes=$(script "$r" | psql -At -d postgres | sort -u | tr '\n' ' ')
    ratio=$(echo "$again / $first" | bc -l)
    ratios+=("$ratio")
    printf 'round %d: %d tenants x 2 databases: onboard %.3fs, again %.3fs (changes: %s), ratio %.4f\n' \
        "$r" "$n" "$first" "$again" "$changes" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | median)
printf 'median ratio (no-op onboard / onboard) over %d rounds: %.4f\n' "$rounds" "$median"
