# The tenant lifecycle over real connections: suspend ends sessions and
# refuses logins, resume restores them; rotate_password and set_iam_auth
# change what logs in; offboard leaves nothing of the tenant in pg_roles,
# pg_database or pg_shdepend; drift made by hand is found by check() and
# fixed by repair().
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PasswordLogins;

my $node = PostgreSQL::Test::Cluster->new('lifecycle');
$node->init;
$node->append_conf('postgresql.conf', "password_encryption = 'scram-sha-256'\n"
	  . "shared_preload_libraries = 'aurora_tenancy'\n");
$node->start;
password_logins_only($node);

$node->safe_psql('postgres', 'CREATE ROLE rds_iam NOLOGIN; CREATE EXTENSION aurora_tenancy;'
	  . ' REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC;');
my $pw = $node->safe_psql('postgres',
	"SELECT password FROM tenancy.onboard('client01', ARRAY['db1', 'db2'], iam_auth => false)");

sub as_tenant
{
	my ($password, $db) = @_;
	return $node->connstr($db // 'client01_db1') . " user=client01 password=$password";
}

# suspend: the open session is gone, new logins are refused
my $session = $node->background_psql('client01_db1', on_error_stop => 0,
	extra_params => [ '-d', as_tenant($pw) ]);
is($session->query_safe('SELECT current_user'), 'client01', 'the tenant has an open session');
$node->safe_psql('postgres', "SELECT tenancy.suspend('client01')");
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE usename = 'client01'"),
	'0', 'suspend: the open session is gone');
my $answered = eval { $session->query('SELECT 1'); 1 };
ok(!$answered || $session->{stderr} =~ /terminating connection|server closed the connection/,
	'suspend: the session cannot run anything any more');
eval { $session->quit };
$node->connect_fails(as_tenant($pw), 'suspend: the tenant cannot log in',
	expected_stderr => qr/not permitted to log in/);

# resume: logins work again, with the same password
$node->safe_psql('postgres', "SELECT tenancy.resume('client01')");
$node->connect_ok(as_tenant($pw), 'resume: the tenant logs in again', sql => 'SELECT 1');

# rotate: the old password fails, the new one works
my $new = $node->safe_psql('postgres', "SELECT tenancy.rotate_password('client01')");
isnt($new, $pw, 'rotate: a new password');
$node->connect_fails(as_tenant($pw), 'rotate: the old password fails',
	expected_stderr => qr/password authentication failed/);
$node->connect_ok(as_tenant($new), 'rotate: the new password works', sql => 'SELECT 1');

# IAM auth on and off: the password set when switching back works
$node->safe_psql('postgres', "SELECT tenancy.set_iam_auth('client01', true)");
my $after_iam = $node->safe_psql('postgres', "SELECT tenancy.set_iam_auth('client01', false)");
like($after_iam, qr/^[A-Za-z0-9]{32,}$/, 'set_iam_auth(false) returns a password');
$node->connect_ok(as_tenant($after_iam), 'which logs in', sql => 'SELECT 1');
$node->connect_fails(as_tenant($new), 'and the one before does not',
	expected_stderr => qr/password authentication failed/);

# drift made by hand: found by check(), fixed by repair(), check() empty after
# (the object guard refuses GRANT ... TO PUBLIC and CREATEDB on tenants: a
# superuser's catalog edit it cannot stop; DROP DATABASE once unprotected)
$node->safe_psql('postgres', q{
UPDATE pg_database SET datacl = array_append(datacl, makeaclitem(0, datdba, 'CONNECT', false))
WHERE datname = 'client01_db1';
UPDATE pg_authid SET rolcreatedb = true WHERE rolname = 'client01';
REVOKE TEMPORARY ON DATABASE client01_db1 FROM client01;
SELECT tenancy.set_deletion_protection('client01', false);
DROP DATABASE client01_db2;
});
my $problems = $node->safe_psql('postgres',
	"SELECT string_agg(object_name || ': ' || problem, E'\\n' ORDER BY object_name, problem) FROM tenancy.check()");
like($problems, qr/client01_db1: PUBLIC holds a privilege on the database/, 'check: PUBLIC CONNECT found');
like($problems, qr/client01: the tenant role has an attribute it must not have/, 'check: CREATEDB found');
like($problems, qr/client01_db2: the database is missing/, 'check: the dropped database found');
ok($node->safe_psql('postgres', 'SELECT tenancy.repair()') > 0, 'repair runs the fixes');
is($node->safe_psql('postgres', 'SELECT count(*) FROM tenancy.check()'), '0', 'check is empty after repair');
$node->connect_ok(as_tenant($after_iam, 'client01_db2'), 'the tenant reaches its re-created database',
	sql => 'SELECT 1');
is($node->safe_psql('postgres',
	"SELECT has_database_privilege('public', 'client01_db1', 'CONNECT')::text || rolcreatedb::text"
	  . " FROM pg_roles WHERE rolname = 'client01'"),
	'falsefalse', 'PUBLIC and CREATEDB are gone again');

# offboard: nothing of the tenant is left in the shared catalogs
$session = $node->background_psql('client01_db1', on_error_stop => 0,
	extra_params => [ '-d', as_tenant($after_iam) ]);
$session->query_safe('CREATE TABLE mine (id int)');
$node->safe_psql('postgres', q{
CREATE TABLE public.shared_thing (id int);
GRANT SELECT ON public.shared_thing TO client01;
SELECT tenancy.set_deletion_protection('client01', false);
});
is($node->safe_psql('postgres', "SELECT dropped_databases FROM tenancy.offboard('client01')"),
	'{client01_db1,client01_db2}', 'offboard drops both databases, with the session open');
eval { $session->quit };
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_roles WHERE rolname = 'client01'"), '0',
	'offboard: no role');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'client01%'"), '0',
	'offboard: no database');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass"
	  . " AND refobjid NOT IN (SELECT oid FROM pg_authid)"), '0',
	'offboard: no dependency on the dropped role in pg_shdepend');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_shseclabel WHERE label = 'tenant=client01'"), '0',
	'offboard: no marker');
ok($node->safe_psql('postgres', "SELECT count(*) FROM tenancy.audit_log WHERE tenant = 'client01'") > 20,
	'the audit rows stay');
$node->connect_fails(as_tenant($after_iam, 'postgres'), 'the tenant can no longer log in',
	expected_stderr => qr/password authentication failed/);

$node->stop;
done_testing();
