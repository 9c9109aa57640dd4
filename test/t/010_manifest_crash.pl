# An apply of 20 clients killed (kill -9 of the backend running it) at
# random points, again and again; then applied to completion: the plan is
# empty, check() finds nothing, every step is done once in the audit log,
# and every tenant logs in to each of its databases (with the password an
# apply returned, or, where a killed apply took it with it, a new one from
# rotate_password()).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use PasswordLogins;

my $node = PostgreSQL::Test::Cluster->new('manifest_crash');
$node->init;
$node->append_conf('postgresql.conf', "password_encryption = 'scram-sha-256'\nrestart_after_crash = on\n"
	  . "shared_preload_libraries = 'aurora_tenancy'\nmax_worker_processes = 16\n");
$node->start;
password_logins_only($node);
$node->safe_psql('postgres', 'CREATE EXTENSION aurora_tenancy');

my $n = 20;
my $manifest = '{"clients": ['
  . join(', ', map { qq({"name": "mc$_", "databases": {"db1": true, "db2": true}, "rds_iam_auth": false, "deletion_protection": false}) } 1 .. $n)
  . ']}';
my $apply = "SELECT tenant || ' ' || coalesce(password, '') FROM tenancy.apply('$manifest') WHERE action = 'onboard'";
my %password;

sub remember
{
	my ($out) = @_;
	for my $line (split /\n/, $out // '')
	{
		my ($tenant, $pw) = split / /, $line;
		$password{$tenant} = $pw if $tenant && $pw;
	}
}

# killed at a random point, five times
srand(20261202);
for my $round (1 .. 5)
{
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(['psql', '-XAt', '-d', $node->connstr('postgres'), '-c', $apply],
		'>', \$out, '2>', \$err);
	usleep(300_000 + int(rand(2_500_000)));
	my $pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE query LIKE '%tenancy.apply(%' AND pid <> pg_backend_pid()");
	kill 'KILL', $pid if $pid;
	$h->finish;
	remember($out);
	$node->poll_query_until('postgres', 'SELECT true');
	note("round $round: killed " . ($pid ? "backend $pid" : 'nothing (apply had finished)'));
}

# then to completion
remember($node->safe_psql('postgres', $apply));
is($node->safe_psql('postgres', "SELECT count(*) FROM tenancy.plan('$manifest')"), '0',
	'after the kills, an apply completes: the plan is empty');
is($node->safe_psql('postgres', "SELECT count(*) FROM tenancy.tenants WHERE name LIKE 'mc%' AND state = 'active'"),
	$n, 'every client is an active tenant');
is($node->safe_psql('postgres', "SELECT count(*) FROM tenancy.check() WHERE tenant LIKE 'mc%'"), '0',
	'check() finds nothing') or diag($node->safe_psql('postgres', "SELECT * FROM tenancy.check() WHERE tenant LIKE 'mc%'"));
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT tenant, step, object_name, database FROM tenancy.audit_log
		WHERE tenant LIKE 'mc%' AND phase = 'done'
		GROUP BY tenant, step, object_name, database HAVING count(*) > 1) d}), '0',
	'the audit log shows every step done once')
  or diag($node->safe_psql('postgres', q{SELECT tenant, step, object_name, statement FROM tenancy.audit_log
		WHERE tenant LIKE 'mc%' AND phase = 'done' AND (tenant, step) IN (SELECT tenant, step FROM tenancy.audit_log
		WHERE tenant LIKE 'mc%' AND phase = 'done' GROUP BY tenant, step, object_name, database HAVING count(*) > 1)}));
is($node->safe_psql('postgres', 'SELECT count(*) FROM tenancy.verify_audit_log()'), '0', 'and its chain holds');

# real logins
my $fine = 0;
for my $i (1 .. $n)
{
	my $tenant = "mc$i";
	$password{$tenant} //= $node->safe_psql('postgres', "SELECT tenancy.rotate_password('$tenant')");
	for my $db (1, 2)
	{
		my ($ret) = $node->psql("${tenant}_db$db", 'SELECT 1',
			connstr => $node->connstr("${tenant}_db$db") . " user=$tenant password=$password{$tenant}");
		$fine++ if $ret == 0;
	}
}
is($fine, 2 * $n, 'every tenant logs in to each of its databases');

done_testing();
