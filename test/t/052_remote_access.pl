# Who may reach a target cluster, and how: the server's options checked as
# postgres_fdw checks them, a non-superuser never connecting with the
# server's own credentials, an admin that would lock itself out refused,
# IAM auth end to end (a token signed with a fixed clock and key is the
# admin's password there), and a target that is slow or dies mid-onboard:
# a clear error naming the cluster, an intent row resolved later, and a
# re-run that converges.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use Target;
use Control;

plan skip_all => 'no target PostgreSQL installed' unless Target::available(15);

my $t = Target->new('target', 15, log_statement => 1);
$t->start;
my $control = Control::start();

my $port  = $t->port;
my $ca    = $t->ca_file;
my $admin = $t->admin_user;
my $apw   = $t->admin_password;
my $where = server_options($t);

add_cluster('aurora', $t);
control(q{
CREATE ROLE dba LOGIN;
GRANT USAGE ON SCHEMA tenancy TO dba;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tenancy TO dba;
});

# --- the server's options ---
my ($out, $err) = control_as(undef,
	"CREATE SERVER bad1 FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (client_encoding 'LATIN1')");
like($err, qr/invalid option "client_encoding"/, 'an option libpq or the extension does not take is refused');
($out, $err) = control_as(undef,
	"CREATE SERVER bad2 FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (auth 'trust')");
like($err, qr/invalid value for option "auth"/, 'auth is password or iam');
($out, $err) = control_as(undef,
	"CREATE SERVER bad3 FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (host 'x', auth 'iam', sslmode 'require')");
like($err, qr/auth 'iam' requires sslmode 'verify-full'/, 'IAM tokens only over verify-full');
($out, $err) = control_as(undef,
	"CREATE USER MAPPING FOR dba SERVER aurora OPTIONS (sslkey '/tmp/k')");
like($err, qr/invalid option "sslkey".*\n.*HINT:  A user mapping takes user and password/,
	'a user mapping takes only user and password');
$control->safe_psql('postgres', 'GRANT USAGE ON FOREIGN DATA WRAPPER aurora_tenancy TO dba');
($out, $err) = control_as('dba',
	"CREATE SERVER mine FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (host 'x', sslrootcert '/etc/passwd')");
like($err, qr/only a superuser may set option "sslrootcert"/,
	'a non-superuser sets no option that reads a file');
($out, $err) = control_as('dba',
	"CREATE SERVER mine FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (host 'x', service 'prod')");
like($err, qr/only a superuser may set option "service"/,
	'... nor one that reads the environment');
$control->safe_psql('postgres', 'REVOKE USAGE ON FOREIGN DATA WRAPPER aurora_tenancy FROM dba');

