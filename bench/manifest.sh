#!/usr/bin/env bash
# bench/manifest.sh — the clients manifest, against baselines measured on the
# same throwaway server in the same run.  Each round:
#   1. onboard() called for each of N clients (2 databases each), one psql
#      session: the baseline;
#   2. apply() of a manifest of N other clients from empty: ratio apply/onboard
#      (target <= 1.10);
#   3. plan() of that manifest, now matching (must be empty): ratio
#      plan / the apply that created them (target <= 0.01).
# Usage (root): bench/manifest.sh [N=300] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
rounds=${2:-3}
. bench/common.sh
bench_server 54336 "fsync = on" "max_worker_processes = 16"

manifest() {   # $1 = name prefix: the manifest of N clients as a psql literal
    local sep=''
    printf "'{\"clients\": ["
    for i in $(seq 1 "$n"); do
        printf '%s{"name": "%s_%d", "databases": {"db1": true, "db2": true}, "rds_iam_auth": false}' "$sep" "$1" "$i"
        sep=', '
    done
    printf "]}'"
}
onboard_script() {   # $1 = name prefix
    for i in $(seq 1 "$n"); do
        echo "SELECT changes FROM tenancy.onboard('$1_$i', ARRAY['db1', 'db2'], iam_auth => false);"
    done
}

onboard_script warm | seconds >/dev/null   # warm-up, not measured
apply_ratios=()
plan_ratios=()
for r in $(seq 1 "$rounds"); do
    onboard=$(onboard_script "o$r" | seconds)
    apply=$(echo "SELECT count(*) FROM tenancy.apply($(manifest "a$r"));" | seconds)
    plan=$(echo "SELECT count(*) FROM tenancy.plan($(manifest "a$r"));" | seconds)
    left=$(echo "SELECT count(*) FROM tenancy.plan($(manifest "a$r"));" | psql -At -d postgres)
    [ "$left" = 0 ] || { echo "plan after apply is not empty: $left"; exit 1; }
    apply_ratios+=("$(echo "$apply / $onboard" | bc -l)")
    plan_ratios+=("$(echo "$plan / $apply" | bc -l)")
    printf 'round %d: %d clients x 2 databases: onboard each %.2fs, apply %.2fs (ratio %.3f); plan of the applied manifest %.3fs (ratio %.4f)\n' \
        "$r" "$n" "$onboard" "$apply" "${apply_ratios[-1]}" "$plan" "${plan_ratios[-1]}"
done
printf 'median ratio apply / onboard each: %.3f; plan / apply: %.4f (%d rounds)\n' \
    "$(printf '%s\n' "${apply_ratios[@]}" | median)" "$(printf '%s\n' "${plan_ratios[@]}" | median)" "$rounds"
