# The target clusters themselves (test/t/Target.pm), before any test relies
# on them: for each major version installed, only TLS with the target's own
# CA gets in; its admin is no superuser, yet can do what onboarding will
# ask of it (create a login role, grant it rds_iam, create and drop a
# database, drop the role).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use Target;

my @majors = grep { Target::available($_) } (13, 14, 15, 16, 17);
plan skip_all => 'no target PostgreSQL installed (tools/setup)' unless @majors;
my @missing = grep { !Target::available($_) } (13, 14, 15, 16, 17);
note 'not installed, skipped: ' . join(', ', @missing) if @missing;

# A CA that signed nothing the targets present.
my $stray_ca = Target::make_ca(PostgreSQL::Test::Utils::tempdir(), 'stray');

for my $major (@majors)
{
	my $t = Target->new("t$major", $major, log_statement => 1);
	$t->start;
	my ($user, $pw) = ($t->admin_user, $t->admin_password);

	my ($ret, $out, $err) = $t->connect_result($user, $pw, 'postgres',
		q{SELECT current_setting('server_version_num'), ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()});
	is($ret, 0, "$major: admin logs in over TLS verify-full") or diag $err;
	my ($version_num, $ssl) = split /\|/, $out // '';
	like($version_num, qr/^${major}\d{4}$/, "$major: server_version_num $version_num");
	is($ssl, 't', "$major: the connection is encrypted");
	note "PostgreSQL $major: server_version_num $version_num";

	ok($t->login_ok($user, $pw, 'postgres'), "$major: login_ok");
	ok(!$t->login_ok($user, "wrong$pw", 'postgres'), "$major: a wrong password is refused");

	# verify-full holds for 127.0.0.1 too, named without a host name
	($ret, undef, $err) = $t->connect_result($user, $pw, 'postgres', 'SELECT 1',
		host => '127.0.0.1', hostaddr => undef);
	is($ret, 0, "$major: verify-full by IP address") or diag $err;

	($ret, undef, $err) = $t->connect_result($user, $pw, 'postgres', 'SELECT 1',
		sslrootcert => $stray_ca);
	isnt($ret, 0, "$major: a server certificate from another CA is refused");
	like($err, qr/certificate verify failed/, "$major: ... by the client");

	($ret, undef, $err) = $t->connect_result($user, $pw, 'postgres', 'SELECT 1',
		sslmode => 'disable', sslrootcert => undef);
	isnt($ret, 0, "$major: a connection without TLS is refused");
	like($err, qr/no pg_hba.conf entry for host .*(?:SSL off|no encryption)/, "$major: ... by pg_hba.conf");

	# the bootstrap superuser has no way in over TCP
	($ret, undef, $err) = $t->connect_result(scalar getpwuid($>), undef, 'postgres', 'SELECT 1');
	isnt($ret, 0, "$major: the bootstrap superuser cannot log in over TCP");

	($ret, $out, $err) = $t->connect_result($user, $pw, 'postgres', q{
SELECT rolsuper, rolcreaterole, rolcreatedb, pg_has_role('rds_superuser', 'MEMBER')
FROM pg_roles WHERE rolname = current_user});
	is($out, 'f|t|t|t', "$major: admin is no superuser; CREATEROLE, CREATEDB, in rds_superuser")
	  or diag $err;

	# What onboarding will do as the admin.  One statement per call: psql -c
	# runs several in one transaction, where CREATE DATABASE cannot run.
	for my $sql ('CREATE ROLE x_tenant LOGIN', 'GRANT rds_iam TO x_tenant',
		'CREATE DATABASE y_tenant', 'DROP DATABASE y_tenant', 'DROP ROLE x_tenant')
	{
		($ret, undef, $err) = $t->connect_result($user, $pw, 'postgres', $sql);
		is($ret, 0, "$major: admin can $sql") or diag $err;
	}

	is($t->bootstrap_psql('postgres', "SELECT count(*) FROM pg_roles WHERE rolname = 'x_tenant'"),
		'0', "$major: the role is gone");

	$t->restart;
	ok($t->login_ok($user, $pw, 'postgres'), "$major: logs in after a restart");
	like($t->log_content, qr/statement: CREATE DATABASE y_tenant/, "$major: log_statement = all");
	unlike($t->log_content, qr/\Q$pw\E/, "$major: the admin's password is not in the log");
	$t->stop;
}

done_testing();
