#!/usr/bin/python3
"""Baseline for bench/iam_token.sh: botocore's generate_db_auth_token.

  inputs N SEED   print N benchmark inputs, tab-separated: host, port, user, region
  round N SEED    sign those N inputs in a loop; print tokens per second

Both modes draw the same inputs from the same seed, so the extension and
botocore sign exactly the same requests.  Credentials are fixed and carry a
session token, as an instance role's or an assumed role's do.
"""
import random
import string
import sys
import time

ACCESS_KEY = 'ASIABENCHMARK0000001'
SECRET_KEY = 'benchSecretKey/abc+def/ghi+jkl/mno+pqr00'
SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEBench/Session+Token/' + 'A' * 300 + '=='
REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'sa-east-1']
USER_CHARS = string.ascii_letters + string.digits + "-_.~ +/=&?%@!'éß中😀"


def inputs(n, seed):
    rng = random.Random(seed)
    for _ in range(n):
        host = 'db%d.cluster-%s.%s.rds.amazonaws.com' % (
            rng.randrange(1000),
            ''.join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(12)),
            rng.choice(REGIONS))
        port = rng.choice([5432, 443, rng.randint(1, 65535)])
        user = ''.join(rng.choice(USER_CHARS) for _ in range(rng.randint(4, 16)))
        yield host, port, user, rng.choice(REGIONS)


def main():
    mode, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    data = list(inputs(n, seed))
    if mode == 'inputs':
        out = sys.stdout.buffer
        for host, port, user, region in data:
            out.write(('%s\t%d\t%s\t%s\n' % (host, port, user, region)).encode('utf-8'))
        return
    import botocore.session
    session = botocore.session.Session()
    session.set_credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
    client = session.create_client('rds', region_name='us-east-1')
    start = time.perf_counter()
    for host, port, user, region in data:
        client.generate_db_auth_token(host, port, user, region)
    elapsed = time.perf_counter() - start
    print('%.1f' % (n / elapsed))


if __name__ == '__main__':
    main()
