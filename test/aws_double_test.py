#!/usr/bin/python3
"""Self-test of test/aws_double.py, driven by real botocore clients.

Starts the double on an ephemeral port and runs every action and rule it
claims through botocore (which parsing the double's XML proves the response
shapes), raw signed requests for what botocore will not send (tampered
bodies, stale dates, wrong scopes), and the control endpoints.

Run with Debian's python3 and python3-botocore:
    /usr/bin/python3 test/aws_double_test.py
"""
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import botocore.exceptions
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.credentials import Credentials

DOUBLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'aws_double.py')
ACCOUNT = '123456789012'
AKID = 'AKIADOUBLETEST000001'
SECRET = 'doubleTestSecret/abc+def/ghi+jkl/mnopqrs'
NO_RETRY = Config(retries={'total_max_attempts': 1}, connect_timeout=5, read_timeout=20)

for _k in [k for k in os.environ if k.startswith('AWS_')]:
    del os.environ[_k]
os.environ['AWS_CONFIG_FILE'] = os.devnull
os.environ['AWS_SHARED_CREDENTIALS_FILE'] = os.devnull


def trust(*principals, action='sts:AssumeRole'):
    aws = principals[0] if len(principals) == 1 else list(principals)
    return json.dumps({'Version': '2012-10-17', 'Statement': [
        {'Effect': 'Allow', 'Principal': {'AWS': aws}, 'Action': action}]})


CONNECT = json.dumps({'Version': '2012-10-17', 'Statement': [
    {'Effect': 'Allow', 'Action': 'rds-db:connect',
     'Resource': f'arn:aws:rds-db:eu-central-1:{ACCOUNT}:dbuser:cluster-ABC/t1'}]})


class Double:
    def __init__(self, *extra):
        self.dir = tempfile.TemporaryDirectory(prefix='aws_double_test.')
        self.portfile = os.path.join(self.dir.name, 'port')
        self.log = os.path.join(self.dir.name, 'log')
        self.proc = subprocess.Popen(
            [sys.executable, DOUBLE, '--port', '0', '--portfile', self.portfile,
             '--account', ACCOUNT, '--log', self.log, *extra])
        for _ in range(200):
            if os.path.exists(self.portfile):
                break
            if self.proc.poll() is not None:
                raise RuntimeError('the double exited with %s' % self.proc.returncode)
            time.sleep(0.05)
        else:
            raise RuntimeError('the double wrote no port file')
        with open(self.portfile) as f:
            self.port = int(f.read())
        self.url = 'http://127.0.0.1:%d/' % self.port
        self.clients = []

    def stop(self):
        for c in self.clients:
            c.close()
        self.proc.terminate()
        self.proc.wait(10)
        self.dir.cleanup()

    def control(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + '_control/' + path, data=data,
                                     method='GET' if body is None else 'POST')
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def client(self, service, region='us-east-1', key=AKID, secret=SECRET, token=None):
        c = botocore.session.get_session().create_client(
            service, endpoint_url=self.url, region_name=region, aws_access_key_id=key,
            aws_secret_access_key=secret, aws_session_token=token, config=NO_RETRY)
        self.clients.append(c)
        return c

    def raw(self, params, service='iam', region='us-east-1', key=AKID, secret=SECRET,
            token=None, stamp=None, body=None, drop_headers=(), set_headers=None,
            signed_extra=None, content_sha=None):
        """A hand-signed request; returns (status, headers, text).

        body replaces the signed body after signing (tampering)."""
        signed_body = urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode()
        stamp = stamp or time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        host = '127.0.0.1:%d' % self.port
        headers = {'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
                   'Host': host, 'X-Amz-Date': stamp}
        if token:
            headers['X-Amz-Security-Token'] = token
        if content_sha:
            headers['X-Amz-Content-SHA256'] = content_sha
        headers.update(signed_extra or {})
        req = AWSRequest(method='POST', url='http://' + host + '/', data=signed_body,
                         headers=headers)
        req.context['timestamp'] = stamp
        auth = SigV4Auth(Credentials(key, secret, token), service, region)
        canonical = auth.canonical_request(req)
        sig = auth.signature(auth.string_to_sign(req, canonical), req)
        headers['Authorization'] = ('AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s'
                                    % (auth.scope(req), auth.signed_headers(auth.headers_to_sign(req)), sig))
        for h in drop_headers:
            headers.pop(h, None)
        headers.update(set_headers or {})
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=20)
        try:
            conn.request('POST', '/', body if body is not None else signed_body, headers)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read().decode()
        finally:
            conn.close()


def code_of(text):
    m = re.search(r'<Code>([^<]*)</Code>', text)
    return m and m.group(1)


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Double('--access-key', AKID, '--secret-key', SECRET,
                       '--cluster', 'tenants-a=cluster-AAAAAAAAAAAAAAAAAAAAAAAAAA',
                       'tenants-b=cluster-BBBBBBBBBBBBBBBBBBBBBBBBBB')
        cls.iam = cls.d.client('iam')
        cls.sts = cls.d.client('sts', 'eu-central-1')
        cls.rds = cls.d.client('rds', 'eu-central-1')

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def setUp(self):
        self.d.control('reset', {})

    def assertApiError(self, code, status, fn, *a, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*a, **kw)
        err = cm.exception.response
        self.assertEqual(err['Error']['Code'], code, err['Error'].get('Message'))
        self.assertEqual(err['ResponseMetadata']['HTTPStatusCode'], status)
        return err

    def make_user(self, name, **kw):
        return self.iam.create_user(UserName=name, **kw)['User']

    def make_role(self, name, doc=None, **kw):
        return self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc or trust(ACCOUNT),
                                    **kw)['Role']


