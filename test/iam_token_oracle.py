#!/usr/bin/python3
"""botocore as the oracle for tenancy.iam_auth_token().

Writes random cases, one JSON object per line, each with its inputs (host,
port, user name, region, credentials, signing time) and the token that
botocore's generate_db_auth_token returns for them at that time.  The TAP
test test/t/040_iam_botocore.pl feeds the same inputs to the extension and
compares byte for byte.

Run with Debian's python3 and python3-botocore:
    /usr/bin/python3 test/iam_token_oracle.py --count 250 --seed 4
"""
import argparse
import datetime
import json
import random
import string
import sys
from unittest import mock

import botocore.session

REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1',
           'ap-southeast-2', 'ap-northeast-1', 'sa-east-1', 'ca-central-1',
           'us-gov-west-1', 'cn-north-1', 'il-central-1', 'me-south-1']
B64 = string.ascii_letters + string.digits + '+/'
# characters a user name may hold that need encoding, plus some that do not
USER_CHARS = (string.ascii_letters + string.digits + '-_.~' +
              " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}" +
              'éßøÆ中文字кириллица' + '\u00a0\u2028😀🐘' + '\t')


def random_host(rng):
    kind = rng.random()
    if kind < 0.1:
        return '.'.join(str(rng.randrange(256)) for _ in range(4))
    if kind < 0.18:
        return rng.choice(['[::1]', '[2001:db8::1]', '[FE80::A:1]',
                           '[2001:DB8:0:0:8:800:200C:417A]', '[::ffff:10.0.0.1]'])
    labels = []
    for _ in range(rng.randint(1, 5)):
        alphabet = string.ascii_letters + string.digits + '-_'
        labels.append(''.join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))))
    if rng.random() < 0.4:
        labels += ['cluster-c' + ''.join(rng.choice(string.ascii_lowercase + string.digits)
                                         for _ in range(12)),
                   rng.choice(REGIONS), 'rds', 'amazonaws', 'com']
    host = '.'.join(labels)
    return host[:253]


def random_user(rng):
    while True:
        n = rng.randint(1, 20)
        user = ''.join(rng.choice(USER_CHARS) for _ in range(n))
        if len(user.encode('utf-8')) <= 63:
            return user


def random_token(rng):
    body = ''.join(rng.choice(B64) for _ in range(rng.randint(40, 400)))
    # every token holds all three characters that need encoding
    pos = sorted(rng.sample(range(len(body)), 2))
    return body[:pos[0]] + '+' + body[pos[0]:pos[1]] + '/' + body[pos[1]:] + '=='


def random_case(rng, i):
    port = rng.choice([443, 80, 1, 65535, 5432, 3306, rng.randint(1, 65535),
                       rng.randint(1, 65535), rng.randint(1, 65535)])
    when = datetime.datetime(2015, 1, 1) + datetime.timedelta(
        seconds=rng.randrange(20 * 365 * 86400))
    return {
        'case': i,
        'host': random_host(rng),
        'port': port,
        'user': random_user(rng),
        'region': rng.choice(REGIONS),
        # None: the function's region argument is left out and the region
        # comes from tenancy.aws_region, as the client's region in botocore
        'region_argument': rng.random() < 0.7,
        'access_key_id': rng.choice(['AKIA', 'ASIA']) + ''.join(
            rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
        'secret_access_key': ''.join(rng.choice(B64) for _ in range(40)),
        # half with a session token, always containing + / and =
        'session_token': random_token(rng) if i % 2 == 1 else None,
        'signing_time': when.strftime('%Y%m%dT%H%M%SZ'),
    }


def botocore_token(session, case):
    session.set_credentials(case['access_key_id'], case['secret_access_key'],
                            case['session_token'])
    client = session.create_client('rds', region_name=case['region'])
    when = datetime.datetime.strptime(case['signing_time'], '%Y%m%dT%H%M%SZ')
    with mock.patch('botocore.auth.datetime') as fake:
        fake.datetime.utcnow.return_value = when
        if case['region_argument']:
            return client.generate_db_auth_token(case['host'], case['port'],
                                                 case['user'], case['region'])
        return client.generate_db_auth_token(case['host'], case['port'], case['user'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=250)
    parser.add_argument('--seed', type=int, default=20240101)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    session = botocore.session.Session()
    for i in range(args.count):
        case = random_case(rng, i)
        case['expected'] = botocore_token(session, case)
        sys.stdout.write(json.dumps(case, ensure_ascii=True) + '\n')


if __name__ == '__main__':
    main()
