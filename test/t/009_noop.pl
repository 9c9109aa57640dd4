# Work that changes nothing costs nothing: a second onboard() of a healthy
# tenant and check(deep => false) start no background worker; check() starts
# one per tenant database, and onboard() after drift in the extension's
# database starts only the worker it needs there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('noop');
$node->init;
# the postmaster says at DEBUG1 when it starts a background worker
$node->append_conf('postgresql.conf', "log_min_messages = debug1\n");
$node->start;
$node->safe_psql('postgres', 'CREATE ROLE rds_iam NOLOGIN; CREATE EXTENSION aurora_tenancy;');
$node->safe_psql('postgres', "SELECT * FROM tenancy.onboard('quiet', ARRAY['db1', 'db2'])");

# how many executors the postmaster started while $sql ran
sub executors_for
{
	my ($sql) = @_;
	my $offset = -s $node->logfile;
	my $out = $node->safe_psql('postgres', $sql);
	my $log = slurp_file($node->logfile, $offset);
	my $n = () = $log =~ /starting background worker process "aurora_tenancy executor/g;
	return ($n, $out);
}

my ($n, $out) = executors_for("SELECT changes FROM tenancy.onboard('quiet', ARRAY['db1', 'db2'])");
is($out, '0', 'a second onboard changes nothing');
is($n, 0, 'and starts no background worker');

($n, $out) = executors_for("SELECT count(*) FROM tenancy.check('quiet', deep => false)");
is("$out/$n", '0/0', 'check(deep => false) finds nothing and starts no worker');

($n, $out) = executors_for("SELECT count(*) FROM tenancy.check('quiet')");
is("$out/$n", '0/2', 'check() looks inside each of the two databases');

$node->safe_psql('postgres', 'GRANT CONNECT ON DATABASE quiet_db1 TO PUBLIC');
($n, $out) = executors_for("SELECT changes FROM tenancy.onboard('quiet', ARRAY['db1', 'db2'])");
is("$out/$n", '1/1', 'drift in the extension\'s database: one step, one worker there');

$node->stop;
done_testing();