class StsRds(Base):
    def test_caller_identity(self):
        r = self.sts.get_caller_identity()
        self.assertEqual(r['Account'], ACCOUNT)
        self.assertEqual(r['Arn'], f'arn:aws:iam::{ACCOUNT}:user/tenancy-admin')
        self.assertTrue(r['UserId'].startswith('AIDA'))
        self.assertRegex(r['ResponseMetadata']['RequestId'], r'^[0-9a-f-]{36}$')

    def test_describe_clusters(self):
        c = self.rds.describe_db_clusters(DBClusterIdentifier='tenants-a')['DBClusters']
        self.assertEqual(len(c), 1)
        self.assertEqual(c[0]['DBClusterIdentifier'], 'tenants-a')
        self.assertEqual(c[0]['DbClusterResourceId'], 'cluster-AAAAAAAAAAAAAAAAAAAAAAAAAA')
        self.assertEqual(c[0]['Engine'], 'aurora-postgresql')
        self.assertEqual(c[0]['Status'], 'available')
        self.assertEqual(len(self.rds.describe_db_clusters()['DBClusters']), 2)
        self.assertApiError('DBClusterNotFoundFault', 404,
                            self.rds.describe_db_clusters, DBClusterIdentifier='nope')
        self.d.control('cluster', {'identifier': 'tenants-c', 'resource_id': 'cluster-C'})
        c = self.rds.describe_db_clusters(DBClusterIdentifier='tenants-c')['DBClusters']
        self.assertEqual(c[0]['DbClusterResourceId'], 'cluster-C')

    def test_version_must_match_service(self):
        st, _, text = self.d.raw({'Action': 'GetCallerIdentity', 'Version': '2010-05-08'}, 'sts', 'eu-central-1')
        self.assertEqual((st, code_of(text)), (400, 'InvalidAction'))
        st, _, text = self.d.raw({'Action': 'DescribeDBClusters', 'Version': '2011-06-15'}, 'rds', 'eu-central-1')
        self.assertEqual((st, code_of(text)), (400, 'InvalidAction'))
        st, _, text = self.d.raw({'Action': 'ListUsers', 'Version': '2014-10-31'})
        self.assertEqual((st, code_of(text)), (400, 'InvalidAction'))
        st, _, text = self.d.raw({'Action': 'StealEverything', 'Version': '2010-05-08'})
        self.assertEqual((st, code_of(text)), (400, 'InvalidAction'))
        st, hdrs, text = self.d.raw({'Action': 'ListUsers', 'Version': '2010-05-08'})
        self.assertEqual(st, 200)
        self.assertTrue(hdrs['x-amzn-RequestId'])
        self.assertIn('<IsTruncated>false</IsTruncated>', text)


class Users(Base):
    def test_create_get_list_delete(self):
        u = self.make_user('Alice', Path='/tenancy/', Tags=[{'Key': 'tenant', 'Value': 't1'}])
        self.assertEqual(u['Arn'], f'arn:aws:iam::{ACCOUNT}:user/tenancy/Alice')
        self.assertRegex(u['UserId'], r'^AIDA[A-Z0-9]{16}$')
        self.assertEqual(u['Tags'], [{'Key': 'tenant', 'Value': 't1'}])
        g = self.iam.get_user(UserName='alice')['User']     # names are case-insensitive
        self.assertEqual((g['UserName'], g['UserId'], g['Path']), ('Alice', u['UserId'], '/tenancy/'))
        self.assertEqual(g['Tags'], [{'Key': 'tenant', 'Value': 't1'}])
        self.make_user('bob')
        self.assertEqual([x['UserName'] for x in self.iam.list_users()['Users']], ['Alice', 'bob'])
        self.assertEqual([x['UserName'] for x in self.iam.list_users(PathPrefix='/tenancy/')['Users']], ['Alice'])
        self.assertFalse(self.iam.list_users()['IsTruncated'])
        self.iam.delete_user(UserName='ALICE')
        self.assertApiError('NoSuchEntity', 404, self.iam.get_user, UserName='Alice')
        self.assertApiError('NoSuchEntity', 404, self.iam.delete_user, UserName='Alice')
        self.assertEqual(self.iam.get_user()['User']['UserName'], 'tenancy-admin')

    def test_duplicates_and_names(self):
        self.make_user('Carol')
        self.assertApiError('EntityAlreadyExists', 409, self.make_user, 'Carol')
        self.assertApiError('EntityAlreadyExists', 409, self.make_user, 'cAROL')
        self.make_role('Carol')       # roles are another namespace
        self.assertApiError('ValidationError', 400, self.make_user, 'x' * 65)
        self.make_user('y' * 64)
        self.assertApiError('ValidationError', 400, self.make_user, 'bad name')
        self.assertApiError('ValidationError', 400, self.make_user, 'bad/name')
        self.assertApiError('ValidationError', 400, self.make_user, 'ok', Path='no-slashes')
        self.make_user('a+b=c,d.e@f_g-h')

    def test_tags(self):
        self.make_user('t', Tags=[{'Key': 'a', 'Value': '1'}, {'Key': 'b', 'Value': '2'}])
        self.iam.tag_user(UserName='t', Tags=[{'Key': 'b', 'Value': '3'}, {'Key': 'c', 'Value': ''}])
        tags = self.iam.list_user_tags(UserName='t')
        self.assertEqual({t['Key']: t['Value'] for t in tags['Tags']}, {'a': '1', 'b': '3', 'c': ''})
        self.assertFalse(tags['IsTruncated'])
        self.iam.untag_user(UserName='t', TagKeys=['a'])
        self.assertEqual({t['Key'] for t in self.iam.list_user_tags(UserName='t')['Tags']}, {'b', 'c'})
        self.assertApiError('ValidationError', 400, self.iam.tag_user, UserName='t',
                            Tags=[{'Key': 'k' * 129, 'Value': 'v'}])
        self.assertApiError('ValidationError', 400, self.iam.tag_user, UserName='t',
                            Tags=[{'Key': 'k', 'Value': 'v' * 257}])
        self.iam.tag_user(UserName='t', Tags=[{'Key': 'k' * 128, 'Value': 'v' * 256}])
        self.assertApiError('LimitExceeded', 409, self.iam.tag_user, UserName='t',
                            Tags=[{'Key': 'n%d' % i, 'Value': 'v'} for i in range(48)])
        self.assertApiError('NoSuchEntity', 404, self.iam.tag_user, UserName='nobody',
                            Tags=[{'Key': 'a', 'Value': 'b'}])
        self.assertApiError('NoSuchEntity', 404, self.iam.list_user_tags, UserName='nobody')

    def test_delete_conflicts(self):
        self.make_user('u')
        key = self.iam.create_access_key(UserName='u')['AccessKey']['AccessKeyId']
        e = self.assertApiError('DeleteConflict', 409, self.iam.delete_user, UserName='u')
        self.assertIn('access keys', e['Error']['Message'])
        self.iam.delete_access_key(UserName='u', AccessKeyId=key)
        self.iam.put_user_policy(UserName='u', PolicyName='p', PolicyDocument=CONNECT)
        self.assertApiError('DeleteConflict', 409, self.iam.delete_user, UserName='u')
        self.iam.delete_user_policy(UserName='u', PolicyName='p')
        arn = self.iam.create_policy(PolicyName='mp', PolicyDocument=CONNECT)['Policy']['Arn']
        self.iam.attach_user_policy(UserName='u', PolicyArn=arn)
        self.assertEqual(self.iam.list_attached_user_policies(UserName='u')['AttachedPolicies'],
                         [{'PolicyName': 'mp', 'PolicyArn': arn}])
        self.assertApiError('DeleteConflict', 409, self.iam.delete_user, UserName='u')
        self.iam.detach_user_policy(UserName='u', PolicyArn=arn)
        self.assertApiError('NoSuchEntity', 404, self.iam.detach_user_policy, UserName='u', PolicyArn=arn)
        self.iam.delete_user(UserName='u')

    def test_user_inline_policies(self):
        self.make_user('u')
        self.iam.put_user_policy(UserName='u', PolicyName='connect', PolicyDocument=CONNECT)
        self.assertEqual(self.iam.list_user_policies(UserName='u')['PolicyNames'], ['connect'])
        got = self.iam.get_user_policy(UserName='u', PolicyName='connect')
        self.assertEqual(got['PolicyDocument'], json.loads(CONNECT))
        self.assertApiError('NoSuchEntity', 404, self.iam.get_user_policy, UserName='u', PolicyName='x')
        self.assertApiError('MalformedPolicyDocument', 400, self.iam.put_user_policy,
                            UserName='u', PolicyName='bad', PolicyDocument='{"Statement": [')
        self.assertApiError('MalformedPolicyDocument', 400, self.iam.put_user_policy,
                            UserName='u', PolicyName='bad', PolicyDocument=trust(ACCOUNT))
        big = json.dumps({'Version': '2012-10-17', 'Statement': [
            {'Effect': 'Allow', 'Action': 'rds-db:connect', 'Resource': 'x' * 1900}]})
        self.assertApiError('LimitExceeded', 409, self.iam.put_user_policy,
                            UserName='u', PolicyName='big', PolicyDocument=big)
        self.iam.delete_user_policy(UserName='u', PolicyName='connect')
        self.iam.put_user_policy(UserName='u', PolicyName='big', PolicyDocument=big)
        self.assertApiError('NoSuchEntity', 404, self.iam.put_user_policy,
                            UserName='nobody', PolicyName='p', PolicyDocument=CONNECT)


