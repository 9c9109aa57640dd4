# The IAM side of each tenant, against the IAM + STS + RDS double
# (test/aws_double.py: SigV4 verified on every request, IAM's rules, faults
# on demand): the lifecycle in both modes with the documents checked as
# JSON, drift found and repaired, every fault class retried, a backend
# killed between IAM steps, a same-named untagged entity refused, quotas
# refused before the first step, and no secret in the logs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use JSON::PP;
use Target;
use Control;
use AwsDouble;

plan skip_all => 'no target PostgreSQL 15' unless Target::available(15);

my ($aws, $control, $t) = AwsDouble::iam_world('iamtarget', "aws_cluster_identifier 'aurora-prod'");
my $acct = $AwsDouble::ACCOUNT;
my $rid = $AwsDouble::RESOURCE_ID;

my @secrets;
sub inline { my ($e, $name) = @_; return $e->{inline_policies}{$name} }
sub keys_of { return AwsDouble::keys_of(@_) }

# === onboarding, user_and_role: the seed's five steps ===
my ($arn, $key, $secret, $changes) = split /\|/, control(
	"SELECT iam_role_arn, aws_access_key_id, aws_secret_access_key, changes FROM tenancy.onboard('acme',"
	  . " ARRAY['db1'], allowed_ips => '{203.0.113.0/24, 198.51.100.7/32}', cluster => 'users')");
push @secrets, $secret;
is($arn, "arn:aws:iam::$acct:role/tenancy/tenancy-acme", 'onboard returns the IAM role');
like($key, qr/^AKIA[A-Z0-9]{16}$/, 'and an access key id');
like($secret, qr/^\S{40}$/, 'and its secret, once');

my $state = $aws->state;
my $user = $aws->user('tenancy-acme', $state);
my $role = $aws->role('tenancy-acme', $state);
ok($user && $role, 'the IAM user and role exist');
is($user->{path}, '/tenancy/', 'under /tenancy/');
my $install = control('SELECT id FROM tenancy.installation');
my %role_tags = %{ $role->{tags} };
my $role_marker = delete $role_tags{'tenancy:marker'};
is_deeply(\%role_tags, { 'tenancy:tenant' => 'acme', 'tenancy:installation' => $install,
		'tenancy:cluster' => $rid }, 'tagged with tenant, installation and cluster resource id');
like($role_marker, qr/^[0-9a-f]{64}$/, 'and with a marker (an HMAC only this control database can make)');
my %user_tags = %{ $user->{tags} };
my $user_marker = delete $user_tags{'tenancy:marker'};
is_deeply(\%user_tags, \%role_tags, 'the user too');
isnt($user_marker, $role_marker, 'with a marker of its own');
is_deeply($role->{trust}{Statement}, [ { Effect => 'Allow', Action => 'sts:AssumeRole',
			Principal => { AWS => "arn:aws:iam::$acct:user/tenancy/tenancy-acme" },
			Condition => { IpAddress => { 'aws:SourceIp' => [ '203.0.113.0/24', '198.51.100.7/32' ] } } } ],
	'the role trusts the user, from the allowed IPs only');
is_deeply(inline($role, 'rds-db-connect')->{Statement}, [ { Effect => 'Allow', Action => 'rds-db:connect',
			Resource => "arn:aws:rds-db:eu-central-1:$acct:dbuser:$rid/acme" } ],
	'the role may connect as exactly the tenant, on exactly this cluster');
is_deeply(inline($user, 'assume-tenant-role')->{Statement}, [ { Effect => 'Allow',
			Action => 'sts:AssumeRole', Resource => $arn } ],
	'the user may assume exactly its role');
is_deeply(keys_of($user), [$key], 'one access key, the one returned');
is_deeply($role->{attached_policies}, [], 'no managed policy spent');
is(control("SELECT aws_access_key_id FROM tenancy.tenants WHERE name = 'acme'"), $key,
	'the registry knows the key id (not the secret)');
is(control("SELECT count(*) FROM tenancy.audit_log WHERE tenant = 'acme' AND step LIKE 'iam_%'"
		  . " AND phase = 'intent'"),
	control("SELECT count(*) FROM tenancy.audit_log WHERE tenant = 'acme' AND step LIKE 'iam_%'"
		  . " AND phase = 'done'"), 'every IAM call has an intent and a done row');
is(control("SELECT string_agg(DISTINCT step, ',' ORDER BY step) FROM tenancy.audit_log"
		  . " WHERE tenant = 'acme' AND step LIKE 'iam_%'"),
	'iam_create_access_key,iam_create_role,iam_create_user,iam_put_assume_policy,iam_put_connect_policy',
	'the IAM steps are audited');

