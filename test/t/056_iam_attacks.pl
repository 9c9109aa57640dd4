# The IAM side of each tenant, attacked (test/aws_double.py as IAM): an
# answer garbled on its way must not crash the backend or lose a key; a
# policy someone put past the first page of a list is still found; a
# tenant's own principal may not be this account's root or another
# tenant's entity; suspend() is not held up by IAM (unreachable, or a
# same-named entity that is not ours); a backend killed mid-rotation
# converges; and no secret reaches a log.
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

my ($aws, $control, $t) = AwsDouble::iam_world('iamatk', "aws_cluster_resource_id '$AwsDouble::RESOURCE_ID', aws_account_id '$AwsDouble::ACCOUNT'");
my $acct = $AwsDouble::ACCOUNT;
my $rid = $AwsDouble::RESOURCE_ID;

my @secrets;
sub keys_of { return AwsDouble::keys_of(@_) }
sub problems
{
	my ($tenant) = @_;
	return control("SELECT string_agg(object_type || ' ' || object_name || ': ' || problem, E'\\n'"
		  . " ORDER BY object_name, problem) FROM tenancy.check('$tenant')") // '';
}
sub crashed { return slurp_file($control->logfile) =~ /terminated by signal/ }
my $admin_doc = { Version => '2012-10-17', Statement => [ { Effect => 'Allow', Action => '*', Resource => '*' } ] };

my ($key, $secret) = split /\|/, control("SELECT aws_access_key_id, aws_secret_access_key"
	  . " FROM tenancy.onboard('page', ARRAY['db1'], cluster => 'users')");
push @secrets, $secret;

# === an answer garbled on its way (HTTP 200, no readable document) ===
# CreateAccessKey made a key, but its answer cannot be read: the call must
# fail (not dereference what is not there), and the next one converge.
$aws->fault(action => 'CreateAccessKey', kind => 'garbled', count => 1);
my ($out, $err) = control_as(undef, "\\set VERBOSITY verbose\nSELECT * FROM tenancy.onboard('garb', ARRAY['db1'], cluster => 'users')");
$control->poll_query_until('postgres', 'SELECT true');
like($err, qr/CreateAccessKey/, 'an unreadable CreateAccessKey answer fails onboard()')
  or diag $err;
ok(!crashed(), 'without crashing the backend');
($key, $secret) = split /\|/, control("SELECT aws_access_key_id, aws_secret_access_key"
	  . " FROM tenancy.onboard('garb', ARRAY['db1'], cluster => 'users')");