# no option value smuggles in a connection string
$control->safe_psql('postgres', qq{
CREATE SERVER smuggle FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (
	host 'localhost', hostaddr '127.0.0.1', port '$port', sslmode 'verify-full', sslrootcert '$ca',
	dbname 'postgres user=postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER smuggle OPTIONS (user '$admin', password '$apw');
});
($out, $err) = control_as(undef, onboard_sql('s1', 'smuggle'));
like($err, qr/could not connect to cluster "smuggle", database "postgres user=postgres".*database "postgres user=postgres" does not exist/s,
	'dbname is a database name, never a connection string');

# --- who may use a cluster ---
($out, $err) = control_as(undef, onboard_sql('n1', 'nosuch'));
like($err, qr/cluster "nosuch" does not exist/, 'an unknown cluster is refused');
($out, $err) = control_as('dba', onboard_sql('n1', 'aurora'));
like($err, qr/permission denied for foreign server aurora/, 'no USAGE on the server: refused');
$control->safe_psql('postgres', 'GRANT USAGE ON FOREIGN SERVER aurora TO dba');
($out, $err) = control_as('dba', onboard_sql('n1', 'aurora'));
like($err, qr/user mapping not found for "dba"/, 'no user mapping: refused');
$control->safe_psql('postgres', "CREATE USER MAPPING FOR dba SERVER aurora OPTIONS (user '$admin')");
($out, $err) = control_as('dba', onboard_sql('n1', 'aurora'));
like($err, qr/password is required to reach cluster "aurora"/,
	"a non-superuser's mapping without a password: refused");
$control->safe_psql('postgres', "ALTER USER MAPPING FOR dba SERVER aurora OPTIONS (ADD password '$apw')");
($out, $err) = control_as('dba', onboard_sql('n1', 'aurora'));
is($out, '6', 'with USAGE and a mapping with the password, a non-superuser onboards');
is($control->safe_psql('postgres',
		"SELECT DISTINCT session_user_name || ' as ' || cluster_user || ' on ' || cluster"
		  . " FROM tenancy.audit_log WHERE tenant = 'n1'"),
	"dba as $admin on aurora", 'the audit rows name the caller, the remote user and the cluster');
is($control->safe_psql('postgres', "SELECT count(*) FROM tenancy.audit_log WHERE statement LIKE '%$apw%'"
		  . " OR message LIKE '%$apw%'"),
	'0', "the mapping's password appears in no audit row");
($out, $err) = control_as(undef, "SELECT changes FROM tenancy.onboard('n1', ARRAY['db1'], iam_auth => false, cluster => '')");
like($err, qr/tenant "n1" lives on cluster "aurora"/, 'a tenant does not move between clusters');

# a remote admin that inherits rds_iam would lock itself out on Aurora
$t->bootstrap_psql('postgres', "SET log_statement = 'none'; CREATE ROLE locked LOGIN CREATEROLE CREATEDB"
	  . " PASSWORD 'locked-pw' IN ROLE rds_iam");
$control->safe_psql('postgres', qq{
CREATE SERVER aurora_locked FOREIGN DATA WRAPPER aurora_tenancy OPTIONS ($where);
CREATE USER MAPPING FOR CURRENT_USER SERVER aurora_locked OPTIONS (user 'locked', password 'locked-pw');
});
($out, $err) = control_as(undef, onboard_sql('l1', 'aurora_locked'));
like($err, qr/remote admin "locked" of cluster "aurora_locked" is a member of the IAM role "rds_iam"/,
	'a password admin that inherits rds_iam is refused before the first step');
is($control->safe_psql('postgres', "SELECT count(*) FROM tenancy.registry WHERE name = 'l1'"),
	'0', '... and nothing was registered');

# --- IAM auth end to end, without AWS ---
my $aws = "SET tenancy.aws_imds_endpoint = ''; SET tenancy.aws_access_key_id = 'AKIDEXAMPLE';"
  . " SET tenancy.aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';"
  . " SET tenancy.aws_session_token = ''; SET tenancy.aws_signing_time = '20261202T000000Z';";
my $token = $control->safe_psql('postgres',
	"$aws SELECT tenancy.iam_auth_token('localhost', $port, 'iam_admin', 'eu-central-1')");
like($token, qr/^localhost:$port\/\?Action=connect&DBUser=iam_admin&/, 'the token the extension will send');
$t->bootstrap_psql('postgres', "SET log_statement = 'none'; CREATE ROLE iam_admin LOGIN CREATEROLE CREATEDB"
	  . " PASSWORD '$token' IN ROLE rds_iam");
$control->safe_psql('postgres', qq{
CREATE SERVER aurora_iam FOREIGN DATA WRAPPER aurora_tenancy OPTIONS ($where, auth 'iam', aws_region 'eu-central-1');
CREATE USER MAPPING FOR CURRENT_USER SERVER aurora_iam OPTIONS (user 'iam_admin');
CREATE USER MAPPING FOR dba SERVER aurora_iam OPTIONS (user 'iam_admin');
GRANT USAGE ON FOREIGN SERVER aurora_iam TO dba;
});
($out, $err) = control_as(undef, $aws . onboard_sql('i1', 'aurora_iam', 1));
is($out, '7', 'auth iam: the extension logs in with the token it signed');
is($t->bootstrap_psql('postgres', "SELECT pg_has_role('i1', 'rds_iam', 'MEMBER')"), 't',
	'... and the IAM tenant is a member of rds_iam');
($out, $err) = control_as(undef, $aws . "SET tenancy.aws_signing_time = '20261202T000001Z';"
	  . onboard_sql('i2', 'aurora_iam', 1));
like($err, qr/could not connect to cluster "aurora_iam".*password authentication failed for user "iam_admin"/s,
	'a token signed at another time does not log in');
($out, $err) = control_as(undef, $aws . "SET tenancy.aws_secret_access_key = 'wrong';"
	  . onboard_sql('i2', 'aurora_iam', 1));
like($err, qr/password authentication failed for user "iam_admin"/, '... nor one signed with another key');
# the server's own credentials (settings only a superuser can make)
$control->safe_psql('postgres', join("\n", map { s/^ *SET (\S+) = (.*)$/ALTER SYSTEM SET $1 = $2;/r } split /;/, $aws)
	  . "\nSELECT pg_reload_conf();");
($out, $err) = control_as('dba', onboard_sql('i2', 'aurora_iam', 1));
like($err, qr/user "iam_admin" may not log in to cluster "aurora_iam" with the server's IAM identity/,
	'a non-superuser is mapped only to a remote user the server lists in iam_users');
$control->safe_psql('postgres', "ALTER SERVER aurora_iam OPTIONS (ADD iam_users 'iam_admin')");
($out, $err) = control_as('dba', onboard_sql('i2', 'aurora_iam', 1));
is($out, '7', '... and once it is listed, onboards');
my $log = $t->log_content . slurp_file($control->logfile);
unlike($log, qr/X-Amz-Signature/, 'no token in either server log');
is($control->safe_psql('postgres', "SELECT count(*) FROM tenancy.audit_log WHERE statement LIKE '%X-Amz-%'"
		  . " OR message LIKE '%X-Amz-%'"),
	'0', 'no token in the audit log');

# --- a slow target: a clear error, never a hang ---
my $blocker = $t->node->background_psql('postgres');
$blocker->query_safe('BEGIN; LOCK pg_catalog.pg_database IN SHARE ROW EXCLUSIVE MODE');
($out, $err) = control_as(undef, "SET tenancy.remote_statement_timeout = '1s'; " . onboard_sql('f1', 'aurora'));
like($err, qr/timeout while waiting for cluster "aurora", database "postgres"/,
	'a statement the target does not answer times out, naming the cluster');
is($t->bootstrap_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE usename = '$admin'"
		  . " AND wait_event_type = 'Lock'"),
	'0', '... and the remote statement was cancelled');
