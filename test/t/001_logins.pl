# Real logins over real connections: a tenant reaches its own databases with
# the password onboard returned, and nothing else; PUBLIC reaches nothing
# new; the password never reaches the server log, even with log_statement = all.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PasswordLogins;

my $node = PostgreSQL::Test::Cluster->new('logins');
$node->init;
$node->append_conf('postgresql.conf', qq{
log_statement = 'all'
log_min_messages = debug1
log_error_verbosity = verbose
password_encryption = 'scram-sha-256'
});
$node->start;

password_logins_only($node);

$node->safe_psql('postgres', q{
CREATE ROLE rds_iam NOLOGIN;
CREATE EXTENSION aurora_tenancy;
CREATE ROLE regress_outsider LOGIN PASSWORD 'outsider-pw';
});

sub onboard_password
{
	my ($tenant, @dbs) = @_;
	my $list = join(',', map { "'$_'" } @dbs);
	return $node->safe_psql('postgres',
		"SELECT password FROM tenancy.onboard('$tenant', ARRAY[$list], iam_auth => false)");
}

my $pw1 = onboard_password('client01', 'db1', 'db2');
my $pw2 = onboard_password('client02', 'db1');
like($pw1, qr/^[A-Za-z0-9]{32,}$/, 'onboard returns a password of at least 32 characters');
isnt($pw1, $pw2, 'each tenant gets its own password');

sub as_user
{
	my ($user, $pw, $db) = @_;
	return $node->connstr($db) . " user=$user password=$pw";
}

$node->connect_ok(as_user('client01', $pw1, 'client01_db1'), 'tenant logs in to its first database',
	sql => 'SELECT 1');
$node->connect_ok(as_user('client01', $pw1, 'client01_db2'), 'tenant logs in to its second database',
	sql => 'SELECT 1');
$node->connect_fails(as_user('client01', 'wrong' . $pw1, 'client01_db1'), 'a wrong password is refused',
	expected_stderr => qr/password authentication failed/);
$node->connect_fails(as_user('client01', $pw1, 'client02_db1'), "tenant is refused on another tenant's database",
	expected_stderr => qr/permission denied for database "client02_db1"/);
$node->connect_fails(as_user('client02', $pw2, 'client01_db1'), 'and the other way round',
	expected_stderr => qr/permission denied for database "client01_db1"/);
$node->connect_fails(as_user('regress_outsider', 'outsider-pw', 'client01_db1'),
	'PUBLIC cannot connect to a tenant database',
	expected_stderr => qr/permission denied for database "client01_db1"/);

# inside its database the tenant may create in schema public, and use temp tables
my ($ret, $out, $err) = $node->psql('client01_db1',
	'CREATE TABLE public.t (id int); CREATE TEMP TABLE tt (id int); SELECT current_user',
	connstr => as_user('client01', $pw1, 'client01_db1'));
is($ret, 0, 'tenant creates tables in its schema public');
is($out, 'client01', 'as itself');

# a role with access to the database but not the schema (PUBLIC revoked there)
$node->safe_psql('postgres', 'GRANT CONNECT ON DATABASE client01_db1 TO regress_outsider');
($ret, $out, $err) = $node->psql('client01_db1', 'CREATE TABLE public.u (id int)',
	connstr => as_user('regress_outsider', 'outsider-pw', 'client01_db1'));
like($err, qr/permission denied for schema public/, 'PUBLIC cannot create in schema public');
($ret, $out, $err) = $node->psql('client01_db1', 'SELECT * FROM public.t',
	connstr => as_user('regress_outsider', 'outsider-pw', 'client01_db1'));
like($err, qr/permission denied for schema public/, 'nor use it');
$node->safe_psql('postgres', 'REVOKE CONNECT ON DATABASE client01_db1 FROM regress_outsider');

# the tenant cannot open its database to PUBLIC: it does not own it
($ret, $out, $err) = $node->psql('client01_db1', 'GRANT CONNECT ON DATABASE client01_db1 TO PUBLIC',
	connstr => as_user('client01', $pw1, 'client01_db1'));
like($err, qr/no privileges were granted/, 'the tenant cannot grant its database to PUBLIC');
is($node->safe_psql('postgres', "SELECT has_database_privilege('public', 'client01_db1', 'CONNECT')"),
	'f', 'PUBLIC still cannot connect');

# nothing secret in the server log, with log_statement = all
my $log = slurp_file($node->logfile);
like($log, qr/tenancy\.onboard/, 'the log does hold the statements');
unlike($log, qr/\Q$pw1\E/, "the first tenant's password is not in the log");
unlike($log, qr/\Q$pw2\E/, "the second tenant's password is not in the log");
unlike($log, qr/SCRAM-SHA-256\$/, 'no SCRAM verifier is in the log');

# nor in pg_stat_activity's last statements, nor in the audit log
my $verifier = $node->safe_psql('postgres', "SELECT rolpassword FROM pg_authid WHERE rolname = 'client01'");
like($verifier, qr/^SCRAM-SHA-256\$4096:/, 'the role has a SCRAM verifier');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM tenancy.audit_log WHERE statement LIKE '%SCRAM-SHA-256%' OR statement LIKE '%$pw1%'"),
	'0', 'the audit log holds neither');

$node->stop;
done_testing();
