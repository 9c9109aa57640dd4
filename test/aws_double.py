#!/usr/bin/python3
"""A strict test double of AWS IAM, STS and RDS (the Query API).

Listens on 127.0.0.1 (--port, 0 for an ephemeral one, written to --portfile
once it is listening); one URL serves all three services, told apart by the
request's Action and Version.  Every request must carry a SigV4 signature
made with --access-key/--secret-key (and --session-token if given) that
equals the one botocore computes for it, scoped to the action's service
(and to us-east-1 for IAM), dated within 15 minutes.

IAM state lives in memory and follows IAM's rules: case-insensitive unique
names, delete conflicts, two access keys per user, five policy versions,
quotas, trust policy principals that must exist, are rewritten (a bare
account id becomes its root ARN) and show the unique id of a principal once
it is deleted, policy documents returned URL-encoded with their keys
reordered.  RDS knows the clusters given with --cluster IDENT=RESOURCEID.

Unsigned JSON control endpoints under /_control/ (fault, state, requests,
requests/clear, plant, quota, cluster, reset) inject faults (throttling,
5xx, dropped connections, slow answers, eventual consistency, an answer
garbled on its way: HTTP 200, the action done, a body cut short that is no
XML document) and let a test
inspect and arrange the state.  --log gets one line per API request:
action, HTTP status, error code; never a secret.
"""
import argparse
import base64
import calendar
import copy
import hashlib
import http.server
import json
import os
import re
import secrets
import socket
import string
import sys
import threading
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

IAM, STS, RDS = 'iam', 'sts', 'rds'
VERSIONS = {IAM: '2010-05-08', STS: '2011-06-15', RDS: '2014-10-31'}
NAMESPACES = {
    IAM: 'https://iam.amazonaws.com/doc/2010-05-08/',
    STS: 'https://sts.amazonaws.com/doc/2011-06-15/',
    RDS: 'http://rds.amazonaws.com/doc/2014-10-31/',
}
DEFAULT_ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE'
DEFAULT_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
ADMIN_NAME = 'tenancy-admin'
ADMIN_ID = 'AIDATENANCYADMIN0DBL'
CLOCK_SKEW = 15 * 60
SIGV4_TIMESTAMP = '%Y%m%dT%H%M%SZ'
ALNUM = string.ascii_uppercase + string.digits
SECRET_CHARS = string.ascii_letters + string.digits + '+/'

DEFAULT_QUOTAS = {
    'UsersQuota': 5000,
    'RolesQuota': 1000,
    'PoliciesQuota': 1500,
    'AccessKeysPerUserQuota': 2,
    'VersionsPerPolicyQuota': 5,
    'AttachedPoliciesPerRoleQuota': 10,
    'AttachedPoliciesPerUserQuota': 10,
    'AssumeRolePolicySizeQuota': 2048,
    'RolePolicySizeQuota': 10240,
    'UserPolicySizeQuota': 2048,
    'PolicySizeQuota': 6144,
    'TagsPerEntityQuota': 50,
    'ListPageSize': 100,
}
QUOTA_ALIASES = {
    'trust_policy_size': 'AssumeRolePolicySizeQuota',
    'role_policy_size': 'RolePolicySizeQuota',
    'user_policy_size': 'UserPolicySizeQuota',
    'managed_policy_size': 'PolicySizeQuota',
    'list_page_size': 'ListPageSize',
}
NAME_RE = re.compile(r'[\w+=,.@-]+', re.ASCII)
PATH_RE = re.compile(r'(/[\x21-\x7e]*/|/)')
TAG_RE = re.compile(r'[\w\s.:/=+\-@]*')
FAULT_KINDS = ('throttle', '500', 'unavailable', 'concurrent', 'slow', 'drop',
               'invisible', 'garbled')
CREATING_ACTIONS = ('CreateUser', 'CreateRole', 'CreateAccessKey')


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def validation(field, value, constraint):
    shown = 'null' if value is None else "'%s'" % value
    return ApiError(400, 'ValidationError',
                    f'1 validation error detected: Value {shown} at '
                    f"'{field}' failed to satisfy constraint: {constraint}")


def now_iso(t=None):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t if t is not None else time.time()))


def rand_id(prefix, n=16):
    return prefix + ''.join(secrets.choice(ALNUM) for _ in range(n))


def strip_ws(text):
    """The document with whitespace outside JSON strings removed."""
    out, in_str, esc = [], False, False
    for c in text:
        if in_str:
            out.append(c)
            if esc:
                esc = False
            elif c == '\\':
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif not c.isspace():
            out.append(c)
    return ''.join(out)


def x(tag, value):
    """One XML element; value is a string, a bool, an int, or already XML (a list)."""
    if value is None:
        return ''
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    elif isinstance(value, int):
        value = str(value)
    elif isinstance(value, list):
        return f'<{tag}>' + ''.join(value) + f'</{tag}>'
    else:
        value = escape(value)
    return f'<{tag}>{value}</{tag}>'


def members(items, tag='member'):
    return [f'<{tag}>' + ''.join(i) + f'</{tag}>' if isinstance(i, list)
            else x(tag, i) for i in items]


def tags_xml(tags):
    return members([[x('Key', k), x('Value', v)] for k, v in tags.items()])


