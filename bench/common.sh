# bench/common.sh — sourced by the benchmarks: a throwaway server with the
# extension installed (removed on exit), psql, and the median of a list.

# bench_server PORT [postgres -c options...]; BENCH_CONF adds one more option
bench_server() {
    local port=$1; shift
    tools/setup
    . tools/cluster.sh
    bench_dir=$(mktemp -d /tmp/aurora_tenancy_bench.XXXXXX)
    chmod 755 "$bench_dir"
    trap 'cluster_stop "$bench_dir"; rm -rf "$bench_dir"' EXIT
    cluster_start "$bench_dir" "$port" "$@" ${BENCH_CONF:+"$BENCH_CONF"}
    psql -c "CREATE ROLE rds_iam NOLOGIN" -c "CREATE EXTENSION aurora_tenancy"
}

psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# runs a psql script from stdin, prints its wall time in seconds
seconds() {
    local start end
    start=$(date +%s.%N)
    psql -d postgres >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

# the median of the numbers on stdin, one a line
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