# === a no-op onboard and a healthy check make read requests only ===
$aws->clear_requests;
is(control("SELECT changes FROM tenancy.onboard('acme', ARRAY['db1'], cluster => 'users')"), '0',
	'onboarding again changes nothing');
my @actions = map { $_->{action} } @{ $aws->requests };
is(scalar(grep { !/^(Get|List)/ } @actions), 0, 'and makes only read requests');
is(scalar(@actions), 9, 'nine of them');
$aws->clear_requests;
is(control("SELECT count(*) FROM tenancy.check('acme')"), '0', 'check() finds nothing');
is(scalar(grep { !/^(Get|List)/ } map { $_->{action} } @{ $aws->requests }), 0,
	'with read requests only');

# === drift: found by check(), put right by repair() ===
$aws->plant(kind => 'inline_policy', role => 'tenancy-acme', name => 'extra',
	document => { Version => '2012-10-17', Statement => [ { Effect => 'Allow', Action => '*', Resource => '*' } ] });
$aws->plant(kind => 'attached_policy', role => 'tenancy-acme', policy_arn => 'arn:aws:iam::aws:policy/AdministratorAccess');
my $planted = $aws->plant(kind => 'access_key', user => 'tenancy-acme');
push @secrets, $planted->{secret_access_key};
$aws->plant(kind => 'inline_policy', role => 'tenancy-acme', name => 'rds-db-connect',
	document => { Version => '2012-10-17', Statement => [ { Effect => 'Allow', Action => 'rds-db:connect',
				Resource => "arn:aws:rds-db:eu-central-1:$acct:dbuser:$rid/*" } ] });
my $problems = control("SELECT string_agg(object_type || ' ' || object_name || ': ' || problem, E'\\n'"
	  . " ORDER BY object_name, problem) FROM tenancy.check('acme')");
like($problems, qr/iam_role tenancy-acme: has the inline policy "extra"/, 'check() finds an extra inline policy');
like($problems, qr/AdministratorAccess/, 'an attached managed policy');
like($problems, qr/$planted->{access_key_id}: is an access key aurora_tenancy did not hand out/, 'a foreign key');
like($problems, qr/policy rds-db-connect differs/, 'a widened connect policy');
cmp_ok(control("SELECT tenancy.repair('acme')"), '>=', 4, 'repair() puts it right');
is(control("SELECT count(*) FROM tenancy.check('acme')"), '0', 'and check() is empty again');
$state = $aws->state;
$role = $aws->role('tenancy-acme', $state);
is_deeply([ sort keys %{ $role->{inline_policies} } ], ['rds-db-connect'], 'only our inline policy is left');
is_deeply($role->{attached_policies}, [], 'nothing attached');
is_deeply(keys_of($aws->user('tenancy-acme', $state)), [$key], 'only our key');
like(inline($role, 'rds-db-connect')->{Statement}[0]{Resource}, qr{/acme$}, 'the connect policy is exact again');

# a tag of ours removed: found and put back
$aws->iam_calls([ untag_role => { RoleName => 'tenancy-acme', TagKeys => ['tenancy:cluster'] } ]);
like(control("SELECT string_agg(problem, ',') FROM tenancy.check('acme')"), qr/lacks the tag naming its cluster/,
	'check() finds a tag missing');
control("SELECT tenancy.repair('acme')");
is($aws->role('tenancy-acme')->{tags}{'tenancy:cluster'}, $rid, 'repair() tags the role again');

# a user deleted and made again (tagged as ours, say by a restore): the role's
# trust policy now shows the old user's unique id, so it differs, and is rewritten
my $user_tags = $aws->user('tenancy-acme')->{tags};
my $tags = [ map { { Key => $_, Value => $user_tags->{$_} } } sort keys %$user_tags ];
$aws->iam_calls([ delete_access_key => { UserName => 'tenancy-acme', AccessKeyId => $key } ],
	[ delete_user_policy => { UserName => 'tenancy-acme', PolicyName => 'assume-tenant-role' } ],
	[ delete_user => { UserName => 'tenancy-acme' } ],
	[ create_user => { UserName => 'tenancy-acme', Path => '/tenancy/', Tags => $tags } ]);
like($aws->role('tenancy-acme')->{trust}{Statement}[0]{Principal}{AWS}, qr/^AIDA/,
	'IAM shows the deleted user\'s unique id in the trust policy');