class State:
    """All of IAM's state; every method runs under self.lock."""

    def __init__(self, account, clusters):
        self.lock = threading.RLock()
        self.account = account
        self.initial_clusters = dict(clusters)
        self.requests = []
        self.reset()

    def reset(self):
        self.clusters = dict(self.initial_clusters)
        self.users = {}      # lower name -> dict
        self.roles = {}      # lower name -> dict
        self.policies = {}   # lower name -> dict
        self.faults = []
        self.quotas = dict(DEFAULT_QUOTAS)

    # ---- lookups ----
    @staticmethod
    def visible(entity):
        return entity.get('visible_at', 0) <= time.time()

    def user(self, name, for_read=False):
        u = self.users.get((name or '').lower())
        if u is None or (for_read and not self.visible(u)):
            raise ApiError(404, 'NoSuchEntity', f'The user with name {name} cannot be found.')
        return u

    def role(self, name, for_read=False):
        r = self.roles.get((name or '').lower())
        if r is None or (for_read and not self.visible(r)):
            raise ApiError(404, 'NoSuchEntity', f'The role with name {name} cannot be found.')
        return r

    def policy_by_arn(self, arn):
        for p in self.policies.values():
            if p['Arn'] == arn:
                return p
        return None

    def attachment_count(self, arn):
        return sum(arn in e['attached'] for e in
                   list(self.users.values()) + list(self.roles.values()))

    def policy_name_from_arn(self, arn):
        p = self.policy_by_arn(arn)
        return p['PolicyName'] if p else arn.rsplit('/', 1)[-1]

    # ---- principals ----
    def principal_entity(self, arn):
        """The user or role of this account an ARN names, or None."""
        m = re.fullmatch(r'arn:aws:iam::(\d{12}):(user|role)(/.*)', arn)
        if not m or m.group(1) != self.account:
            return None
        kind, rest = m.group(2), m.group(3)
        path, name = rest.rsplit('/', 1)
        table = self.users if kind == 'user' else self.roles
        e = table.get(name.lower())
        if e is None or e['Path'] != path + '/' or not self.visible(e):
            return None
        return e

    def rewrite_principal(self, p):
        """A principal string as IAM stores it, or ApiError if invalid."""
        bad = ApiError(400, 'MalformedPolicyDocument',
                       f'Invalid principal in policy: "AWS":"{p}"')
        if not isinstance(p, str):
            raise bad
        if p == '*':
            return p
        if re.fullmatch(r'\d{12}', p):
            return f'arn:aws:iam::{p}:root'
        if re.fullmatch(r'A(IDA|ROA)[A-Z0-9]+', p):
            for e in list(self.users.values()) + list(self.roles.values()):
                if e['Id'] == p and self.visible(e):
                    return e['Arn']
            raise bad
        m = re.fullmatch(r'arn:aws:(iam|sts)::(\d{12}):(.+)', p)
        if not m:
            raise bad
        if m.group(1) == 'iam' and m.group(2) == self.account:
            res = m.group(3)
            if res == 'root':
                return p
            if res.startswith('user/') or res.startswith('role/'):
                if self.principal_entity(p) is None:
                    raise bad
                return p
            raise bad
        return p

    def check_policy(self, text, trust):
        """Parse and validate a policy document; returns the stored form."""
        if text is None:
            raise validation('policyDocument', None, 'Member must not be null')
        try:
            doc = json.loads(text)
        except ValueError:
            raise ApiError(400, 'MalformedPolicyDocument', 'Syntax errors in policy.')
        if not isinstance(doc, dict):
            raise ApiError(400, 'MalformedPolicyDocument', 'Syntax errors in policy.')
        if 'Version' in doc and doc['Version'] not in ('2012-10-17', '2008-10-17'):
            raise ApiError(400, 'MalformedPolicyDocument', 'The policy failed legacy parsing')
        stmts = doc.get('Statement')
        if stmts is None:
            raise ApiError(400, 'MalformedPolicyDocument', 'Missing required field Statement')
        for st in stmts if isinstance(stmts, list) else [stmts]:
            if not isinstance(st, dict):
                raise ApiError(400, 'MalformedPolicyDocument', 'Syntax errors in policy.')
            if 'Effect' not in st:
                raise ApiError(400, 'MalformedPolicyDocument', 'Missing required field Effect')
            if st.get('Effect') not in ('Allow', 'Deny'):
                raise ApiError(400, 'MalformedPolicyDocument', 'Invalid effect: %s' % st.get('Effect'))
            if 'Action' not in st and 'NotAction' not in st:
                raise ApiError(400, 'MalformedPolicyDocument', 'Missing required field Action')
            has_principal = 'Principal' in st or 'NotPrincipal' in st
            if trust and not has_principal:
                raise ApiError(400, 'MalformedPolicyDocument', 'Missing required field Principal')
            if not trust and has_principal:
                raise ApiError(400, 'MalformedPolicyDocument', 'Policy document should not specify a principal.')
            if not trust and 'Resource' not in st and 'NotResource' not in st:
                raise ApiError(400, 'MalformedPolicyDocument', 'Policy statement must contain resources.')
            for key in ('Principal', 'NotPrincipal'):
                if key not in st:
                    continue
                pr = st[key]
                if pr == '*':
                    continue
                if not isinstance(pr, dict):
                    raise ApiError(400, 'MalformedPolicyDocument', 'Invalid principal in policy')
                if 'AWS' in pr:
                    aws = pr['AWS']
                    if isinstance(aws, list):
                        pr['AWS'] = [self.rewrite_principal(a) for a in aws]
                    else:
                        pr['AWS'] = self.rewrite_principal(aws)
        return doc

    def forget_principal(self, entity):
        """After a delete: trust policies show the entity's unique id for it."""
        def fix(p):
            if isinstance(p, str) and p.lower() == entity['Arn'].lower():
                return entity['Id']
            return p
        for r in self.roles.values():
            stmts = r['trust'].get('Statement')
            for st in stmts if isinstance(stmts, list) else [stmts]:
                for key in ('Principal', 'NotPrincipal'):
                    pr = st.get(key)
                    if isinstance(pr, dict) and 'AWS' in pr:
                        if isinstance(pr['AWS'], list):
                            pr['AWS'] = [fix(a) for a in pr['AWS']]
                        else:
                            pr['AWS'] = fix(pr['AWS'])

    # ---- faults ----
    def take_fault(self, action):
        for f in self.faults:
            if f['kind'] != 'invisible' and f['count'] > 0 and f['action'] in ('*', action):
                f['count'] -= 1
                if f['count'] == 0:
                    self.faults.remove(f)
                return dict(f)
        return None

    def take_invisible(self, action):
        for f in self.faults:
            if f['kind'] == 'invisible' and f['count'] > 0 and f['action'] in ('*', action):
                f['count'] -= 1
                if f['count'] == 0:
                    self.faults.remove(f)
                return time.time() + f['seconds']
        return 0

    # ---- export ----
    def export(self):
        def entity(e, kind):
            out = {'name': e['Name'], 'path': e['Path'], 'id': e['Id'], 'arn': e['Arn'],
                   'create_date': e['CreateDate'], 'tags': dict(e['tags']),
                   'visible': self.visible(e),
                   'inline_policies': {n: json.loads(d) for n, d in e['inline'].items()},
                   'attached_policies': list(e['attached'])}
            if kind == 'user':
                out['access_keys'] = [{'id': k['AccessKeyId'], 'status': k['Status'],
                                       'create_date': k['CreateDate'],
                                       'visible': self.visible(k)} for k in e['keys']]
            else:
                out['trust'] = copy.deepcopy(e['trust'])
                out['description'] = e.get('Description')
                out['max_session_duration'] = e['MaxSessionDuration']
            return out
        return {
            'account': self.account,
            'users': [entity(u, 'user') for u in sorted(self.users.values(), key=lambda e: e['Name'].lower())],
            'roles': [entity(r, 'role') for r in sorted(self.roles.values(), key=lambda e: e['Name'].lower())],
            'policies': [{'name': p['PolicyName'], 'path': p['Path'], 'id': p['PolicyId'],
                          'arn': p['Arn'], 'default_version': p['DefaultVersionId'],
                          'attachment_count': self.attachment_count(p['Arn']),
                          'versions': [{'id': v['VersionId'], 'default': v['VersionId'] == p['DefaultVersionId'],
                                        'document': json.loads(v['doc'])} for v in p['versions']]}
                         for p in self.policies.values()],
            'quotas': dict(self.quotas),
            'clusters': dict(self.clusters),
            'faults': [dict(f) for f in self.faults],
        }


# ---------------------------------------------------------------- IAM actions