$blocker->query_safe('ROLLBACK');

# --- a target that dies mid-onboard ---
$blocker->query_safe('BEGIN; LOCK pg_catalog.pg_database IN SHARE ROW EXCLUSIVE MODE');
my $onboarding = $control->background_psql('postgres', on_error_stop => 0);
$onboarding->query_until(qr/started/, "\\echo started\n" . onboard_sql('f2', 'aurora') . ";\n");
$t->node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE usename = '$admin' AND query LIKE 'CREATE DATABASE%'")
  or die 'onboarding never reached CREATE DATABASE';
$t->stop('immediate');
$onboarding->quit;
like($onboarding->{stderr}, qr/lost the connection to cluster "aurora"|could not connect to cluster "aurora"/,
	'the target dying mid-onboard is a clear error naming the cluster');
($out, $err) = control_as(undef, onboard_sql('f2', 'aurora'));
like($err, qr/could not connect to cluster "aurora", database "postgres"/, 'while it is down, every call says so');
like(control("SELECT object_name || ': ' || problem FROM tenancy.check() WHERE object_type = 'cluster'"),
	qr/^aurora: could not be checked: could not connect to cluster "aurora"/m,
	'check() of every tenant: a cluster that is down is one row, the others are checked');
($out, $err) = control_as(undef, 'SELECT tenancy.repair()');
like($err, qr/WARNING:  tenant "f2" was not repaired: could not connect to cluster "aurora"/,
	'repair() of every tenant: a tenant whose cluster is down is a warning');
is($out, '0', '... and the call completes');
$t->start;
is($control->safe_psql('postgres', "SELECT problem FROM tenancy.check('f2') WHERE object_type = 'audit'"),
	'an audit intent has no outcome', "check() reports the step whose outcome nobody saw");
($out) = control_as(undef, onboard_sql('f2', 'aurora'));
cmp_ok($out, '>', 0, 'once it is back, onboarding again completes');
($out) = control_as(undef, onboard_sql('f2', 'aurora'));
is($out, '0', '... and converges');
$control->safe_psql('postgres', "SELECT tenancy.repair('f2')");
is($control->safe_psql('postgres', "SELECT count(*) FROM tenancy.check('f2')"), '0',
	'repair() records the outcome; nothing is left to report');
is($control->safe_psql('postgres', 'SELECT count(*) FROM tenancy.verify_audit_log()'), '0',
	'the audit chain holds');

done_testing();