class AccessKeys(Base):
    def test_two_keys(self):
        self.make_user('k')
        a = self.iam.create_access_key(UserName='k')['AccessKey']
        self.assertRegex(a['AccessKeyId'], r'^AKIA[A-Z0-9]{16}$')
        self.assertEqual(len(a['SecretAccessKey']), 40)
        self.assertEqual(a['Status'], 'Active')
        b = self.iam.create_access_key(UserName='k')['AccessKey']
        self.assertApiError('LimitExceeded', 409, self.iam.create_access_key, UserName='k')
        listed = self.iam.list_access_keys(UserName='k')['AccessKeyMetadata']
        self.assertEqual({m['AccessKeyId'] for m in listed}, {a['AccessKeyId'], b['AccessKeyId']})
        self.assertTrue(all('SecretAccessKey' not in m and m['UserName'] == 'k' for m in listed))
        _, _, text = self.d.raw({'Action': 'ListAccessKeys', 'Version': '2010-05-08', 'UserName': 'k'})
        self.assertNotIn(a['SecretAccessKey'], text)
        self.assertNotIn('SecretAccessKey', text)
        self.iam.update_access_key(UserName='k', AccessKeyId=a['AccessKeyId'], Status='Inactive')
        listed = self.iam.list_access_keys(UserName='k')['AccessKeyMetadata']
        self.assertEqual({m['AccessKeyId']: m['Status'] for m in listed}[a['AccessKeyId']], 'Inactive')
        self.iam.delete_access_key(UserName='k', AccessKeyId=a['AccessKeyId'])
        self.assertApiError('NoSuchEntity', 404, self.iam.delete_access_key,
                            UserName='k', AccessKeyId=a['AccessKeyId'])
        self.iam.create_access_key(UserName='k')
        self.assertApiError('NoSuchEntity', 404, self.iam.create_access_key, UserName='nobody')
        # secrets never reach the state, the request log or the log file
        state = json.dumps(self.d.control('state'))
        reqs = json.dumps(self.d.control('requests'))
        with open(self.d.log) as f:
            log = f.read()
        for text in (state, reqs, log):
            self.assertNotIn(a['SecretAccessKey'], text)
            self.assertNotIn(b['SecretAccessKey'], text)
            self.assertNotIn(SECRET, text)
            self.assertNotIn('Signature=', text)