push @secrets, $secret;
like($key // '', qr/^AKIA/, 'the next onboard() returns a key');
is_deeply(keys_of($aws->user('tenancy-garb')), [ $key // '' ], 'and it is the only one');

$aws->fault(action => 'CreateAccessKey', kind => 'garbled', count => 1);
($out, $err) = control_as(undef, "SELECT * FROM tenancy.rotate_access_key('garb')");
$control->poll_query_until('postgres', 'SELECT true');
like($err, qr/CreateAccessKey/, 'an unreadable answer fails rotate_access_key()') or diag $err;
ok(!crashed(), 'without crashing the backend');
is(control("SELECT aws_access_key_id FROM tenancy.tenants WHERE name = 'garb'"), $key // '',
	'the registry keeps the key that was handed out');
my ($key2, $secret2) = split /\|/, control("SELECT * FROM tenancy.rotate_access_key('garb')");
push @secrets, $secret2;
is_deeply(keys_of($aws->user('tenancy-garb')), [ $key2 // '' ], 'the next rotation leaves one key, the new one');

# === a policy on the second page of a list ===
# IAM lists a page at a time (IsTruncated, Marker); what is past the first
# page is on the role all the same.
$aws->quota(ListPageSize => 1);
$aws->plant(kind => 'inline_policy', role => 'tenancy-page', name => 'zzz-admin', document => $admin_doc);
$aws->plant(kind => 'inline_policy', user => 'tenancy-page', name => 'zzz-admin', document => $admin_doc);
$aws->plant(kind => 'attached_policy', role => 'tenancy-page', policy_arn => 'arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess');
$aws->plant(kind => 'attached_policy', role => 'tenancy-page', policy_arn => 'arn:aws:iam::aws:policy/AdministratorAccess');
my $planted = $aws->plant(kind => 'access_key', user => 'tenancy-page');
push @secrets, $planted->{secret_access_key};
my $p = problems('page');
like($p, qr/iam_role tenancy-page: has the inline policy "zzz-admin"/, 'check() finds an inline policy past the first page (role)');
like($p, qr/iam_user tenancy-page: has the inline policy "zzz-admin"/, 'and on the user');
like($p, qr/AdministratorAccess/, 'a managed policy past the first page');
like($p, qr/\Q$planted->{access_key_id}\E: is an access key/, 'a key past the first page');
control("SELECT tenancy.repair('page')");
my $state = $aws->state;
is_deeply([ sort keys %{ $aws->role('tenancy-page', $state)->{inline_policies} } ], ['rds-db-connect'],
	'repair() leaves only our inline policy on the role');
is_deeply($aws->role('tenancy-page', $state)->{attached_policies}, [], 'nothing attached');
is_deeply([ sort keys %{ $aws->user('tenancy-page', $state)->{inline_policies} } ], ['assume-tenant-role'],
	'only ours on the user');
is(scalar(@{ keys_of($aws->user('tenancy-page', $state)) }), 1, 'one key');
is(problems('page'), '', 'and check() is empty');
$aws->quota(ListPageSize => 100);

# === a tenant's own principal that is this account's, or another tenant's ===
for my $principal ($acct, "arn:aws:iam::$acct:root", "arn:aws:iam::$acct:user/tenancy/tenancy-page",
	"arn:aws:iam::$acct:role/tenancy/tenancy-page", "arn:aws:iam::$acct:role/TENANCY/tenancy-page")
{
	($out, $err) = control_as(undef, "\\set VERBOSITY verbose\nSELECT * FROM tenancy.onboard('rp1',"
		  . " ARRAY['db1'], cluster => 'roles', iam_principal => '$principal')");
	like($err, qr/22023: invalid IAM principal/, "role mode: principal $principal is refused");
	is(control("SELECT count(*) FROM tenancy.registry WHERE name = 'rp1'"), '0', 'before the first step');
	ok(!$aws->role('tenancy-rp1'), 'no IAM role made');
	# if it was not refused, clean up for the next round
	if (control("SELECT count(*) FROM tenancy.registry WHERE name = 'rp1'") ne '0')
	{
		control("SELECT tenancy.set_deletion_protection('rp1', false)");
		control("SELECT * FROM tenancy.offboard('rp1')");
	}
}

# === suspend() is not held up by IAM ===
sub can_login
{
	my ($role) = @_;
	return $t->bootstrap_psql('postgres', "SELECT rolcanlogin FROM pg_roles WHERE rolname = '$role'");
}
($key, $secret) = split /\|/, control("SELECT aws_access_key_id, aws_secret_access_key"
	  . " FROM tenancy.onboard('susp', ARRAY['db1'], cluster => 'users')");
push @secrets, $secret;
($out, $err) = control_as(undef, "SET tenancy.aws_iam_endpoint = 'http://127.0.0.1:9/';"
	  . " SET tenancy.aws_retry_timeout = '1s'; SELECT tenancy.suspend('susp')");
like($err, qr/could not reach AWS IAM/, 'suspend() with IAM unreachable says so');
is(can_login('susp'), 'f', 'but the tenant can no longer log in');
is(control("SELECT state FROM tenancy.tenants WHERE name = 'susp'"), 'suspended', 'and is suspended');
control("SELECT tenancy.suspend('susp')");
$state = $aws->state;
ok(!$aws->role('tenancy-susp', $state)->{inline_policies}{'rds-db-connect'},
	'suspend() again completes the IAM side: no connect policy');
is($aws->user('tenancy-susp', $state)->{access_keys}[0]{status}, 'Inactive', 'the key inactive');
is(problems('susp'), '', 'check() agrees');
control("SELECT tenancy.resume('susp')");
is(can_login('susp'), 't', 'resume() restores the login');

# the tenant's role replaced by one that is not ours: suspend() still suspends
my $role = $aws->role('tenancy-susp');
$aws->iam_calls([ delete_role_policy => { RoleName => 'tenancy-susp', PolicyName => 'rds-db-connect' } ],
	[ delete_role => { RoleName => 'tenancy-susp' } ],
	[ create_role => { RoleName => 'tenancy-susp', Path => '/',
			AssumeRolePolicyDocument => encode_json($role->{trust}) } ],
	[ put_role_policy => { RoleName => 'tenancy-susp', PolicyName => 'rds-db-connect',
			PolicyDocument => encode_json({ Version => '2012-10-17', Statement => [ { Effect => 'Allow',
						Action => 'rds-db:connect', Resource => "arn:aws:rds-db:eu-central-1:$acct:dbuser:$rid/susp" } ] }) } ]);
($out, $err) = control_as(undef, "SELECT tenancy.suspend('susp')");
is($err, '', 'suspend() with a foreign role of the tenant\'s name succeeds');
is(can_login('susp'), 'f', 'the tenant can no longer log in (IAM tokens included)');
like(problems('susp'), qr/iam_role tenancy-susp: IAM role "tenancy-susp" exists and is not this tenant's/,
	'check() reports the foreign role');
ok($aws->role('tenancy-susp')->{inline_policies}{'rds-db-connect'}, 'which is left alone');

# === a backend killed during a rotation: the next call converges ===
($key) = split /\|/, control("SELECT aws_access_key_id FROM tenancy.tenants WHERE name = 'page'");
$aws->fault(action => 'DeleteAccessKey', kind => 'slow', count => 1, seconds => 4);
my $psql_out = '';
my $h = IPC::Run::start(['psql', '-X', '-d', $control->connstr('postgres'), '-c',
		"SELECT * FROM tenancy.rotate_access_key('page')"], '>', \$psql_out, '2>', \$psql_out);
$control->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM tenancy.audit_log WHERE tenant = 'page' AND step = 'iam_delete_access_key'"
	  . " AND phase = 'intent' AND object_name = '$key')");
my $pid = control("SELECT pid FROM pg_stat_activity WHERE query LIKE '%rotate_access_key(''page''%' AND pid <> pg_backend_pid()");
kill 'KILL', $pid;
$h->finish;
$control->poll_query_until('postgres', 'SELECT true');
sleep 4;
is(index($psql_out, 'AKIA'), -1, 'the killed rotation told nobody a key');
($key2, $secret2) = split /\|/, control("SELECT * FROM tenancy.rotate_access_key('page')");
push @secrets, $secret2;
is_deeply(keys_of($aws->user('tenancy-page')), [$key2], 'the next rotation: one key, the one returned');
control("SELECT tenancy.repair('page')");
is(problems('page'), '', 'repair() resolves the intent left open');

# === forged tags: a copy of this control database, or someone who read them ===
# (without the tag tenancy:marker, an HMAC only this control database can
# make, copied tags prove nothing)
my $install = control('SELECT id FROM tenancy.installation');
# tagged as ours, but for another cluster (a restored copy managing staging)
$aws->plant(kind => 'role', name => 'tenancy-copy', path => '/tenancy/',
	tags => { 'tenancy:tenant' => 'copy', 'tenancy:installation' => $install,
		'tenancy:cluster' => 'cluster-OTHERCLUSTER0000000000' });
($out, $err) = control_as(undef, "SELECT * FROM tenancy.onboard('copy', ARRAY['db1'], cluster => 'users')");
like($err, qr/IAM role "tenancy-copy" exists and is not this tenant's/,
	'an entity tagged for another cluster is not ours');
is(control("SELECT count(*) FROM tenancy.registry WHERE name = 'copy'"), '0', 'refused before the first step');
# every tag of another tenant's role, marker included, on a role of this name
my %copied = %{ $aws->role('tenancy-page')->{tags} };
$aws->plant(kind => 'role', name => 'tenancy-mimic', path => '/tenancy/',
	tags => { %copied, 'tenancy:tenant' => 'mimic' });
($out, $err) = control_as(undef, "SELECT * FROM tenancy.onboard('mimic', ARRAY['db1'], cluster => 'users')");
like($err, qr/IAM role "tenancy-mimic" exists and is not this tenant's/,
	'a marker copied from another entity proves nothing (it signs kind, name, tenant and cluster)');
# made with our tags between our look and our create, trusting someone else:
# the create's EntityAlreadyExists does not adopt it
$aws->plant(kind => 'role', name => 'tenancy-race', path => '/tenancy/', invisible_seconds => 1,
	tags => { 'tenancy:tenant' => 'race', 'tenancy:installation' => $install, 'tenancy:cluster' => $rid },
	trust => { Version => '2012-10-17', Statement => [ { Effect => 'Allow', Action => 'sts:AssumeRole',
				Principal => { AWS => 'arn:aws:iam::999999999999:root' } } ] });
$aws->fault(action => 'CreateRole', kind => 'slow', count => 1, seconds => 2);
($out, $err) = control_as(undef, "SELECT * FROM tenancy.onboard('race', ARRAY['db1'], cluster => 'users')");
like($err, qr/IAM role "tenancy-race" exists and is not this tenant's/,
	'a role made with copied tags in the race, trusting another principal, is refused');
ok(!$aws->role('tenancy-race')->{inline_policies}{'rds-db-connect'}, 'and gets no connect policy');

# === offboarding: everything of ours goes, the foreign role stays ===
for my $tenant (qw(page garb susp race))
{
	control("SELECT tenancy.set_deletion_protection('$tenant', false)");
	control("SELECT * FROM tenancy.offboard('$tenant')");
}
$state = $aws->state;
is_deeply([ sort map { $_->{name} } grep { $_->{name} =~ /^tenancy-/ } @{ $state->{roles} }, @{ $state->{users} } ],
	['tenancy-copy', 'tenancy-mimic', 'tenancy-race', 'tenancy-susp'], 'offboarding leaves only the roles that are not ours');

# === no secret in the server log or the audit log ===
my $log = slurp_file($control->logfile);
my $audit = control("SELECT string_agg(a::text, E'\\n') FROM tenancy.audit_log a");
for my $s (grep { defined } @secrets, $AwsDouble::SECRET_KEY)
{
	ok(index($log, $s) < 0 && index($audit, $s) < 0, 'a secret is in no log') or diag "leaked: $s";
}

$aws->stop;
done_testing();