class Api:
    def __init__(self, state):
        self.s = state

    # --- parameter helpers ---
    @staticmethod
    def req(p, key, field):
        v = p.get(key)
        if v is None:
            raise validation(field, None, 'Member must not be null')
        return v

    @staticmethod
    def name(p, key, field, maxlen=64):
        v = Api.req(p, key, field)
        if not 1 <= len(v) <= maxlen:
            raise validation(field, v, f'Member must have length less than or equal to {maxlen}')
        if not NAME_RE.fullmatch(v):
            raise validation(field, v, r'Member must satisfy regular expression pattern: [\w+=,.@-]+')
        return v

    @staticmethod
    def path(p, key='Path', field='path'):
        v = p.get(key, '/')
        if len(v) > 512 or not PATH_RE.fullmatch(v):
            raise validation(field, v, r'Member must satisfy regular expression pattern: '
                             r'(\u002F)|(\u002F[\u0021-\u007E]+\u002F)')
        return v

    @staticmethod
    def member_list(p, prefix):
        """Values of PREFIX.member.N (in N order)."""
        found = {}
        for k, v in p.items():
            m = re.fullmatch(re.escape(prefix) + r'\.member\.(\d+)', k)
            if m:
                found[int(m.group(1))] = v
        return [found[i] for i in sorted(found)]

    def tags(self, p):
        keys = {}
        for k, v in p.items():
            m = re.fullmatch(r'Tags\.member\.(\d+)\.(Key|Value)', k)
            if m:
                keys.setdefault(int(m.group(1)), {})[m.group(2)] = v
        out = {}
        seen = set()
        for i in sorted(keys):
            key, value = keys[i].get('Key'), keys[i].get('Value')
            if key is None:
                raise validation(f'tags.{i}.member.key', None, 'Member must not be null')
            if value is None:
                raise validation(f'tags.{i}.member.value', None, 'Member must not be null')
            if not 1 <= len(key) <= 128 or not TAG_RE.fullmatch(key):
                raise validation(f'tags.{i}.member.key', key,
                                 'Member must have length less than or equal to 128 and '
                                 r'satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+')
            if len(value) > 256 or not TAG_RE.fullmatch(value):
                raise validation(f'tags.{i}.member.value', value,
                                 'Member must have length less than or equal to 256 and '
                                 r'satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*')
            if key.lower().startswith('aws:'):
                raise ApiError(400, 'InvalidInput', 'User-defined tag keys can\'t start with "aws:".')
            if key.lower() in seen:
                raise ApiError(400, 'InvalidInput', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.')
            seen.add(key.lower())
            out[key] = value
        if len(out) > 50:
            raise validation('tags', '[...]', 'Member must have length less than or equal to 50')
        return out

    def merge_tags(self, entity, new):
        merged = dict(entity['tags'])
        for k, v in new.items():
            for old in [o for o in merged if o.lower() == k.lower()]:
                del merged[old]
            merged[k] = v
        if len(merged) > self.s.quotas['TagsPerEntityQuota']:
            raise ApiError(409, 'LimitExceeded', 'The number of tags has reached the maximum limit.')
        entity['tags'] = merged

    def page(self, p, items, tag, render):
        """A paginated list: <tag> with members, IsTruncated, Marker."""
        maxitems = p.get('MaxItems')
        if maxitems is not None:
            if not maxitems.isdigit() or not 1 <= int(maxitems) <= 1000:
                raise validation('maxItems', maxitems, 'Member must have value between 1 and 1000')
            n = int(maxitems)
        else:
            n = 100
        n = min(n, self.s.quotas['ListPageSize'])
        start = 0
        if p.get('Marker') is not None:
            try:
                start = int(base64.urlsafe_b64decode(p['Marker'].encode()).decode().split(':')[1])
            except Exception:
                raise ApiError(400, 'InvalidInput', 'Invalid Marker.')
        chunk = items[start:start + n]
        out = [x(tag, members([render(i) for i in chunk]))]
        if start + n < len(items):
            marker = base64.urlsafe_b64encode(f'm:{start + n}:{secrets.token_hex(4)}'.encode()).decode()
            out += [x('IsTruncated', True), x('Marker', marker)]
        else:
            out.append(x('IsTruncated', False))
        return out

    # --- renderers ---
    @staticmethod
    def doc_out(doc):
        return urllib.parse.quote(json.dumps(doc, sort_keys=True, separators=(',', ':')), safe='')

    def user_xml(self, u, with_tags=True):
        out = [x('Path', u['Path']), x('UserName', u['Name']), x('UserId', u['Id']),
               x('Arn', u['Arn']), x('CreateDate', u['CreateDate'])]
        if with_tags and u['tags']:
            out.append(x('Tags', tags_xml(u['tags'])))
        return out

    def role_xml(self, r, with_tags=True, last_used=True):
        out = [x('Path', r['Path']), x('RoleName', r['Name']), x('RoleId', r['Id']),
               x('Arn', r['Arn']), x('CreateDate', r['CreateDate']),
               x('AssumeRolePolicyDocument', self.doc_out(r['trust'])),
               x('Description', r.get('Description')),
               x('MaxSessionDuration', r['MaxSessionDuration'])]
        if r.get('PermissionsBoundary'):
            out.append(x('PermissionsBoundary', [
                x('PermissionsBoundaryType', 'PermissionsBoundaryPolicy'),
                x('PermissionsBoundaryArn', r['PermissionsBoundary'])]))
        if with_tags and r['tags']:
            out.append(x('Tags', tags_xml(r['tags'])))
        if last_used:
            out.append('<RoleLastUsed/>')
        return out

    def policy_xml(self, pol):
        return [x('PolicyName', pol['PolicyName']), x('PolicyId', pol['PolicyId']),
                x('Arn', pol['Arn']), x('Path', pol['Path']),
                x('DefaultVersionId', pol['DefaultVersionId']),
                x('AttachmentCount', self.s.attachment_count(pol['Arn'])),
                x('PermissionsBoundaryUsageCount', 0), x('IsAttachable', True),
                x('Description', pol.get('Description')),
                x('CreateDate', pol['CreateDate']), x('UpdateDate', pol['UpdateDate'])]

    # --- users ---
    def CreateUser(self, p, ctx):
        name = self.name(p, 'UserName', 'userName')
        path = self.path(p)
        tags = self.tags(p)
        if name.lower() in self.s.users:
            raise ApiError(409, 'EntityAlreadyExists', f'User with name {name} already exists.')
        if len(self.s.users) >= self.s.quotas['UsersQuota']:
            raise ApiError(409, 'LimitExceeded', 'Cannot exceed quota for UsersPerAccount: %d' % self.s.quotas['UsersQuota'])
        u = new_user(self.s.account, name, path, tags)
        if p.get('PermissionsBoundary'):
            u['PermissionsBoundary'] = p['PermissionsBoundary']
        u['visible_at'] = self.s.take_invisible('CreateUser')
        self.s.users[name.lower()] = u
        return [x('User', self.user_xml(u))]

    def GetUser(self, p, ctx):
        if p.get('UserName') is None:
            return [x('User', [x('Path', '/'), x('UserName', ADMIN_NAME), x('UserId', ADMIN_ID),
                               x('Arn', f'arn:aws:iam::{self.s.account}:user/{ADMIN_NAME}'),
                               x('CreateDate', '2020-01-01T00:00:00Z')])]
        return [x('User', self.user_xml(self.s.user(p['UserName'], for_read=True)))]

    def DeleteUser(self, p, ctx):
        u = self.s.user(self.req(p, 'UserName', 'userName'))
        if u['keys']:
            raise ApiError(409, 'DeleteConflict', 'Cannot delete entity, must delete access keys first.')
        if u['inline']:
            raise ApiError(409, 'DeleteConflict', 'Cannot delete entity, must delete policies first.')
        if u['attached']:
            raise ApiError(409, 'DeleteConflict', 'Cannot delete entity, must detach all policies first.')
        del self.s.users[u['Name'].lower()]
        self.s.forget_principal(u)
        return None

    def TagUser(self, p, ctx):
        u = self.s.user(self.req(p, 'UserName', 'userName'))
        if not any(k.startswith('Tags.member.') for k in p):
            raise validation('tags', None, 'Member must not be null')
        self.merge_tags(u, self.tags(p))
        return None

    def UntagUser(self, p, ctx):
        u = self.s.user(self.req(p, 'UserName', 'userName'))
        for k in self.member_list(p, 'TagKeys'):
            for old in [o for o in u['tags'] if o.lower() == k.lower()]:
                del u['tags'][old]
        return None

    def ListUserTags(self, p, ctx):
        u = self.s.user(self.req(p, 'UserName', 'userName'), for_read=True)
        return self.page(p, list(u['tags'].items()), 'Tags',
                         lambda kv: [x('Key', kv[0]), x('Value', kv[1])])

    def ListUsers(self, p, ctx):
        prefix = p.get('PathPrefix', '/')
        users = sorted((u for u in self.s.users.values()
                        if self.s.visible(u) and u['Path'].startswith(prefix)),
                       key=lambda u: u['Name'].lower())
        return self.page(p, users, 'Users', lambda u: self.user_xml(u, with_tags=False))

    # --- roles ---
    def trust_doc(self, p, key, role_name=None):
        text = self.req(p, key, 'policyDocument' if key == 'PolicyDocument' else 'assumeRolePolicyDocument')
        doc = self.s.check_policy(text, trust=True)
        limit = self.s.quotas['AssumeRolePolicySizeQuota']
        if len(strip_ws(text)) > limit:
            raise ApiError(409, 'LimitExceeded', f'Cannot exceed quota for ACLSizePerRole: {limit}')
        return doc

    def CreateRole(self, p, ctx):
        name = self.name(p, 'RoleName', 'roleName')
        path = self.path(p)
        tags = self.tags(p)
        msd = p.get('MaxSessionDuration', '3600')
        if not msd.isdigit() or not 3600 <= int(msd) <= 43200:
            raise validation('maxSessionDuration', msd, 'Member must have value between 3600 and 43200')
        desc = p.get('Description')
        if desc is not None and len(desc) > 1000:
            raise validation('description', desc, 'Member must have length less than or equal to 1000')
        if name.lower() in self.s.roles:
            raise ApiError(409, 'EntityAlreadyExists', f'Role with name {name} already exists.')
        doc = self.trust_doc(p, 'AssumeRolePolicyDocument')
        if len(self.s.roles) >= self.s.quotas['RolesQuota']:
            raise ApiError(409, 'LimitExceeded', 'Cannot exceed quota for RolesPerAccount: %d' % self.s.quotas['RolesQuota'])
        r = new_role(self.s.account, name, path, tags, doc)
        r['MaxSessionDuration'] = int(msd)
        r['Description'] = desc
        r['PermissionsBoundary'] = p.get('PermissionsBoundary')
        r['visible_at'] = self.s.take_invisible('CreateRole')
        self.s.roles[name.lower()] = r
        return [x('Role', self.role_xml(r, last_used=False))]

    def GetRole(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'), for_read=True)
        return [x('Role', self.role_xml(r))]

    def DeleteRole(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'))
        if r['inline']:
            raise ApiError(409, 'DeleteConflict', 'Cannot delete entity, must delete policies first.')
        if r['attached']:
            raise ApiError(409, 'DeleteConflict', 'Cannot delete entity, must detach all policies first.')
        del self.s.roles[r['Name'].lower()]
        self.s.forget_principal(r)
        return None

    def TagRole(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'))
        if not any(k.startswith('Tags.member.') for k in p):
            raise validation('tags', None, 'Member must not be null')
        self.merge_tags(r, self.tags(p))
        return None

    def UntagRole(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'))
        for k in self.member_list(p, 'TagKeys'):
            for old in [o for o in r['tags'] if o.lower() == k.lower()]:
                del r['tags'][old]
        return None

    def ListRoleTags(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'), for_read=True)
        return self.page(p, list(r['tags'].items()), 'Tags',
                         lambda kv: [x('Key', kv[0]), x('Value', kv[1])])

    def ListRoles(self, p, ctx):
        prefix = p.get('PathPrefix', '/')
        roles = sorted((r for r in self.s.roles.values()
                        if self.s.visible(r) and r['Path'].startswith(prefix)),
                       key=lambda r: r['Name'].lower())
        return self.page(p, roles, 'Roles',
                         lambda r: self.role_xml(r, with_tags=False, last_used=False))

    def UpdateAssumeRolePolicy(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'))
        r['trust'] = self.trust_doc(p, 'PolicyDocument')
        return None

    # --- inline policies ---
    def put_inline(self, p, entity, kind):
        pname = self.name(p, 'PolicyName', 'policyName', 128)
        text = self.req(p, 'PolicyDocument', 'policyDocument')
        doc = self.s.check_policy(text, trust=False)
        quota = 'RolePolicySizeQuota' if kind == 'role' else 'UserPolicySizeQuota'
        others = {n: d for n, d in entity['inline'].items() if n.lower() != pname.lower()}
        size = len(strip_ws(text)) + sum(entity['inline_size'][n] for n in others)
        if size > self.s.quotas[quota]:
            raise ApiError(409, 'LimitExceeded', 'Maximum policy size of %d bytes exceeded for %s %s'
                           % (self.s.quotas[quota], kind, entity['Name']))
        for n in [n for n in entity['inline'] if n.lower() == pname.lower()]:
            del entity['inline'][n]
            del entity['inline_size'][n]
        entity['inline'][pname] = json.dumps(doc)
        entity['inline_size'][pname] = len(strip_ws(text))
        return None

    def find_inline(self, entity, pname, kind):
        for n, d in entity['inline'].items():
            if n.lower() == pname.lower():
                return n, d
        raise ApiError(404, 'NoSuchEntity', f'The {kind} policy with name {pname} cannot be found.')

    def PutRolePolicy(self, p, ctx):
        return self.put_inline(p, self.s.role(self.req(p, 'RoleName', 'roleName')), 'role')

    def PutUserPolicy(self, p, ctx):
        return self.put_inline(p, self.s.user(self.req(p, 'UserName', 'userName')), 'user')

    def GetRolePolicy(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'), for_read=True)
        n, d = self.find_inline(r, self.req(p, 'PolicyName', 'policyName'), 'role')
        return [x('RoleName', r['Name']), x('PolicyName', n),
                x('PolicyDocument', self.doc_out(json.loads(d)))]

    def GetUserPolicy(self, p, ctx):
        u = self.s.user(self.req(p, 'UserName', 'userName'), for_read=True)
        n, d = self.find_inline(u, self.req(p, 'PolicyName', 'policyName'), 'user')
        return [x('UserName', u['Name']), x('PolicyName', n),
                x('PolicyDocument', self.doc_out(json.loads(d)))]

    def DeleteRolePolicy(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'))
        n, _ = self.find_inline(r, self.req(p, 'PolicyName', 'policyName'), 'role')
        del r['inline'][n]
        del r['inline_size'][n]
        return None

    def DeleteUserPolicy(self, p, ctx):
        u = self.s.user(self.req(p, 'UserName', 'userName'))
        n, _ = self.find_inline(u, self.req(p, 'PolicyName', 'policyName'), 'user')
        del u['inline'][n]
        del u['inline_size'][n]
        return None

    def ListRolePolicies(self, p, ctx):
        r = self.s.role(self.req(p, 'RoleName', 'roleName'), for_read=True)
        return self.page(p, sorted(r['inline']), 'PolicyNames', lambda n: n)

    def ListUserPolicies(self, p, ctx):
        u = self.s.user(self.req(p, 'UserName', 'userName'), for_read=True)
        return self.page(p, sorted(u['inline']), 'PolicyNames', lambda n: n)

    # --- attached policies ---
    def attach(self, p, entity, kind):
        arn = self.req(p, 'PolicyArn', 'policyArn')
        if self.s.policy_by_arn(arn) is None:
            raise ApiError(404, 'NoSuchEntity', f'Policy {arn} does not exist or is not attachable.')
        if arn in entity['attached']:
            return None
        quota = 'AttachedPoliciesPerRoleQuota' if kind == 'role' else 'AttachedPoliciesPerUserQuota'
        if len(entity['attached']) >= self.s.quotas[quota]:
            raise ApiError(409, 'LimitExceeded', 'Cannot exceed quota for PoliciesPer%s: %d'
                           % (kind.capitalize(), self.s.quotas[quota]))
        entity['attached'].append(arn)
        return None

    def detach(self, p, entity):
        arn = self.req(p, 'PolicyArn', 'policyArn')
        if arn not in entity['attached']:
            raise ApiError(404, 'NoSuchEntity', f'Policy {arn} was not found.')
        entity['attached'].remove(arn)
        return None

    def list_attached(self, p, entity):
        prefix = p.get('PathPrefix', '/')
        arns = [a for a in entity['attached']
                if (self.s.policy_by_arn(a) or {'Path': '/'})['Path'].startswith(prefix)]
        return self.page(p, arns, 'AttachedPolicies',
                         lambda a: [x('PolicyName', self.s.policy_name_from_arn(a)), x('PolicyArn', a)])

    def AttachRolePolicy(self, p, ctx):
        return self.attach(p, self.s.role(self.req(p, 'RoleName', 'roleName')), 'role')

    def DetachRolePolicy(self, p, ctx):
        return self.detach(p, self.s.role(self.req(p, 'RoleName', 'roleName')))

    def ListAttachedRolePolicies(self, p, ctx):
        return self.list_attached(p, self.s.role(self.req(p, 'RoleName', 'roleName'), for_read=True))

    def AttachUserPolicy(self, p, ctx):
        return self.attach(p, self.s.user(self.req(p, 'UserName', 'userName')), 'user')

    def DetachUserPolicy(self, p, ctx):
        return self.detach(p, self.s.user(self.req(p, 'UserName', 'userName')))

    def ListAttachedUserPolicies(self, p, ctx):
        return self.list_attached(p, self.s.user(self.req(p, 'UserName', 'userName'), for_read=True))

    # --- managed policies ---
    def managed(self, p):
        arn = self.req(p, 'PolicyArn', 'policyArn')
        pol = self.s.policy_by_arn(arn)
        if pol is None:
            raise ApiError(404, 'NoSuchEntity', f'Policy {arn} was not found.')
        return pol

    def managed_doc(self, p):
        text = self.req(p, 'PolicyDocument', 'policyDocument')
        doc = self.s.check_policy(text, trust=False)
        limit = self.s.quotas['PolicySizeQuota']
        if len(strip_ws(text)) > limit:
            raise ApiError(409, 'LimitExceeded', f'Cannot exceed quota for PolicySize: {limit}')
        return json.dumps(doc)

    def CreatePolicy(self, p, ctx):
        name = self.name(p, 'PolicyName', 'policyName', 128)
        path = self.path(p)
        tags = self.tags(p)
        if name.lower() in self.s.policies:
            raise ApiError(409, 'EntityAlreadyExists',
                           f'A policy called {name} already exists. Duplicate names are not allowed.')
        doc = self.managed_doc(p)
        if len(self.s.policies) >= self.s.quotas['PoliciesQuota']:
            raise ApiError(409, 'LimitExceeded', 'Cannot exceed quota for PoliciesPerAccount: %d'
                           % self.s.quotas['PoliciesQuota'])
        pol = new_policy(f'arn:aws:iam::{self.s.account}:policy{path}{name}', name, path, doc)
        pol['Description'] = p.get('Description')
        pol['tags'] = tags
        self.s.policies[name.lower()] = pol
        out = self.policy_xml(pol)
        if tags:
            out.append(x('Tags', tags_xml(tags)))
        return [x('Policy', out)]

    def GetPolicy(self, p, ctx):
        pol = self.managed(p)
        out = self.policy_xml(pol)
        if pol['tags']:
            out.append(x('Tags', tags_xml(pol['tags'])))
        return [x('Policy', out)]

    def ListPolicies(self, p, ctx):
        scope = p.get('Scope', 'All')
        prefix = p.get('PathPrefix', '/')
        only = p.get('OnlyAttached', 'false') == 'true'
        pols = [pol for pol in self.s.policies.values()
                if pol['Path'].startswith(prefix)
                and (scope != 'AWS' or pol['Arn'].startswith('arn:aws:iam::aws:'))
                and (scope != 'Local' or not pol['Arn'].startswith('arn:aws:iam::aws:'))
                and (not only or self.s.attachment_count(pol['Arn']))]
        pols.sort(key=lambda pol: pol['PolicyName'].lower())
        return self.page(p, pols, 'Policies', self.policy_xml)

    def DeletePolicy(self, p, ctx):
        pol = self.managed(p)
        if self.s.attachment_count(pol['Arn']):
            raise ApiError(409, 'DeleteConflict', 'Cannot delete a policy attached to entities.')
        if len(pol['versions']) > 1:
            raise ApiError(409, 'DeleteConflict',
                           "This policy has more than one version. Before you delete a policy, you must "
                           "delete the policy's versions. The default version is deleted with the policy.")
        del self.s.policies[pol['PolicyName'].lower()]
        return None

    def CreatePolicyVersion(self, p, ctx):
        pol = self.managed(p)
        doc = self.managed_doc(p)
        limit = self.s.quotas['VersionsPerPolicyQuota']
        if len(pol['versions']) >= limit:
            raise ApiError(409, 'LimitExceeded',
                           f'A managed policy can have up to {limit} versions. Before you create a new '
                           'version, you must delete an existing version.')
        pol['next_version'] += 1
        v = {'VersionId': 'v%d' % pol['next_version'], 'doc': doc, 'CreateDate': now_iso()}
        pol['versions'].append(v)
        if p.get('SetAsDefault', 'false') == 'true':
            pol['DefaultVersionId'] = v['VersionId']
        pol['UpdateDate'] = v['CreateDate']
        return [x('PolicyVersion', [x('VersionId', v['VersionId']),
                                    x('IsDefaultVersion', v['VersionId'] == pol['DefaultVersionId']),
                                    x('CreateDate', v['CreateDate'])])]

    def find_version(self, pol, vid):
        for v in pol['versions']:
            if v['VersionId'] == vid:
                return v
        raise ApiError(404, 'NoSuchEntity', f'Policy {pol["Arn"]} version {vid} does not exist or is not attachable.')

    def GetPolicyVersion(self, p, ctx):
        pol = self.managed(p)
        v = self.find_version(pol, self.req(p, 'VersionId', 'versionId'))
        return [x('PolicyVersion', [x('Document', self.doc_out(json.loads(v['doc']))),
                                    x('VersionId', v['VersionId']),
                                    x('IsDefaultVersion', v['VersionId'] == pol['DefaultVersionId']),
                                    x('CreateDate', v['CreateDate'])])]

    def SetDefaultPolicyVersion(self, p, ctx):
        pol = self.managed(p)
        v = self.find_version(pol, self.req(p, 'VersionId', 'versionId'))
        pol['DefaultVersionId'] = v['VersionId']
        return None

    def ListPolicyVersions(self, p, ctx):
        pol = self.managed(p)
        vs = sorted(pol['versions'], key=lambda v: -int(v['VersionId'][1:]))
        return self.page(p, vs, 'Versions', lambda v: [
            x('VersionId', v['VersionId']),
            x('IsDefaultVersion', v['VersionId'] == pol['DefaultVersionId']),
            x('CreateDate', v['CreateDate'])])

    def DeletePolicyVersion(self, p, ctx):
        pol = self.managed(p)
        v = self.find_version(pol, self.req(p, 'VersionId', 'versionId'))
        if v['VersionId'] == pol['DefaultVersionId']:
            raise ApiError(409, 'DeleteConflict', 'Cannot delete the default version of a policy.')
        pol['versions'].remove(v)
        return None

    # --- access keys ---
    def key_user(self, p, for_read=False):
        if p.get('UserName') is None:
            raise validation('userName', None,
                             'Member must not be null (this double has no keys for the caller)')
        return self.s.user(p['UserName'], for_read=for_read)

    def CreateAccessKey(self, p, ctx):
        u = self.key_user(p)
        limit = self.s.quotas['AccessKeysPerUserQuota']
        if len(u['keys']) >= limit:
            raise ApiError(409, 'LimitExceeded', f'Cannot exceed quota for AccessKeysPerUser: {limit}')
        k = new_key()
        k['visible_at'] = self.s.take_invisible('CreateAccessKey')
        u['keys'].append(k)
        return [x('AccessKey', [x('UserName', u['Name']), x('AccessKeyId', k['AccessKeyId']),
                                x('Status', k['Status']), x('SecretAccessKey', k['SecretAccessKey']),
                                x('CreateDate', k['CreateDate'])])]

    def find_key(self, u, kid):
        for k in u['keys']:
            if k['AccessKeyId'] == kid:
                return k
        raise ApiError(404, 'NoSuchEntity', f'The Access Key with id {kid} cannot be found.')

    def ListAccessKeys(self, p, ctx):
        if p.get('UserName') is None:
            keys = [(ADMIN_NAME, {'AccessKeyId': ctx['access_key'], 'Status': 'Active',
                                  'CreateDate': '2020-01-01T00:00:00Z'})]
        else:
            u = self.s.user(p['UserName'], for_read=True)
            keys = [(u['Name'], k) for k in u['keys'] if self.s.visible(k)]
        return self.page(p, keys, 'AccessKeyMetadata', lambda uk: [
            x('UserName', uk[0]), x('AccessKeyId', uk[1]['AccessKeyId']),
            x('Status', uk[1]['Status']), x('CreateDate', uk[1]['CreateDate'])])

    def UpdateAccessKey(self, p, ctx):
        u = self.key_user(p)
        k = self.find_key(u, self.req(p, 'AccessKeyId', 'accessKeyId'))
        status = self.req(p, 'Status', 'status')
        if status not in ('Active', 'Inactive'):
            raise validation('status', status, 'Member must satisfy enum value set: [Active, Inactive]')
        k['Status'] = status
        return None

    def DeleteAccessKey(self, p, ctx):
        u = self.key_user(p)
        k = self.find_key(u, self.req(p, 'AccessKeyId', 'accessKeyId'))
        u['keys'].remove(k)
        return None

    # --- account ---
    def GetAccountSummary(self, p, ctx):
        q = self.s.quotas
        versions = sum(len(pol['versions']) for pol in self.s.policies.values())
        summary = {
            'Users': len(self.s.users), 'UsersQuota': q['UsersQuota'],
            'Roles': len(self.s.roles), 'RolesQuota': q['RolesQuota'],
            'Policies': len(self.s.policies), 'PoliciesQuota': q['PoliciesQuota'],
            'PolicyVersionsInUse': versions, 'PolicyVersionsInUseQuota': 10000,
            'VersionsPerPolicyQuota': q['VersionsPerPolicyQuota'],
            'AccessKeysPerUserQuota': q['AccessKeysPerUserQuota'],
            'AttachedPoliciesPerRoleQuota': q['AttachedPoliciesPerRoleQuota'],
            'AttachedPoliciesPerUserQuota': q['AttachedPoliciesPerUserQuota'],
            'AssumeRolePolicySizeQuota': q['AssumeRolePolicySizeQuota'],
            'UserPolicySizeQuota': q['UserPolicySizeQuota'],
            'PolicySizeQuota': q['PolicySizeQuota'],
            'Groups': 0, 'GroupsQuota': 300,
            'AccountMFAEnabled': 0, 'AccountAccessKeysPresent': 0,
        }
        return [x('SummaryMap', [f'<entry>{x("key", k)}{x("value", v)}</entry>'
                                 for k, v in summary.items()])]

    # --- STS ---
    def GetCallerIdentity(self, p, ctx):
        return [x('Arn', f'arn:aws:iam::{self.s.account}:user/{ADMIN_NAME}'),
                x('UserId', ADMIN_ID), x('Account', self.s.account)]

    # --- RDS ---
    def DescribeDBClusters(self, p, ctx):
        ident = p.get('DBClusterIdentifier')
        if ident is not None:
            found = [(i, r) for i, r in self.s.clusters.items() if i.lower() == ident.lower()]
            if not found:
                raise ApiError(404, 'DBClusterNotFoundFault', f'DBCluster {ident} not found.')
        else:
            found = sorted(self.s.clusters.items())
        region = ctx['region']

        def cluster(ir):
            i, rid = ir
            return [x('DBClusterIdentifier', i), x('Status', 'available'),
                    x('Engine', 'aurora-postgresql'), x('EngineVersion', '15.4'),
                    x('Endpoint', f'{i}.cluster-cdouble.{region}.rds.amazonaws.com'),
                    x('ReaderEndpoint', f'{i}.cluster-ro-cdouble.{region}.rds.amazonaws.com'),
                    x('Port', 5432), x('DbClusterResourceId', rid),
                    x('DBClusterArn', f'arn:aws:rds:{region}:{self.s.account}:cluster:{i}'),
                    x('IAMDatabaseAuthenticationEnabled', True)]
        return [x('DBClusters', members([cluster(c) for c in found], tag='DBCluster'))]


ACTIONS = {a: IAM for a in (
    'CreateUser GetUser DeleteUser TagUser UntagUser ListUserTags ListUsers '
    'CreateRole GetRole DeleteRole TagRole UntagRole ListRoleTags ListRoles '
    'UpdateAssumeRolePolicy PutRolePolicy GetRolePolicy DeleteRolePolicy ListRolePolicies '
    'AttachRolePolicy DetachRolePolicy ListAttachedRolePolicies PutUserPolicy GetUserPolicy '
    'DeleteUserPolicy ListUserPolicies AttachUserPolicy DetachUserPolicy '
    'ListAttachedUserPolicies CreatePolicy GetPolicy ListPolicies DeletePolicy '
    'CreatePolicyVersion GetPolicyVersion SetDefaultPolicyVersion ListPolicyVersions '
    'DeletePolicyVersion CreateAccessKey ListAccessKeys UpdateAccessKey DeleteAccessKey '
    'GetAccountSummary').split()}
ACTIONS['GetCallerIdentity'] = STS
ACTIONS['DescribeDBClusters'] = RDS


def new_user(account, name, path, tags):
    return {'Name': name, 'Path': path, 'Id': rand_id('AIDA'),
            'Arn': f'arn:aws:iam::{account}:user{path}{name}', 'CreateDate': now_iso(),
            'tags': dict(tags), 'inline': {}, 'inline_size': {}, 'attached': [], 'keys': [],
            'visible_at': 0}


def new_role(account, name, path, tags, trust):
    return {'Name': name, 'Path': path, 'Id': rand_id('AROA'),
            'Arn': f'arn:aws:iam::{account}:role{path}{name}', 'CreateDate': now_iso(),
            'tags': dict(tags), 'inline': {}, 'inline_size': {}, 'attached': [],
            'trust': trust, 'MaxSessionDuration': 3600, 'Description': None,
            'visible_at': 0}


def new_policy(arn, name, path, doc):
    t = now_iso()
    return {'PolicyName': name, 'Path': path, 'PolicyId': rand_id('ANPA'), 'Arn': arn,
            'DefaultVersionId': 'v1', 'next_version': 1, 'CreateDate': t, 'UpdateDate': t,
            'versions': [{'VersionId': 'v1', 'doc': doc, 'CreateDate': t}],
            'Description': None, 'tags': {}}


def new_key():
    return {'AccessKeyId': rand_id('AKIA'),
            'SecretAccessKey': ''.join(secrets.choice(SECRET_CHARS) for _ in range(40)),
            'Status': 'Active', 'CreateDate': now_iso(), 'visible_at': 0}


# ---------------------------------------------------------------- signatures

class Verifier(SigV4Auth):
    """botocore's SigV4 over exactly the headers the request says it signed."""

    def __init__(self, credentials, service, region, signed):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            if name.lower() in self._signed:
                header_map[name.lower()] = value
        return header_map


AUTH_RE = re.compile(r'AWS4-HMAC-SHA256 +Credential=([^,\s]+), *SignedHeaders=([^,\s]+), *Signature=([0-9a-f]{64})')


def verify(args, headers, path, body, service):
    """None if the request is signed right, else the ApiError to answer."""
    auth = headers.get('Authorization')
    if auth is None:
        raise ApiError(403, 'MissingAuthenticationToken',
                       'Request is missing Authentication Token')
    m = AUTH_RE.fullmatch(auth.strip())
    if not m:
        raise ApiError(400, 'IncompleteSignature',
                       "Authorization header requires 'Credential', 'SignedHeaders' and "
                       "'Signature' parameters (AWS4-HMAC-SHA256 only).")
    cred, signed_str, signature = m.groups()
    parts = cred.split('/')
    if len(parts) != 5 or parts[4] != 'aws4_request':
        raise ApiError(400, 'IncompleteSignature', f'Credential {cred} is malformed.')
    akid, date, region, svc, _ = parts
    if akid != args.access_key:
        raise ApiError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
    token = headers.get('X-Amz-Security-Token')
    signed = signed_str.split(';')
    if args.session_token is not None:
        if token != args.session_token:
            raise ApiError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
        if 'x-amz-security-token' not in signed:
            raise ApiError(403, 'SignatureDoesNotMatch', 'x-amz-security-token must be a signed header.')
    elif token is not None:
        raise ApiError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
    if svc != service:
        raise ApiError(403, 'SignatureDoesNotMatch', f"Credential should be scoped to correct service: '{service}'. ")
    if service == IAM and region != 'us-east-1':
        raise ApiError(403, 'SignatureDoesNotMatch', 'Credential should be scoped to a valid region. ')
    for h in ('host', 'x-amz-date'):
        if h not in signed:
            raise ApiError(403, 'SignatureDoesNotMatch', f"'{h}' must be a 'SignedHeader' in the AWS Authorization.")
    stamp = headers.get('X-Amz-Date') or ''
    try:
        t = calendar.timegm(time.strptime(stamp, SIGV4_TIMESTAMP))
    except ValueError:
        raise ApiError(400, 'IncompleteSignature', f'Date must be in ISO-8601 basic format. Got {stamp!r}.')
    now = time.time()
    if t < now - CLOCK_SKEW:
        raise ApiError(403, 'SignatureDoesNotMatch', 'Signature expired: %s is now earlier than %s (%s - 15 min.)'
                       % (stamp, time.strftime(SIGV4_TIMESTAMP, time.gmtime(now - CLOCK_SKEW)),
                          time.strftime(SIGV4_TIMESTAMP, time.gmtime(now))))
    if t > now + CLOCK_SKEW:
        raise ApiError(403, 'SignatureDoesNotMatch', 'Signature not yet current: %s is still later than %s (%s + 15 min.)'
                       % (stamp, time.strftime(SIGV4_TIMESTAMP, time.gmtime(now + CLOCK_SKEW)),
                          time.strftime(SIGV4_TIMESTAMP, time.gmtime(now))))
    if date != stamp[:8]:
        raise ApiError(403, 'SignatureDoesNotMatch', f'Credential date {date} does not match X-Amz-Date {stamp}.')
    content_sha = headers.get('X-Amz-Content-SHA256')
    if content_sha is not None and content_sha != hashlib.sha256(body).hexdigest():
        raise ApiError(403, 'SignatureDoesNotMatch',
                       'The x-amz-content-sha256 header does not match the request body.')
    host = headers.get('Host')
    if host is None:
        raise ApiError(403, 'SignatureDoesNotMatch', 'The request has no Host header.')
    req = AWSRequest(method='POST', url='http://' + host + path, data=body)
    for name in signed:
        values = headers.get_all(name)
        if not values:
            raise ApiError(403, 'SignatureDoesNotMatch', f'Signed header {name} is not in the request.')
        for v in values:
            req.headers[name] = v
    req.context['timestamp'] = stamp
    v = Verifier(Credentials(args.access_key, args.secret_key, args.session_token), service, region, set(signed))
    canonical = v.canonical_request(req)
    sts = v.string_to_sign(req, canonical)
    expected = v.signature(sts, req)
    if not secrets.compare_digest(expected, signature):
        raise ApiError(403, 'SignatureDoesNotMatch',
                       'The request signature we calculated does not match the signature you provided. '
                       'Check your AWS Secret Access Key and signing method. Consult the service '
                       'documentation for details.\n\nThe Canonical String for this request should have been\n'
                       "'%s'\n\nThe String-to-Sign should have been\n'%s'\n" % (canonical, sts))


# ---------------------------------------------------------------- HTTP

def error_xml(service, status, code, message, rid):
    kind = 'Receiver' if status >= 500 else 'Sender'
    return (f'<ErrorResponse xmlns="{NAMESPACES[service]}"><Error><Type>{kind}</Type>'
            f'<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>'
            f'<RequestId>{rid}</RequestId></ErrorResponse>')


def ok_xml(service, action, result, rid):
    body = f'<{action}Response xmlns="{NAMESPACES[service]}">'
    if result is not None:
        body += f'<{action}Result>' + ''.join(result) + f'</{action}Result>'
    return body + f'<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></{action}Response>'


FAULT_ERRORS = {
    'throttle': (400, 'Throttling', 'Rate exceeded'),
    '500': (500, 'ServiceFailure', 'Service failure (injected by the test double).'),
    'unavailable': (503, 'ServiceUnavailable', 'Service is unavailable (injected by the test double).'),
    'concurrent': (409, 'ConcurrentModification', 'Rate exceeded for this entity: concurrent modification (injected).'),
}


def make_handler(args, state):
    api = Api(state)
    log_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *a):
            pass

        def setup(self):
            super().setup()
            # headers and body go out in separate writes: no Nagle delay
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def read_body(self):
            if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
                data = b''
                while True:
                    n = int(self.rfile.readline().split(b';')[0].strip(), 16)
                    if n == 0:
                        while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                            pass
                        return data
                    data += self.rfile.read(n)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get('Content-Length') or 0))

        def send(self, status, body, ctype, extra=()):
            data = body.encode()
            self.send_response(status)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(data)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def send_json(self, status, obj):
            self.send(status, json.dumps(obj, indent=1) + '\n', 'application/json')

        def record(self, entry):
            with state.lock:
                state.requests.append(entry)
            if args.log:
                with log_lock, open(args.log, 'a') as f:
                    f.write('%s %s %s\n' % (entry['action'], entry['status'], entry['code'] or '-'))

        # -- control --
        def control(self, body):
            path = self.path.split('?')[0]
            try:
                req = json.loads(body or b'{}') if self.command == 'POST' else {}
                if not isinstance(req, dict):
                    raise ValueError('a JSON object is wanted')
            except ValueError as e:
                return self.send_json(400, {'error': 'bad JSON: %s' % e})
            try:
                with state.lock:
                    out = self.control_locked(path, req)
            except (KeyError, ValueError, TypeError) as e:
                return self.send_json(400, {'error': '%s: %s' % (type(e).__name__, e)})
            except ApiError as e:
                return self.send_json(e.status, {'error': e.code, 'message': e.message})
            if out is None:
                return self.send_json(404, {'error': 'no such control endpoint'})
            self.send_json(200, out)

        def control_locked(self, path, req):
            get, post = self.command == 'GET', self.command == 'POST'
            if path == '/_control/state' and get:
                return state.export()
            if path == '/_control/requests' and get:
                return copy.deepcopy(state.requests)
            if path == '/_control/requests/clear' and post:
                state.requests.clear()
                return {'ok': True}
            if path == '/_control/reset' and post:
                state.reset()
                state.requests.clear()
                return {'ok': True}
            if path == '/_control/quota' and get:
                return dict(state.quotas)
            if path == '/_control/quota' and post:
                for k, v in req.items():
                    k = QUOTA_ALIASES.get(k, k)
                    if k not in state.quotas:
                        raise KeyError(k)
                    state.quotas[k] = int(v)
                return dict(state.quotas)
            if path == '/_control/fault' and post:
                kind = str(req['kind'])
                if kind not in FAULT_KINDS:
                    raise ValueError('kind must be one of %s' % ', '.join(FAULT_KINDS))
                action = req.get('action', '*')
                if action != '*' and action not in ACTIONS:
                    raise ValueError('unknown action %s' % action)
                if kind == 'invisible' and action not in ('*',) + CREATING_ACTIONS:
                    raise ValueError('invisible is for %s' % ', '.join(CREATING_ACTIONS))
                f = {'action': action, 'kind': kind, 'count': int(req.get('count', 1)),
                     'seconds': float(req.get('seconds', 5)), 'after': bool(req.get('after', False))}
                state.faults.append(f)
                return {'ok': True, 'faults': [dict(f) for f in state.faults]}
            if path == '/_control/faults' and get:
                return [dict(f) for f in state.faults]
            if path == '/_control/faults/clear' and post:
                state.faults.clear()
                return {'ok': True}
            if path == '/_control/cluster' and post:
                state.clusters[req['identifier']] = req['resource_id']
                return dict(state.clusters)
            if path == '/_control/plant' and post:
                return self.plant(req)
            return None

        def plant(self, req):
            kind = req['kind']
            visible_at = time.time() + float(req['invisible_seconds']) if req.get('invisible_seconds') else 0
            if kind in ('user', 'role'):
                name, path = req['name'], req.get('path', '/')
                table = state.users if kind == 'user' else state.roles
                if name.lower() in table:
                    raise ApiError(409, 'EntityAlreadyExists', f'{kind} {name} already exists')
                tags = {str(k): str(v) for k, v in (req.get('tags') or {}).items()}
                if kind == 'user':
                    e = new_user(state.account, name, path, tags)
                else:
                    trust = req.get('trust') or {
                        'Version': '2012-10-17',
                        'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole',
                                       'Principal': {'AWS': f'arn:aws:iam::{state.account}:root'}}]}
                    e = new_role(state.account, name, path, tags, copy.deepcopy(trust))
                e['visible_at'] = visible_at
                table[name.lower()] = e
                return {'name': name, 'id': e['Id'], 'arn': e['Arn']}
            if kind == 'access_key':
                u = state.user(req['user'])
                k = new_key()
                k['visible_at'] = visible_at
                u['keys'].append(k)
                return {'user': u['Name'], 'access_key_id': k['AccessKeyId'],
                        'secret_access_key': k['SecretAccessKey']}
            if kind == 'policy':
                name, path = req['name'], req.get('path', '/')
                arn = req.get('arn') or f'arn:aws:iam::{state.account}:policy{path}{name}'
                doc = req.get('document') or {'Version': '2012-10-17', 'Statement': [
                    {'Effect': 'Allow', 'Action': 'rds-db:connect', 'Resource': '*'}]}
                pol = new_policy(arn, name, path, json.dumps(doc))
                state.policies[name.lower()] = pol
                return {'name': name, 'arn': arn, 'id': pol['PolicyId']}
            if kind == 'attached_policy':
                e = state.role(req['role']) if 'role' in req else state.user(req['user'])
                if req['policy_arn'] not in e['attached']:
                    e['attached'].append(req['policy_arn'])
                return {'attached': list(e['attached'])}
            if kind == 'inline_policy':
                e = state.role(req['role']) if 'role' in req else state.user(req['user'])
                text = json.dumps(req['document'])
                e['inline'][req['name']] = text
                e['inline_size'][req['name']] = len(strip_ws(text))
                return {'inline_policies': sorted(e['inline'])}
            raise ValueError('unknown kind %s' % kind)

        def do_GET(self):
            if self.path.startswith('/_control/'):
                return self.control(b'')
            self.send(405, 'only POST\n', 'text/plain')

        # -- the API --
        def do_POST(self):
            body = self.read_body()
            if self.path.startswith('/_control/'):
                return self.control(body)
            rid = str(uuid.uuid4())
            entry = {'time': now_iso(), 'action': None, 'service': None, 'params': {},
                     'status': None, 'code': None}

            def fail(service, e):
                entry['status'], entry['code'] = e.status, e.code
                self.record(entry)
                self.send(e.status, error_xml(service or IAM, e.status, e.code, e.message, rid),
                          'text/xml', [('x-amzn-RequestId', rid)])

            if self.path != '/':
                return fail(IAM, ApiError(404, 'InvalidAction', f'No service at {self.path}; POST / only.'))
            ctype = (self.headers.get('Content-Type') or '').split(';')[0].strip().lower()
            params = {}
            if ctype == 'application/x-www-form-urlencoded':
                try:
                    pairs = urllib.parse.parse_qsl(body.decode('utf-8'), keep_blank_values=True,
                                                   errors='strict')
                except (UnicodeDecodeError, ValueError) as e:
                    return fail(IAM, ApiError(400, 'MalformedQueryString', str(e)))
                for k, v in pairs:
                    if k in params:
                        return fail(IAM, ApiError(400, 'MalformedQueryString', f'Parameter {k} given twice.'))
                    params[k] = v
            action = params.get('Action')
            entry['action'] = action
            entry['params'] = {k: v for k, v in params.items() if k not in ('Action', 'Version')}
            cred_service = None
            m = re.search(r'Credential=[^/]*/[^/]*/[^/]*/([^/,]*)/', self.headers.get('Authorization') or '')
            if m and m.group(1) in NAMESPACES:
                cred_service = m.group(1)
            service = ACTIONS.get(action)
            entry['service'] = service
            if action is None:
                why = '' if ctype == 'application/x-www-form-urlencoded' else (
                    ' (the body is read only as application/x-www-form-urlencoded; Content-Type was %r)'
                    % self.headers.get('Content-Type'))
                return fail(cred_service, ApiError(400, 'MissingAction', 'Missing Action' + why))
            if service is None or params.get('Version') != VERSIONS[service]:
                return fail(service or cred_service, ApiError(
                    400, 'InvalidAction', f'Could not find operation {action} for version {params.get("Version")}'))
            try:
                verify(args, self.headers, self.path, body, service)
            except ApiError as e:
                return fail(service, e)
            region = (self.headers.get('Authorization') or '').split('Credential=')[1].split('/')[2]
            ctx = {'region': region, 'access_key': args.access_key}
            with state.lock:
                fault = state.take_fault(action)
            if fault:
                entry['fault'] = fault['kind']
                kind = fault['kind']
                if kind in FAULT_ERRORS:
                    return fail(service, ApiError(*FAULT_ERRORS[kind]))
                if kind == 'slow':
                    time.sleep(fault['seconds'])
                if kind == 'drop':
                    if fault['after']:
                        with state.lock:
                            try:
                                getattr(api, action)(params, ctx)
                                entry['applied'] = True
                            except ApiError as e:
                                entry['applied'] = False
                                entry['would_have_been'] = e.code
                    else:
                        entry['applied'] = False
                    entry['code'] = 'drop'
                    self.record(entry)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
            try:
                with state.lock:
                    result = getattr(api, action)(params, ctx)
            except ApiError as e:
                return fail(service, e)
            entry['status'] = 200
            self.record(entry)
            answer = ok_xml(service, action, result, rid)
            if fault and fault['kind'] == 'garbled':
                # what a proxy or a broken middlebox might pass on: the start only
                answer = answer[:len(answer) // 3]
            self.send(200, answer, 'text/xml', [('x-amzn-RequestId', rid)])

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def parse_clusters(items):
    clusters = {}
    for item in items or []:
        ident, sep, rid = item.partition('=')
        if not sep or not ident or not rid:
            sys.exit(f'--cluster wants IDENT=RESOURCEID, not {item!r}')
        clusters[ident] = rid
    return clusters


def main():
    parser = argparse.ArgumentParser(description='A test double of AWS IAM, STS and RDS.')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--portfile', '--port-file', dest='portfile', required=True)
    parser.add_argument('--account', default='123456789012')
    parser.add_argument('--access-key', default=DEFAULT_ACCESS_KEY)
    parser.add_argument('--secret-key', default=DEFAULT_SECRET_KEY)
    parser.add_argument('--session-token')
    parser.add_argument('--cluster', action='extend', nargs='+', default=[],
                        metavar='IDENT=RESOURCEID')
    parser.add_argument('--log')
    args = parser.parse_args()
    if not re.fullmatch(r'\d{12}', args.account):
        sys.exit('--account wants 12 digits')
    state = State(args.account, parse_clusters(args.cluster))
    server = Server(('127.0.0.1', args.port), make_handler(args, state))
    tmp = args.portfile + '.tmp'
    with open(tmp, 'w') as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.portfile)
    server.serve_forever()


if __name__ == '__main__':
    main()