class Roles(Base):
    def raw_role_doc(self, name):
        st, _, text = self.d.raw({'Action': 'GetRole', 'Version': '2010-05-08', 'RoleName': name})
        self.assertEqual(st, 200)
        return re.search(r'<AssumeRolePolicyDocument>([^<]*)</AssumeRolePolicyDocument>', text).group(1)

    def test_create_get_list_delete(self):
        r = self.make_role('Tenant-T1', Path='/tenancy/', Description='d',
                           Tags=[{'Key': 'tenant', 'Value': 't1'}])
        self.assertRegex(r['RoleId'], r'^AROA[A-Z0-9]{16}$')
        self.assertEqual(r['Arn'], f'arn:aws:iam::{ACCOUNT}:role/tenancy/Tenant-T1')
        self.assertEqual(r['Tags'], [{'Key': 'tenant', 'Value': 't1'}])
        g = self.iam.get_role(RoleName='tenant-t1')['Role']
        self.assertEqual((g['RoleName'], g['RoleId'], g['Description'], g['MaxSessionDuration']),
                         ('Tenant-T1', r['RoleId'], 'd', 3600))
        self.assertEqual(g['Tags'], [{'Key': 'tenant', 'Value': 't1'}])
        self.assertApiError('EntityAlreadyExists', 409, self.make_role, 'TENANT-t1')
        self.make_role('other')
        self.assertEqual([x['RoleName'] for x in self.iam.list_roles()['Roles']], ['other', 'Tenant-T1'])
        listed = self.iam.list_roles(PathPrefix='/tenancy/')['Roles']
        self.assertEqual([x['RoleName'] for x in listed], ['Tenant-T1'])
        self.assertIn('AssumeRolePolicyDocument', listed[0])
        self.iam.tag_role(RoleName='Tenant-T1', Tags=[{'Key': 'x', 'Value': 'y'}])
        self.assertEqual({t['Key'] for t in self.iam.list_role_tags(RoleName='Tenant-T1')['Tags']},
                         {'tenant', 'x'})
        self.iam.untag_role(RoleName='Tenant-T1', TagKeys=['x'])
        self.assertEqual([t['Key'] for t in self.iam.list_role_tags(RoleName='Tenant-T1')['Tags']], ['tenant'])
        self.iam.delete_role(RoleName='Tenant-T1')
        self.assertApiError('NoSuchEntity', 404, self.iam.get_role, RoleName='Tenant-T1')
        self.assertApiError('ValidationError', 400, self.make_role, 'r' * 65)

    def test_principal_rewriting_and_url_encoding(self):
        self.make_user('svc')
        doc = {'Statement': [{'Principal': {'AWS': [ACCOUNT, f'arn:aws:iam::{ACCOUNT}:user/svc']},
                              'Action': 'sts:AssumeRole', 'Effect': 'Allow',
                              'Condition': {'StringEquals': {'sts:ExternalId': 'e x/t'}}}],
               'Version': '2012-10-17'}
        self.make_role('r', json.dumps(doc, indent=4))
        got = self.iam.get_role(RoleName='r')['Role']['AssumeRolePolicyDocument']
        self.assertEqual(got['Statement'][0]['Principal']['AWS'],
                         [f'arn:aws:iam::{ACCOUNT}:root', f'arn:aws:iam::{ACCOUNT}:user/svc'])
        raw = self.raw_role_doc('r')
        self.assertNotIn('{', raw)
        self.assertNotIn('"', raw)
        text = urllib.parse.unquote(raw)
        self.assertNotIn('\n', text)
        self.assertLess(text.index('"Statement"'), text.index('"Version"'))   # reordered
        self.assertLess(text.index('"Action"'), text.index('"Principal"'))
        self.assertEqual(json.loads(text)['Statement'][0]['Condition'],
                         {'StringEquals': {'sts:ExternalId': 'e x/t'}})
        # a single principal stays a string; a bare account id becomes root
        self.make_role('r2', trust(ACCOUNT))
        got = self.iam.get_role(RoleName='r2')['Role']['AssumeRolePolicyDocument']
        self.assertEqual(got['Statement'][0]['Principal']['AWS'], f'arn:aws:iam::{ACCOUNT}:root')
        # other accounts, services and '*' pass
        self.make_role('r3', json.dumps({'Version': '2012-10-17', 'Statement': [
            {'Effect': 'Allow', 'Principal': {'Service': 'rds.amazonaws.com',
                                              'AWS': 'arn:aws:iam::210987654321:role/x'},
             'Action': 'sts:AssumeRole'}]}))

    def test_invalid_principals(self):
        e = self.assertApiError('MalformedPolicyDocument', 400, self.make_role, 'r',
                                trust(f'arn:aws:iam::{ACCOUNT}:user/ghost'))
        self.assertIn('Invalid principal in policy', e['Error']['Message'])
        self.assertApiError('MalformedPolicyDocument', 400, self.make_role, 'r', trust('not-an-arn'))
        self.make_user('ghost', Path='/p/')
        self.assertApiError('MalformedPolicyDocument', 400, self.make_role, 'r',
                            trust(f'arn:aws:iam::{ACCOUNT}:user/ghost'))     # wrong path
        self.make_role('r', trust(f'arn:aws:iam::{ACCOUNT}:user/p/ghost'))
        self.assertApiError('MalformedPolicyDocument', 400, self.iam.update_assume_role_policy,
                            RoleName='r', PolicyDocument=trust(f'arn:aws:iam::{ACCOUNT}:role/nope'))
        self.assertApiError('MalformedPolicyDocument', 400, self.make_role, 'bad', '{"Version":')
        self.assertApiError('MalformedPolicyDocument', 400, self.make_role, 'bad', json.dumps(
            {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole'}]}))
        self.assertApiError('NoSuchEntity', 404, self.iam.update_assume_role_policy,
                            RoleName='nope', PolicyDocument=trust(ACCOUNT))

    def test_deleted_principal_shows_unique_id(self):
        u = self.make_user('svc')
        peer = self.make_role('peer')
        self.make_role('r', trust(f'arn:aws:iam::{ACCOUNT}:user/svc', f'arn:aws:iam::{ACCOUNT}:role/peer',
                                  ACCOUNT))
        self.iam.delete_user(UserName='svc')
        self.iam.delete_role(RoleName='peer')
        aws = self.iam.get_role(RoleName='r')['Role']['AssumeRolePolicyDocument']['Statement'][0]['Principal']['AWS']
        self.assertEqual(aws, [u['UserId'], peer['RoleId'], f'arn:aws:iam::{ACCOUNT}:root'])
        self.make_user('svc')       # a new svc is another principal
        aws = self.iam.get_role(RoleName='r')['Role']['AssumeRolePolicyDocument']['Statement'][0]['Principal']['AWS']
        self.assertEqual(aws[0], u['UserId'])
        state = self.d.control('state')
        self.assertEqual(state['roles'][0]['trust']['Statement'][0]['Principal']['AWS'][0], u['UserId'])
        # writing the stale id back is refused, as AWS does
        self.assertApiError('MalformedPolicyDocument', 400, self.iam.update_assume_role_policy,
                            RoleName='r', PolicyDocument=trust(u['UserId']))
        self.iam.update_assume_role_policy(RoleName='r', PolicyDocument=trust(f'arn:aws:iam::{ACCOUNT}:user/svc'))
        aws = self.iam.get_role(RoleName='r')['Role']['AssumeRolePolicyDocument']['Statement'][0]['Principal']['AWS']
        self.assertEqual(aws, f'arn:aws:iam::{ACCOUNT}:user/svc')

    def test_trust_policy_size(self):
        def doc(n):
            base = json.loads(trust(ACCOUNT))
            base['Statement'][0]['Condition'] = {'StringEquals': {'sts:ExternalId': 'x' * n}}
            return json.dumps(base, indent=8)       # whitespace does not count
        small = len(json.dumps(json.loads(doc(0)), separators=(',', ':')))
        self.make_role('fits', doc(2048 - small))
        e = self.assertApiError('LimitExceeded', 409, self.make_role, 'big', doc(2049 - small))
        self.assertIn('ACLSizePerRole: 2048', e['Error']['Message'])
        self.assertApiError('LimitExceeded', 409, self.iam.update_assume_role_policy,
                            RoleName='fits', PolicyDocument=doc(2049 - small))
        self.d.control('quota', {'trust_policy_size': 4096})
        self.make_role('big', doc(2049 - small))
        self.d.control('quota', {'trust_policy_size': 100})
        self.assertApiError('LimitExceeded', 409, self.make_role, 'small', doc(100))

    def test_role_inline_and_attached(self):
        self.make_role('r')
        self.iam.put_role_policy(RoleName='r', PolicyName='connect', PolicyDocument=CONNECT)
        self.iam.put_role_policy(RoleName='r', PolicyName='CONNECT', PolicyDocument=CONNECT)   # replaces
        self.assertEqual(self.iam.list_role_policies(RoleName='r')['PolicyNames'], ['CONNECT'])
        got = self.iam.get_role_policy(RoleName='r', PolicyName='connect')
        self.assertEqual(got['PolicyDocument'], json.loads(CONNECT))
        st, _, text = self.d.raw({'Action': 'GetRolePolicy', 'Version': '2010-05-08',
                                  'RoleName': 'r', 'PolicyName': 'connect'})
        raw = re.search(r'<PolicyDocument>([^<]*)</PolicyDocument>', text).group(1)
        self.assertTrue(raw.startswith('%7B%22'), raw)
        self.assertApiError('DeleteConflict', 409, self.iam.delete_role, RoleName='r')
        self.iam.delete_role_policy(RoleName='r', PolicyName='CONNECT')
        self.assertApiError('NoSuchEntity', 404, self.iam.delete_role_policy, RoleName='r', PolicyName='x')
        arn = self.iam.create_policy(PolicyName='mp', PolicyDocument=CONNECT)['Policy']['Arn']
        self.iam.attach_role_policy(RoleName='r', PolicyArn=arn)
        self.assertEqual(self.iam.list_attached_role_policies(RoleName='r')['AttachedPolicies'],
                         [{'PolicyName': 'mp', 'PolicyArn': arn}])
        self.assertApiError('DeleteConflict', 409, self.iam.delete_role, RoleName='r')
        self.assertApiError('NoSuchEntity', 404, self.iam.attach_role_policy, RoleName='r',
                            PolicyArn=f'arn:aws:iam::{ACCOUNT}:policy/none')
        self.iam.detach_role_policy(RoleName='r', PolicyArn=arn)
        self.iam.delete_role(RoleName='r')
        big = json.dumps({'Version': '2012-10-17', 'Statement': [
            {'Effect': 'Allow', 'Action': 'rds-db:connect', 'Resource': 'x' * 6000}]})
        self.make_role('r')
        self.iam.put_role_policy(RoleName='r', PolicyName='a', PolicyDocument=big)
        self.assertApiError('LimitExceeded', 409, self.iam.put_role_policy,
                            RoleName='r', PolicyName='b', PolicyDocument=big)
        self.iam.put_role_policy(RoleName='r', PolicyName='a', PolicyDocument=big)


class ManagedPolicies(Base):
    def test_versions_and_conflicts(self):
        p = self.iam.create_policy(PolicyName='tenancy-connect', Path='/tenancy/',
                                   PolicyDocument=CONNECT)['Policy']
        self.assertEqual(p['Arn'], f'arn:aws:iam::{ACCOUNT}:policy/tenancy/tenancy-connect')
        self.assertEqual(p['DefaultVersionId'], 'v1')
        arn = p['Arn']
        self.assertApiError('EntityAlreadyExists', 409, self.iam.create_policy,
                            PolicyName='TENANCY-connect', PolicyDocument=CONNECT)
        self.assertApiError('MalformedPolicyDocument', 400, self.iam.create_policy,
                            PolicyName='bad', PolicyDocument='nope')
        for i in range(2, 6):
            v = self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=CONNECT,
                                               SetAsDefault=(i == 3))['PolicyVersion']
            self.assertEqual(v['VersionId'], 'v%d' % i)
        e = self.assertApiError('LimitExceeded', 409, self.iam.create_policy_version,
                                PolicyArn=arn, PolicyDocument=CONNECT)
        self.assertIn('5 versions', e['Error']['Message'])
        vs = self.iam.list_policy_versions(PolicyArn=arn)
        self.assertFalse(vs['IsTruncated'])
        self.assertEqual({v['VersionId']: v['IsDefaultVersion'] for v in vs['Versions']},
                         {'v1': False, 'v2': False, 'v3': True, 'v4': False, 'v5': False})
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)['Policy']['DefaultVersionId'], 'v3')
        self.assertEqual(self.iam.get_policy_version(PolicyArn=arn, VersionId='v2')['PolicyVersion']['Document'],
                         json.loads(CONNECT))
        self.assertApiError('DeleteConflict', 409, self.iam.delete_policy_version, PolicyArn=arn, VersionId='v3')
        self.assertApiError('DeleteConflict', 409, self.iam.delete_policy, PolicyArn=arn)
        for v in ('v1', 'v2', 'v4', 'v5'):
            self.iam.delete_policy_version(PolicyArn=arn, VersionId=v)
        self.assertApiError('NoSuchEntity', 404, self.iam.delete_policy_version, PolicyArn=arn, VersionId='v1')
        self.assertEqual(self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=CONNECT)
                         ['PolicyVersion']['VersionId'], 'v6')
        self.iam.delete_policy_version(PolicyArn=arn, VersionId='v6')
        self.make_role('r')
        self.iam.attach_role_policy(RoleName='r', PolicyArn=arn)
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)['Policy']['AttachmentCount'], 1)
        e = self.assertApiError('DeleteConflict', 409, self.iam.delete_policy, PolicyArn=arn)
        self.assertIn('attached', e['Error']['Message'])
        self.iam.detach_role_policy(RoleName='r', PolicyArn=arn)
        self.iam.delete_policy(PolicyArn=arn)
        self.assertApiError('NoSuchEntity', 404, self.iam.delete_policy, PolicyArn=arn)
        self.assertEqual(self.iam.list_policies(Scope='Local')['Policies'], [])


