# A whole cluster, dumped with pg_dumpall and restored into a fresh cluster
# that preloads the library, is a cluster the extension fully manages: the
# tenant markers come back, check() finds nothing, tenants log in, and every
# operation works on the restored tenants.  Restored where the library is not
# preloaded, the markers are lost, and check() says what is wrong and how to
# fix it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PasswordLogins;

sub new_cluster
{
	my ($name, $preload) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "password_encryption = 'scram-sha-256'\n"
		  . ($preload ? "shared_preload_libraries = 'aurora_tenancy'\n" : ''));
	$node->start;
	password_logins_only($node);
	return $node;
}

my $source = new_cluster('source', 1);
$source->safe_psql('postgres', q{
CREATE ROLE rds_iam NOLOGIN;
REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC;
CREATE DATABASE control;
REVOKE CONNECT, TEMPORARY ON DATABASE control FROM PUBLIC;
});
$source->safe_psql('control', 'CREATE EXTENSION aurora_tenancy');
$source->safe_psql('control', "SELECT * FROM tenancy.onboard('client01', ARRAY['db1', 'db2'])");
my $pw = $source->safe_psql('control',
	"SELECT password FROM tenancy.onboard('client02', ARRAY['db1'], iam_auth => false)");
$source->safe_psql('client02_db1', 'CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)',
	extra_params => [ '-d', $source->connstr('client02_db1') . " user=client02 password=$pw" ]);
is($source->safe_psql('control', 'SELECT count(*) FROM tenancy.check()'), '0', 'the source cluster is healthy');

my $dump = PostgreSQL::Test::Utils::tempdir() . '/all.sql';
command_ok([ 'pg_dumpall', '-d', $source->connstr('postgres'), '-f', $dump ], 'pg_dumpall of the cluster');
like(slurp_file($dump), qr/SECURITY LABEL FOR aurora_tenancy ON ROLE client01 IS 'tenant=client01'/,
	'the dump holds the role markers');

# restored where the library is preloaded: everything is back and works
my $target = new_cluster('target', 1);
my ($out, $err) = run_command([ 'psql', '-X', '-q', '-d', $target->connstr('postgres'), '-f', $dump ]);
my @errors = grep { /ERROR/ } split /\n/, $err;
is_deeply(\@errors, [ grep { /role "postgres" already exists/ } @errors ],
	'the restore fails on nothing but the existing postgres role') or diag $err;
is($target->safe_psql('control', "SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM tenancy.tenants"),
	'client01:active,client02:active', 'the registry is back');
is($target->safe_psql('control', "SELECT count(*) FROM pg_shseclabel WHERE provider = 'aurora_tenancy'"),
	'5', 'the markers of 2 roles and 3 databases are back');
is($target->safe_psql('control', "SELECT count(*) FROM tenancy.check() WHERE tenant IS NOT NULL"), '0',
	'check() finds nothing wrong with the restored tenants');
# pg_dumpall does not carry the ACLs of postgres and template1 into the new
# cluster's own: check() says they are open to PUBLIC again
is($target->safe_psql('control', "SELECT string_agg(object_name, ',' ORDER BY object_name) FROM tenancy.check()"),
	'postgres,template1', 'and says that postgres and template1 are open to PUBLIC again');
$target->connect_ok($target->connstr('client02_db1') . " user=client02 password=$pw",
	'the tenant logs in to the restored cluster with its password', sql => 'SELECT * FROM orders');
like($target->safe_psql('control', "SELECT tenancy.rotate_password('client02')"), qr/^[A-Za-z0-9]{40}$/,
	'a restored tenant can be managed: rotate_password');
is($target->safe_psql('control', "SELECT tenancy.add_database('client01', 'db3')"), 'client01_db3',
	'add_database');
$target->safe_psql('control', "SELECT tenancy.set_deletion_protection('client01', false)");
is($target->safe_psql('control', "SELECT dropped_databases FROM tenancy.offboard('client01')"),
	'{client01_db1,client01_db2,client01_db3}', 'offboard');

# restored where the library is not preloaded: the markers cannot be restored
my $bare = new_cluster('bare', 0);
($out, $err) = run_command([ 'psql', '-X', '-q', '-d', $bare->connstr('postgres'), '-f', $dump ]);
like($err, qr/security label provider "aurora_tenancy" is not loaded/, 'without the preload the markers fail');
my $problems = $bare->safe_psql('control',
	"SELECT string_agg(coalesce(tenant, '-') || ' ' || object_name || ': ' || problem, E'\\n' ORDER BY tenant, object_name) FROM tenancy.check()");
like($problems, qr/shared_preload_libraries: aurora_tenancy is not in shared_preload_libraries/,
	'check() says the library must be preloaded');
like($problems, qr/client01 client01: it has the tenant's name but not its marker/,
	'and which tenants lost their markers');

$_->stop for ($source, $target, $bare);
done_testing();