$problems = control("SELECT string_agg(object_type || ': ' || problem, E'\\n' ORDER BY problem) FROM tenancy.check('acme')");
like($problems, qr/iam_role: trusts other principals/, 'check() finds the trust policy changed');
like($problems, qr/iam_user: has no access key from aurora_tenancy/, 'and the key gone');
control("SELECT tenancy.repair('acme')");
is($aws->role('tenancy-acme')->{trust}{Statement}[0]{Principal}{AWS},
	"arn:aws:iam::$acct:user/tenancy/tenancy-acme", 'repair() rewrites the trust policy');
ok(inline($aws->user('tenancy-acme'), 'assume-tenant-role'), 'and the user\'s policy');
($key, $secret) = split /\|/, control("SELECT * FROM tenancy.rotate_access_key('acme')");
push @secrets, $secret;
is(control("SELECT count(*) FROM tenancy.check('acme')"), '0', 'rotate_access_key() makes the missing key');

# === suspend and resume ===
control("SELECT tenancy.suspend('acme')");
$state = $aws->state;
ok(!inline($aws->role('tenancy-acme', $state), 'rds-db-connect'), 'suspended: the connect policy is gone');
is($aws->user('tenancy-acme', $state)->{access_keys}[0]{status}, 'Inactive', 'and the key is inactive');
is(control("SELECT count(*) FROM tenancy.check('acme')"), '0', 'check() agrees with a suspended tenant');
control("SELECT tenancy.resume('acme')");
$state = $aws->state;
ok(inline($aws->role('tenancy-acme', $state), 'rds-db-connect'), 'resumed: the connect policy is back');
is($aws->user('tenancy-acme', $state)->{access_keys}[0]{status}, 'Active', 'and the key is active');

# === allowed IPs, and the trust policy's size ===
control("SELECT tenancy.set_allowed_ips('acme', '{192.0.2.0/24}')");
is_deeply($aws->role('tenancy-acme')->{trust}{Statement}[0]{Condition}{IpAddress}{'aws:SourceIp'},
	['192.0.2.0/24'], 'set_allowed_ips rewrites the trust policy');
my $many = join(',', map { "10.1.$_.1/32" } 1 .. 200);
my ($out, $err) = control_as(undef, "\\set VERBOSITY verbose\nSELECT tenancy.set_allowed_ips('acme', '{$many}')");
like($err, qr/54000: the trust policy of tenant "acme" would have \d+ characters/,
	'a trust policy past IAM\'s size quota is refused');
is(control("SELECT allowed_ips FROM tenancy.tenants WHERE name = 'acme'"), '{192.0.2.0/24}',
	'before the first step');

# === set_iam_auth(false): no IAM principal may connect ===
control("SELECT tenancy.set_iam_auth('acme', false)");
ok(!inline($aws->role('tenancy-acme'), 'rds-db-connect'), 'set_iam_auth(false) removes the connect policy');
control("SELECT tenancy.set_iam_auth('acme', true)");
ok(inline($aws->role('tenancy-acme'), 'rds-db-connect'), 'set_iam_auth(true) puts it back');

# === rotate_access_key: the new key first, then the old one goes ===
my ($key2, $secret2) = split /\|/, control("SELECT * FROM tenancy.rotate_access_key('acme')");
push @secrets, $secret2;
isnt($key2, $key, 'rotate_access_key returns a new key');
is_deeply(keys_of($aws->user('tenancy-acme')), [$key2], 'and the old one is gone');
is(control("SELECT aws_access_key_id FROM tenancy.tenants WHERE name = 'acme'"), $key2, 'the registry follows');

# === faults: every class retried, converging in one call ===
$aws->fault(action => 'CreateUser', kind => 'throttle', count => 3);
$aws->fault(action => 'CreateUser', kind => 'invisible', count => 1, seconds => 2);
$aws->fault(action => 'CreateRole', kind => '500', count => 2);
$aws->fault(action => 'CreateRole', kind => 'drop', count => 1, after => JSON::PP::true);
$aws->fault(action => 'PutRolePolicy', kind => 'concurrent', count => 2);
$aws->fault(action => 'PutUserPolicy', kind => 'unavailable', count => 1);
$aws->fault(action => 'GetRole', kind => 'slow', count => 1, seconds => 1);
$aws->clear_requests;
($key, $secret) = split /\|/, control("SELECT aws_access_key_id, aws_secret_access_key"
	  . " FROM tenancy.onboard('bolt', ARRAY['db1'], cluster => 'users')");