class Quotas(Base):
    def summary(self):
        return self.iam.get_account_summary()['SummaryMap']

    def test_summary_and_limits(self):
        s = self.summary()
        for k, v in {'Users': 0, 'UsersQuota': 5000, 'Roles': 0, 'RolesQuota': 1000,
                     'Policies': 0, 'PoliciesQuota': 1500, 'AccessKeysPerUserQuota': 2}.items():
            self.assertEqual(s[k], v, k)
        self.d.control('quota', {'UsersQuota': 2, 'RolesQuota': 1, 'PoliciesQuota': 1})
        self.make_user('a')
        self.make_user('b')
        e = self.assertApiError('LimitExceeded', 409, self.make_user, 'c')
        self.assertIn('UsersPerAccount', e['Error']['Message'])
        self.make_role('r')
        self.assertApiError('LimitExceeded', 409, self.make_role, 's')
        self.iam.create_policy(PolicyName='p', PolicyDocument=CONNECT)
        self.assertApiError('LimitExceeded', 409, self.iam.create_policy, PolicyName='q', PolicyDocument=CONNECT)
        s = self.summary()
        self.assertEqual((s['Users'], s['UsersQuota'], s['Roles'], s['RolesQuota'], s['Policies']), (2, 2, 1, 1, 1))
        self.iam.delete_user(UserName='a')
        self.make_user('c')
        self.d.control('quota', {'AttachedPoliciesPerRoleQuota': 1, 'PoliciesQuota': 2})
        p1 = self.iam.list_policies(Scope='Local')['Policies'][0]['Arn']
        p2 = self.iam.create_policy(PolicyName='q', PolicyDocument=CONNECT)['Policy']['Arn']
        self.iam.attach_role_policy(RoleName='r', PolicyArn=p1)
        self.iam.attach_role_policy(RoleName='r', PolicyArn=p1)      # again: no change
        self.assertApiError('LimitExceeded', 409, self.iam.attach_role_policy, RoleName='r', PolicyArn=p2)

    def test_pagination(self):
        self.d.control('quota', {'list_page_size': 2})
        for i in range(5):
            self.make_user('u%d' % i)
        first = self.iam.list_users()
        self.assertTrue(first['IsTruncated'])
        self.assertEqual(len(first['Users']), 2)
        names = [u['UserName'] for page in self.iam.get_paginator('list_users').paginate()
                 for u in page['Users']]
        self.assertEqual(names, ['u0', 'u1', 'u2', 'u3', 'u4'])


