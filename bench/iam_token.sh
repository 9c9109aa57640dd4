#!/usr/bin/env bash
# bench/iam_token.sh — tokens per second of tenancy.iam_auth_token() against
# botocore's generate_db_auth_token (Debian's python3-botocore), over the
# same inputs and credentials, in alternating rounds of one run; prints each
# round, the medians and their ratio.  Machines are noisy: compare the
# ratio, not the absolute numbers.
#
#   bench/iam_token.sh [rounds] [tokens per round]      (as root or postgres)
#
# Starts a throwaway cluster on a unix socket and removes it on exit; needs
# the extension installed (make install).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
n=${2:-5000}
seed=42
PGBIN=/usr/lib/postgresql/15/bin
py=/usr/bin/python3
baseline=$PWD/bench/iam_token_botocore.py

run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/iam_token_bench.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" = 0 ] && chown postgres: "$work"
trap 'run $PGBIN/pg_ctl -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
run $PGBIN/initdb -D "$work/data" -A trust -U postgres --no-sync >/dev/null
run $PGBIN/pg_ctl -D "$work/data" -l "$work/server.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$work' -c port=55450 -c fsync=off" start >/dev/null
psql() { run $PGBIN/psql -X -q -At -h "$work" -p 55450 -U postgres -d postgres "$@"; }

$py "$baseline" inputs "$n" "$seed" > "$work/inputs.tsv"
[ "$(id -u)" = 0 ] && chown postgres: "$work/inputs.tsv"
psql <<SQL
CREATE EXTENSION aurora_tenancy;
CREATE TABLE bench_inputs (host text, port int, username text, region text);
\copy bench_inputs FROM '$work/inputs.tsv'
CREATE FUNCTION bench_round() RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz := clock_timestamp();
	n bigint;
BEGIN
	SELECT count(tenancy.iam_auth_token(host, port, username, region)) INTO n FROM bench_inputs;
	RETURN n / extract(epoch FROM clock_timestamp() - t0);
END
\$\$;
SQL
setup="SET tenancy.aws_imds_endpoint = '';
SET tenancy.aws_access_key_id = 'ASIABENCHMARK0000001';
SET tenancy.aws_secret_access_key = 'benchSecretKey/abc+def/ghi+jkl/mno+pqr00';
SET tenancy.aws_session_token = 'IQoJb3JpZ2luX2VjEBench/Session+Token/$(printf 'A%.0s' $(seq 300))==';"

echo "round  extension tokens/s  botocore tokens/s   ($n tokens per round)"
ext=() boto=()
for i in $(seq "$rounds"); do
    e=$(psql -c "$setup" -c "SELECT round(bench_round()::numeric, 1)")
    b=$($py "$baseline" round "$n" "$seed")
    ext+=("$e") boto+=("$b")
    printf '%5d  %18s  %17s\n' "$i" "$e" "$b"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
me=$(median "${ext[@]}")
mb=$(median "${boto[@]}")
echo "median extension: $me tokens/s"
echo "median botocore:  $mb tokens/s"
awk -v e="$me" -v b="$mb" 'BEGIN { printf "ratio extension/botocore: %.1fx\n", e / b }'