push @secrets, $secret;
like($key, qr/^AKIA/, 'throttling, 5xx, a lost answer, ConcurrentModification, a principal not yet visible: onboarding completes');
my %codes = map { ($_->{code} // $_->{fault} // '') => 1 } @{ $aws->requests };
ok($codes{Throttling} && $codes{ServiceFailure} && $codes{ConcurrentModification}
	  && $codes{ServiceUnavailable} && $codes{drop} && $codes{MalformedPolicyDocument},
	'each fault was met (and retried)') or diag explain \%codes;
$state = $aws->state;
is(scalar(grep { $_->{name} eq 'tenancy-bolt' } @{ $state->{roles} }), 1, 'one role, not two');
is_deeply(keys_of($aws->user('tenancy-bolt', $state)), [$key], 'one key');
is(control("SELECT count(*) FROM tenancy.check('bolt')"), '0', 'and check() is empty');

# a key whose answer was lost: deleted and made anew by the next call
$aws->fault(action => 'CreateAccessKey', kind => 'drop', count => 1, after => JSON::PP::true);
($out, $err) = control_as(undef, "SELECT * FROM tenancy.onboard('coil', ARRAY['db1'], cluster => 'users')");
like($err, qr/could not reach AWS IAM for CreateAccessKey/, 'a lost CreateAccessKey answer fails the call');
my $lost = keys_of($aws->user('tenancy-coil'));
is(scalar(@$lost), 1, 'leaving a key nobody was told');
($key) = split /\|/, control("SELECT aws_access_key_id FROM tenancy.onboard('coil', ARRAY['db1'], cluster => 'users')");
is_deeply(keys_of($aws->user('tenancy-coil')), [$key], 'the next call deletes it and makes one it returns');
isnt($key, $lost->[0], 'a new one');

# === a backend killed between IAM steps: the next call completes, nothing twice ===
$aws->fault(action => 'CreateRole', kind => 'slow', count => 1, seconds => 4);
my $psql_out = '';
my $h = IPC::Run::start(['psql', '-X', '-d', $control->connstr('postgres'), '-c',
		"SELECT * FROM tenancy.onboard('dart', ARRAY['db1'], cluster => 'users')"],
	'>', \$psql_out, '2>', \$psql_out);
$control->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM tenancy.audit_log WHERE tenant = 'dart' AND step = 'iam_create_role' AND phase = 'intent')");
my $pid = control("SELECT pid FROM pg_stat_activity WHERE query LIKE '%onboard(''dart''%' AND pid <> pg_backend_pid()");
kill 'KILL', $pid;
$h->finish;
$control->poll_query_until('postgres', 'SELECT true');
sleep 4;
($key) = split /\|/, control("SELECT aws_access_key_id FROM tenancy.onboard('dart', ARRAY['db1'], cluster => 'users')");
$state = $aws->state;
is(scalar(grep { $_->{name} eq 'tenancy-dart' } @{ $state->{roles} }), 1, 'after kill -9: one role');
is(scalar(grep { $_->{name} eq 'tenancy-dart' } @{ $state->{users} }), 1, 'one user');
is_deeply(keys_of($aws->user('tenancy-dart', $state)), [$key], 'one key, returned');
is(control("SELECT state FROM tenancy.tenants WHERE name = 'dart'"), 'active', 'the tenant is active');
is(control("SELECT count(*) FROM tenancy.check('dart')"), '0', 'check() is empty');
# (the crash may take the intent row with it: intents commit asynchronously)
is(control("SELECT count(*) FROM tenancy.audit_log i WHERE i.tenant = 'dart' AND i.phase = 'intent'"
		  . " AND NOT EXISTS (SELECT 1 FROM tenancy.audit_log o WHERE o.operation_id = i.operation_id"
		  . " AND o.step = i.step AND o.object_name = i.object_name AND o.id > i.id"
		  . " AND o.phase IN ('done', 'failed', 'unknown'))"), '0',
	'onboarding again recorded the outcome of every step the killed call left open');
is(control('SELECT count(*) FROM tenancy.verify_audit_log()'), '0', 'and the audit chain holds');

# === a same-named entity that is not ours is never adopted ===
$aws->plant(kind => 'role', name => 'tenancy-eve', path => '/', tags => { 'tenancy:tenant' => 'eve' });
($out, $err) = control_as(undef, "\\set VERBOSITY verbose\nSELECT * FROM tenancy.onboard('eve', ARRAY['db1'], cluster => 'users')");
like($err, qr/42710: IAM role "tenancy-eve" exists and is not this tenant's/, 'a same-named untagged role is refused');
is(control("SELECT count(*) FROM tenancy.registry WHERE name = 'eve'"), '0', 'before the first step');
ok(!$aws->user('tenancy-eve'), 'no IAM user made');

# === quotas: refused before the first step ===
$aws->quota(UsersQuota => scalar(@{ $aws->state->{users} }));
($out, $err) = control_as(undef, "\\set VERBOSITY verbose\nSELECT * FROM tenancy.onboard('quota1', ARRAY['db1'], cluster => 'users')");
like($err, qr/54000: the AWS account cannot hold another IAM user/, 'a full account is refused');
is(control("SELECT count(*) FROM tenancy.registry WHERE name = 'quota1'"), '0', 'before the first step');
$aws->quota(UsersQuota => 5000);

# === role mode: trusted by the tenant's own principal, with an external id ===
($out, $err) = control_as(undef, "SELECT * FROM tenancy.onboard('part', ARRAY['db1'], cluster => 'roles')");
like($err, qr/tenant "part" has no IAM principal/, 'role mode needs the tenant\'s principal');
($out, $err) = control_as(undef, "SELECT * FROM tenancy.onboard('part', ARRAY['db1'], cluster => 'roles', iam_principal => '*')");
like($err, qr/ERROR/, 'a wildcard principal is refused');
is(control("SELECT count(*) FROM tenancy.registry WHERE name = 'part'"), '0', 'before the first step');
my ($parn, $pkey) = split /\|/, control("SELECT iam_role_arn, aws_access_key_id IS NULL FROM tenancy.onboard('part',"
	  . " ARRAY['db1'], cluster => 'roles', iam_principal => '999988887777')");
is($parn, "arn:aws:iam::$acct:role/tenancy/tenancy-part", 'role mode: the role');
is($pkey, 't', 'and no key');
my $external = control("SELECT iam_external_id FROM tenancy.tenants WHERE name = 'part'");
like($external, qr/^[0-9a-f]{32}$/, 'an external id per tenant');
$state = $aws->state;
ok(!$aws->user('tenancy-part', $state), 'no IAM user');
is_deeply($aws->role('tenancy-part', $state)->{trust}{Statement}, [ { Effect => 'Allow',
			Action => 'sts:AssumeRole', Principal => { AWS => 'arn:aws:iam::999988887777:root' },
			Condition => { StringEquals => { 'sts:ExternalId' => $external } } } ],
	'trusted by the tenant\'s account, with its external id');
is(control("SELECT count(*) FROM tenancy.check('part')"), '0', 'check() is empty (the root ARN IAM shows is the account)');

is(control("SELECT count(*) FROM tenancy.check() WHERE object_type LIKE 'iam%'"), '0',
	'check() of every tenant finds no IAM drift');

# === offboard: everything gone, in IAM's order ===
control("SELECT tenancy.set_deletion_protection('acme', true)");
($out, $err) = control_as(undef, "SELECT * FROM tenancy.offboard('acme')");
like($err, qr/protected against deletion/, 'offboard is refused while protected');
ok($aws->role('tenancy-acme'), 'and the IAM role stays');
control("SELECT tenancy.set_deletion_protection('acme', false)");
for my $tenant (qw(acme bolt coil dart part))
{
	control("SELECT tenancy.set_deletion_protection('$tenant', false)");
	control("SELECT * FROM tenancy.offboard('$tenant')");
}
$state = $aws->state;
is(scalar(grep { $_->{name} =~ /^tenancy-/ && $_->{name} ne 'tenancy-eve' } @{ $state->{roles} }, @{ $state->{users} }),
	0, 'offboarding deletes every IAM entity of its tenants');
ok($aws->role('tenancy-eve', $state), 'and leaves the entity that is not ours');

# === who may set the IAM options ===
control("CREATE ROLE dba; GRANT USAGE ON FOREIGN DATA WRAPPER aurora_tenancy TO dba");
($out, $err) = control_as('dba', "CREATE SERVER mine FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (host 'localhost', iam_provisioning 'role')");
like($err, qr/only a superuser may set option "iam_provisioning"/, 'iam_provisioning is for superusers');

# === no secret in the server log or the audit log ===
my $log = slurp_file($control->logfile);
my $audit = control("SELECT string_agg(a::text, E'\\n') FROM tenancy.audit_log a");
for my $s (@secrets, $AwsDouble::SECRET_KEY)
{
	ok(index($log, $s) < 0 && index($audit, $s) < 0, 'a secret is in no log') or diag "leaked: $s";
}

$aws->stop;
done_testing();