class Faults(Base):
    def fault(self, **kw):
        self.d.control('fault', kw)

    def test_error_kinds(self):
        for kind, code, status in (('throttle', 'Throttling', 400), ('500', 'ServiceFailure', 500),
                                   ('unavailable', 'ServiceUnavailable', 503),
                                   ('concurrent', 'ConcurrentModification', 409)):
            self.fault(action='CreateRole', kind=kind, count=2)
            self.iam.list_roles()                     # other actions are not hit
            self.assertApiError(code, status, self.make_role, 'r')
            self.assertApiError(code, status, self.make_role, 'r')
            self.make_role('r')
            self.iam.delete_role(RoleName='r')
        self.fault(action='*', kind='throttle')
        e = self.assertApiError('Throttling', 400, self.sts.get_caller_identity)
        self.assertEqual(e['Error']['Message'], 'Rate exceeded')
        self.sts.get_caller_identity()
        _, _, text = self.d.raw({'Action': 'GetUser', 'Version': '2010-05-08'})
        self.fault(action='GetUser', kind='500')
        st, _, text = self.d.raw({'Action': 'GetUser', 'Version': '2010-05-08'})
        self.assertEqual(st, 500)
        self.assertIn('<Type>Receiver</Type>', text)
        reqs = self.d.control('requests')
        self.assertEqual((reqs[-1]['action'], reqs[-1]['status'], reqs[-1]['code']), ('GetUser', 500, 'ServiceFailure'))

    def test_slow(self):
        self.fault(action='GetCallerIdentity', kind='slow', seconds=1.0)
        t = time.monotonic()
        self.sts.get_caller_identity()
        self.assertGreaterEqual(time.monotonic() - t, 1.0)
        t = time.monotonic()
        self.sts.get_caller_identity()
        self.assertLess(time.monotonic() - t, 0.9)

    def test_drop(self):
        self.fault(action='CreateUser', kind='drop', after=False)
        with self.assertRaises(botocore.exceptions.BotoCoreError):
            self.make_user('lost')
        self.assertApiError('NoSuchEntity', 404, self.iam.get_user, UserName='lost')
        self.fault(action='CreateUser', kind='drop', after=True)
        with self.assertRaises(botocore.exceptions.BotoCoreError):
            self.make_user('made')
        self.assertEqual(self.iam.get_user(UserName='made')['User']['UserName'], 'made')
        self.assertApiError('EntityAlreadyExists', 409, self.make_user, 'made')   # the retry
        reqs = [r for r in self.d.control('requests') if r['action'] == 'CreateUser']
        self.assertEqual([(r['code'], r.get('applied')) for r in reqs],
                         [('drop', False), ('drop', True), ('EntityAlreadyExists', None)])

    def test_invisible(self):
        self.fault(action='CreateUser', kind='invisible', seconds=1.5)
        self.fault(action='CreateRole', kind='invisible', seconds=1.5)
        self.fault(action='CreateAccessKey', kind='invisible', seconds=1.5)
        self.make_user('late')
        self.make_role('slow-role')
        key = self.iam.create_access_key(UserName='late')['AccessKey']['AccessKeyId']
        t = time.monotonic()
        self.make_user('prompt')        # the fault was for one request only
        self.iam.get_user(UserName='prompt')
        self.assertApiError('NoSuchEntity', 404, self.iam.get_user, UserName='late')
        self.assertApiError('NoSuchEntity', 404, self.iam.get_role, RoleName='slow-role')
        self.assertEqual([u['UserName'] for u in self.iam.list_users()['Users']], ['prompt'])
        self.assertEqual(self.iam.list_roles()['Roles'], [])
        self.assertApiError('MalformedPolicyDocument', 400, self.make_role, 'r',
                            trust(f'arn:aws:iam::{ACCOUNT}:user/late'))
        self.assertApiError('EntityAlreadyExists', 409, self.make_user, 'late')   # it does exist
        time.sleep(max(0, 1.6 - (time.monotonic() - t)))
        self.assertEqual(self.iam.get_user(UserName='late')['User']['UserName'], 'late')
        self.iam.get_role(RoleName='slow-role')
        self.assertEqual([k['AccessKeyId'] for k in self.iam.list_access_keys(UserName='late')['AccessKeyMetadata']],
                         [key])
        self.make_role('r', trust(f'arn:aws:iam::{ACCOUNT}:user/late'))

    def test_fault_validation(self):
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.fault(action='CreateRole', kind='explode')
        self.assertEqual(cm.exception.code, 400)
        with self.assertRaises(urllib.error.HTTPError):
            self.fault(action='GetUser', kind='invisible')


class Signatures(Base):
    P = {'Action': 'ListUsers', 'Version': '2010-05-08'}

    def refused(self, code, status=403, **kw):
        st, hdrs, text = self.d.raw(dict(self.P), **kw)
        self.assertEqual((st, code_of(text)), (status, code), text)
        self.assertTrue(hdrs['x-amzn-RequestId'])
        return text

    def test_good_raw_request(self):
        st, _, text = self.d.raw(dict(self.P))
        self.assertEqual(st, 200, text)
        st, _, text = self.d.raw(dict(self.P), content_sha=hashlib.sha256(
            urllib.parse.urlencode(self.P).encode()).hexdigest())
        self.assertEqual(st, 200, text)

    def test_wrong_secret(self):
        self.refused('SignatureDoesNotMatch', secret=SECRET[:-1] + 'X')
        bad = self.d.client('iam', secret='wrong' + SECRET[5:])
        self.assertApiError('SignatureDoesNotMatch', 403, bad.list_users)

    def test_unknown_key(self):
        self.refused('InvalidClientTokenId', key='AKIAUNKNOWNKEY000000')
        bad = self.d.client('sts', 'eu-west-1', key='AKIAUNKNOWNKEY000000')
        self.assertApiError('InvalidClientTokenId', 403, bad.get_caller_identity)

    def test_tampered_body(self):
        tampered = urllib.parse.urlencode({'Action': 'ListUsers', 'Version': '2010-05-08',
                                           'PathPrefix': '/x/'}).encode()
        self.refused('SignatureDoesNotMatch', body=tampered)
        p = dict(self.P, UserName='victim')
        p['Action'] = 'DeleteUser'
        self.make_user('victim')
        st, _, text = self.d.raw(p, body=urllib.parse.urlencode(dict(p, UserName='Victim')).encode())
        self.assertEqual((st, code_of(text)), (403, 'SignatureDoesNotMatch'))
        self.iam.get_user(UserName='victim')

    def test_content_sha_mismatch(self):
        self.refused('SignatureDoesNotMatch', content_sha='0' * 64)

    def test_wrong_service_and_region(self):
        self.refused('SignatureDoesNotMatch', service='sts')
        self.refused('SignatureDoesNotMatch', region='eu-central-1')
        st, _, text = self.d.raw({'Action': 'GetCallerIdentity', 'Version': '2011-06-15'}, 'iam', 'us-east-1')
        self.assertEqual((st, code_of(text)), (403, 'SignatureDoesNotMatch'))
        st, _, text = self.d.raw({'Action': 'DescribeDBClusters', 'Version': '2014-10-31'}, 'rds', 'ap-south-1')
        self.assertEqual(st, 200)

    def test_stale_and_future_dates(self):
        old = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() - 16 * 60))
        text = self.refused('SignatureDoesNotMatch', stamp=old)
        self.assertIn('Signature expired', text)
        future = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() + 16 * 60))
        self.refused('SignatureDoesNotMatch', stamp=future)
        ok = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() - 10 * 60))
        self.assertEqual(self.d.raw(dict(self.P), stamp=ok)[0], 200)

    def test_header_problems(self):
        self.refused('MissingAuthenticationToken', drop_headers=('Authorization',))
        self.refused('IncompleteSignature', 400, set_headers={'Authorization': 'AWS4-HMAC-SHA256 Credential=x'})
        self.refused('IncompleteSignature', 400,
                     set_headers={'Authorization': 'AWS4-HMAC-SHA256 Credential=%s/20240101/us-east-1/iam, '
                                  'SignedHeaders=host;x-amz-date, Signature=%s' % (AKID, '0' * 64)})
        # x-amz-date must be signed: drop it after signing and send Date instead
        self.refused('IncompleteSignature', 400, drop_headers=('X-Amz-Date',))
        # signed with a header the request does not carry
        self.refused('SignatureDoesNotMatch', signed_extra={'X-Extra': 'a'}, drop_headers=('X-Extra',))
        # a signed extra header is fine when present, and must keep its value
        self.assertEqual(self.d.raw(dict(self.P), signed_extra={'X-Extra': 'a'})[0], 200)
        self.refused('SignatureDoesNotMatch', signed_extra={'X-Extra': 'a'}, set_headers={'X-Extra': 'b'})
        # a token sent where none is configured
        self.refused('InvalidClientTokenId', token='sometoken')

    def test_host_must_be_signed(self):
        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        body = urllib.parse.urlencode(self.P).encode()
        req = AWSRequest(method='POST', url='http://127.0.0.1:%d/' % self.d.port, data=body,
                         headers={'X-Amz-Date': stamp})
        req.context['timestamp'] = stamp
        auth = SigV4Auth(Credentials(AKID, SECRET), 'iam', 'us-east-1')
        auth.headers_to_sign = lambda r: HTTPHeaders.from_dict({'x-amz-date': stamp})
        sig = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
        conn = http.client.HTTPConnection('127.0.0.1', self.d.port, timeout=10)
        conn.request('POST', '/', body, {
            'Content-Type': 'application/x-www-form-urlencoded', 'X-Amz-Date': stamp,
            'Authorization': 'AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=x-amz-date, Signature=%s'
                             % (auth.scope(req), sig)})
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        self.assertEqual((resp.status, code_of(text)), (403, 'SignatureDoesNotMatch'))

    def test_refusals_are_logged_and_change_nothing(self):
        self.d.control('requests/clear', {})
        self.d.raw({'Action': 'CreateUser', 'Version': '2010-05-08', 'UserName': 'x'}, secret='nope')
        reqs = self.d.control('requests')
        self.assertEqual([(r['action'], r['service'], r['status'], r['code']) for r in reqs],
                         [('CreateUser', 'iam', 403, 'SignatureDoesNotMatch')])
        self.assertEqual(reqs[0]['params'], {'UserName': 'x'})
        self.assertEqual(self.d.control('state')['users'], [])


class SessionToken(unittest.TestCase):
    def test_token_required(self):
        d = Double('--access-key', 'ASIATEMPDOUBLE000001', '--secret-key', SECRET,
                   '--session-token', 'FwoGZXIvYXdzE+/token==')
        try:
            good = d.client('iam', key='ASIATEMPDOUBLE000001', token='FwoGZXIvYXdzE+/token==')
            self.assertFalse(good.list_users()['IsTruncated'])
            d.client('sts', 'eu-central-1', key='ASIATEMPDOUBLE000001',
                     token='FwoGZXIvYXdzE+/token==').get_caller_identity()
            for bad in (d.client('iam', key='ASIATEMPDOUBLE000001'),
                        d.client('iam', key='ASIATEMPDOUBLE000001', token='other')):
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    bad.list_users()
                self.assertEqual(cm.exception.response['Error']['Code'], 'InvalidClientTokenId')
            with open(d.log) as f:
                self.assertNotIn('token==', f.read())
            self.assertNotIn('token==', json.dumps(d.control('requests')))
        finally:
            d.stop()


class Control(Base):
    def test_plant_state_requests_reset(self):
        r = self.d.control('plant', {'kind': 'role', 'name': 'tenant-t1'})
        self.assertTrue(r['id'].startswith('AROA'))
        self.assertApiError('EntityAlreadyExists', 409, self.make_role, 'Tenant-T1',
                            Tags=[{'Key': 'tenant', 'Value': 't1'}])
        self.assertNotIn('Tags', self.iam.get_role(RoleName='tenant-t1')['Role'])
        self.d.control('plant', {'kind': 'user', 'name': 'u', 'tags': {'a': 'b'}})
        k = self.d.control('plant', {'kind': 'access_key', 'user': 'u'})
        self.assertTrue(k['access_key_id'].startswith('AKIA'))
        self.d.control('plant', {'kind': 'attached_policy', 'role': 'tenant-t1',
                                 'policy_arn': 'arn:aws:iam::aws:policy/ReadOnlyAccess'})
        self.assertEqual(self.iam.list_attached_role_policies(RoleName='tenant-t1')['AttachedPolicies'],
                         [{'PolicyName': 'ReadOnlyAccess', 'PolicyArn': 'arn:aws:iam::aws:policy/ReadOnlyAccess'}])
        self.iam.put_role_policy(RoleName='tenant-t1', PolicyName='c', PolicyDocument=CONNECT)
        s = self.d.control('state')
        self.assertEqual(s['roles'][0]['name'], 'tenant-t1')
        self.assertEqual(s['roles'][0]['inline_policies'], {'c': json.loads(CONNECT)})
        self.assertEqual(s['roles'][0]['trust']['Statement'][0]['Principal']['AWS'], f'arn:aws:iam::{ACCOUNT}:root')
        self.assertEqual(s['users'][0]['tags'], {'a': 'b'})
        self.assertEqual(s['users'][0]['access_keys'][0]['id'], k['access_key_id'])
        self.assertNotIn(k['secret_access_key'], json.dumps(s))
        self.assertEqual(s['quotas']['UsersQuota'], 5000)
        reqs = self.d.control('requests')
        self.assertEqual(reqs[-1]['action'], 'PutRolePolicy')
        self.assertEqual(reqs[-1]['service'], 'iam')
        self.assertEqual(reqs[-1]['params']['RoleName'], 'tenant-t1')
        self.assertEqual((reqs[-1]['status'], reqs[-1]['code']), (200, None))
        self.assertEqual((reqs[0]['status'], reqs[0]['code']), (409, 'EntityAlreadyExists'))
        self.d.control('requests/clear', {})
        self.assertEqual(self.d.control('requests'), [])
        with open(self.d.log) as f:
            self.assertIn('PutRolePolicy 200 -', f.read())
        self.d.control('reset', {})
        self.assertEqual(self.d.control('state')['roles'], [])
        self.assertApiError('NoSuchEntity', 404, self.iam.get_role, RoleName='tenant-t1')


if __name__ == '__main__':
    unittest.main(verbosity=1)
