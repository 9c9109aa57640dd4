# The guards in the server, over real TCP logins from several loopback
# addresses (test/bind_source.c): a tenant logs in only to its own databases
# and, with allowed IPs, only from inside them, by any method; a change is
# in force for the next login; the lists survive a crash; refusals are
# counted, logged and (for statements) audited from every database; without
# the library preloaded, check() says the lists are not enforced.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes;
use FindBin;
use lib $FindBin::RealBin;
use SourceAddress;

my $ipv6 = ipv6_loopback_available();
my $node = PostgreSQL::Test::Cluster->new('guards');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'aurora_tenancy'
listen_addresses = '127.0.0.1@{[ $ipv6 ? ",::1" : "" ]}'
password_encryption = 'scram-sha-256'
restart_after_crash = on
});
# .1, .2 and ::1 with SCRAM, .3 trusted: the guard does not care how one logs in
unlink($node->data_dir . '/pg_hba.conf');
$node->append_conf('pg_hba.conf', qq{
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all 127.0.0.2/32 scram-sha-256
host all all 127.0.0.3/32 trust
host all all ::1/128 scram-sha-256
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION aurora_tenancy;
CREATE ROLE outsider LOGIN PASSWORD 'outsider-pw';
CREATE DATABASE other;
});

sub onboard
{
	my ($tenant, $ips, @dbs) = @_;
	return $node->safe_psql('postgres',
		"SELECT password FROM tenancy.onboard('$tenant', ARRAY["
		  . join(',', map { "'$_'" } @dbs)
		  . "], iam_auth => false, allowed_ips => $ips)");
}
my $pw1 = onboard('client01', q{ARRAY['127.0.0.2/32', '::1/128']::cidr[]}, 'db1', 'db2');
my $pw2 = onboard('client02', 'NULL', 'db1');

# logs in as $user from $addr to $db; returns psql's (exit code, stdout, stderr)
sub login
{
	my ($addr, $user, $pw, $db) = @_;
	return psql_from($node, $addr, 'SELECT inet_client_addr()',
		user => $user, password => $pw, dbname => $db);
}

sub allowed
{
	my ($addr, $user, $pw, $db, $name) = @_;
	my ($ret, $out, $err) = login($addr, $user, $pw, $db);
	is("$ret $out", "0 $addr", $name) or diag($err);
}

sub refused
{
	my ($addr, $user, $pw, $db, $re, $name) = @_;
	my ($ret, $out, $err) = login($addr, $user, $pw, $db);
	ok($ret != 0 && $err =~ $re, $name) or diag("exit $ret: $err");
}

my $from = qr/FATAL:  tenant "client01" may not log in from address/;
my $own = qr/FATAL:  tenant "(client0\d)" may log in only to its own databases/;

allowed('127.0.0.2', 'client01', $pw1, 'client01_db1', 'a tenant logs in from an allowed address');
allowed('127.0.0.2', 'client01', $pw1, 'client01_db2', 'to each of its databases');
refused('127.0.0.1', 'client01', $pw1, 'client01_db1', qr/$from 127\.0\.0\.1$/m,
	'from another address, with the right password: refused, the address named');
refused('127.0.0.1', 'client01', 'wrong', 'client01_db1', qr/password authentication failed for user "client01"$/m,
	'with a wrong password: PostgreSQL\'s own failure, nothing said of a tenant');
refused('127.0.0.2', 'client01', 'wrong', 'postgres', qr/password authentication failed for user "client01"$/m,
	'nor of its databases');
refused('127.0.0.3', 'client01', undef, 'client01_db1', $from,
	'a trusted address outside the list is refused too: any authentication method');
{
	my ($ret, $out, $err) = login('127.0.0.1', 'client01', $pw1, 'client01_db1');
	unlike($err, qr/127\.0\.0\.2|::1/, 'the refusal does not say which addresses are allowed');
}
SKIP:
{
	skip 'no IPv6 loopback here', 2 unless $ipv6;
	allowed('::1', 'client01', $pw1, 'client01_db1', 'IPv6: ::1 is in the list');
	$node->safe_psql('postgres',
		"SELECT tenancy.set_allowed_ips('client01', ARRAY['127.0.0.2/32']::cidr[])");
	refused('::1', 'client01', $pw1, 'client01_db1', qr/$from ::1$/m, 'IPv6: refused once it is not');
}

# Unix-domain sockets: outside every list, unless the setting lets them in
my ($ret, $out, $err) = $node->psql('client01_db1', 'SELECT 1', extra_params => [ '-U', 'client01' ]);
like($err, qr/tenant "client01" may not log in over a Unix-domain socket/,
	'a local login of a tenant with allowed IPs is refused by default');
$node->append_conf('postgresql.conf', "tenancy.allow_local_logins = on\n");
$node->reload;
($ret, $out, $err) = $node->psql('client01_db1', 'SELECT current_user', extra_params => [ '-U', 'client01' ]);
is($out, 'client01', 'tenancy.allow_local_logins = on lets it in');
$node->append_conf('postgresql.conf', "tenancy.allow_local_logins = off\n");
$node->reload;
($ret, $out, $err) = $node->psql('client02_db1', 'SELECT current_user', extra_params => [ '-U', 'client02' ]);
is($out, 'client02', 'a tenant without allowed IPs logs in locally');

# only its own databases, whatever PUBLIC may connect to
for my $db ('postgres', 'template1', 'other', 'client02_db1')
{
	refused('127.0.0.2', 'client01', $pw1, $db, $own, "client01 cannot log in to $db");
}
refused('127.0.0.1', 'client02', $pw2, 'postgres', $own, 'nor can a tenant without allowed IPs');
refused('127.0.0.1', 'client02', $pw2, 'no_such_database', $own,
	'a database that does not exist gets the same answer');
allowed('127.0.0.1', 'client02', $pw2, 'client02_db1', 'which logs in to its own from anywhere');
allowed('127.0.0.1', 'outsider', 'outsider-pw', 'postgres', 'a role that is no tenant is not guarded');
allowed('127.0.0.3', 'outsider', undef, 'other', 'from any address');

# a change is in force for the next login, no reload
$node->safe_psql('postgres', "SELECT tenancy.set_allowed_ips('client01', ARRAY['127.0.0.1/32']::cidr[])");
allowed('127.0.0.1', 'client01', $pw1, 'client01_db1', 'a new list lets the new address in at once');
refused('127.0.0.2', 'client01', $pw1, 'client01_db1', $from, 'and keeps the old one out at once');
$node->safe_psql('postgres', "SELECT tenancy.set_allowed_ips('client02', ARRAY['127.0.0.0/30']::cidr[])");
allowed('127.0.0.3', 'client02', $pw2, 'client02_db1', 'a network: .3 is inside 127.0.0.0/30');
$node->safe_psql('postgres', "SELECT tenancy.set_allowed_ips('client02', NULL)");

# suspended: no login at all; resumed: back
$node->safe_psql('postgres', "SELECT tenancy.suspend('client02')");
refused('127.0.0.1', 'client02', $pw2, 'client02_db1', qr/not permitted to log in/,
	'a suspended tenant cannot log in');
$node->safe_psql('postgres', "SELECT tenancy.resume('client02')");
allowed('127.0.0.1', 'client02', $pw2, 'client02_db1', 'resumed, it can');

# refusals: counted per tenant, logged with the address
is($node->safe_psql('postgres',
	"SELECT tenant || ' ' || refused_address || ' ' || refused_database || ' ' || last_client_addr"
	  . " FROM tenancy.login_refusals ORDER BY 1"),
	"client01 @{[ $ipv6 ? 6 : 5 ]} 4 127.0.0.2\nclient02 0 2 127.0.0.1",
	'tenancy.login_refusals counts the refusals of each tenant (not failed authentications), and the last address');
my $log = slurp_file($node->logfile);
like($log, qr/tenant "client01" may not log in from address 127\.0\.0\.3/, 'the server log has the refusal and its address');
like($log, qr/The login came from 127\.0\.0\.2, to database "template1"/, 'a refusal for the database names the address in the log');

# a crash (a process killed: the server resets its shared memory and
# recovers): the lists are in the catalogs, in force at once
my $checkpointer = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
kill 'KILL', $checkpointer;
$node->poll_query_until('postgres', "SELECT pid <> $checkpointer FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
  or die 'the server did not come back';
is($node->safe_psql('postgres', 'SELECT count(*) FROM tenancy.login_refusals'), '0',
	'the counts start again after a crash');
allowed('127.0.0.1', 'client01', $pw1, 'client01_db1', 'after a crash and restart, the list still lets in');
refused('127.0.0.2', 'client01', $pw1, 'client01_db1', $from, 'and still keeps out');

# the object guard in a database without the extension: refused, audited in
# tenancy.control_database (postgres here), for a non-superuser admin too
$node->safe_psql('postgres', q{
CREATE ROLE admin LOGIN CREATEROLE CREATEDB;
GRANT pg_signal_backend TO admin;
});
($ret, $out, $err) = $node->psql('other', 'DROP DATABASE client01_db2');
like($err, qr/tenant "client01" is protected against deletion/, 'DROP DATABASE from another database is refused');
($ret, $out, $err) = $node->psql('other', 'DROP ROLE client02', extra_params => [ '-U', 'admin' ]);
like($err, qr/tenant "client02" is protected against deletion/, 'DROP ROLE by a CREATEROLE admin is refused');
is($node->safe_psql('postgres',
	"SELECT string_agg(database || ' ' || session_user_name || ' ' || statement, E'\\n' ORDER BY id)"
	  . " FROM tenancy.audit_log WHERE phase = 'refused'"),
	"other postgres DROP DATABASE client01_db2\nother admin DROP ROLE client02",
	'both refusals are in the audit log of the control database, with the database and who');
is($node->safe_psql('postgres', 'SELECT count(*) FROM tenancy.verify_audit_log()'), '0',
	'and the audit chain is intact');

# a control database that cannot record: still refused, and said
$node->append_conf('postgresql.conf', "tenancy.control_database = 'other'\n");
$node->reload;
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE client01_db2');
like($err, qr/WARNING:  the refused statement is not recorded in the audit log of database "other"/,
	'without the extension in tenancy.control_database the refusal is not recorded, and says so');
like($err, qr/tenant "client01" is protected against deletion/, 'and the statement is refused all the same');
$node->append_conf('postgresql.conf', "tenancy.control_database = 'postgres'\n");
$node->reload;

# chained with a hook loaded before it (auth_delay): both act
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "'auth_delay,aurora_tenancy'");
$node->append_conf('postgresql.conf', "auth_delay.milliseconds = 500\n");
$node->restart;
{
	my $start = [ Time::HiRes::gettimeofday() ];
	refused('127.0.0.1', 'client01', 'wrong', 'client01_db1', qr/password authentication failed/,
		'with auth_delay loaded first: a wrong password fails');
	cmp_ok(Time::HiRes::tv_interval($start), '>=', 0.5, 'after auth_delay\'s delay: the hook before ours ran');
	refused('127.0.0.2', 'client01', $pw1, 'client01_db1', $from, 'and ours refuses as before');
}
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "'aurora_tenancy'");
$node->restart;

# the exemption is no setting
($ret, $out, $err) = $node->psql('postgres', 'SET tenancy.step_running = on');
like($err, qr/invalid configuration parameter name/, 'no session can set itself exempt');

# without the library preloaded: everything works, check() says the lists
# are not enforced, and logins are not guarded
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->restart;
is($node->safe_psql('postgres',
	"SELECT string_agg(object_name || ': ' || problem, E'\\n') FROM tenancy.check() WHERE object_type = 'tenant'"),
	'client01: its allowed IPs are not enforced at login: aurora_tenancy is not in shared_preload_libraries; add it there and restart the server',
	'check() names each tenant whose allowed IPs are not enforced, and how to fix it');
allowed('127.0.0.2', 'client01', $pw1, 'client01_db1', 'not preloaded, the list is not enforced');
is($node->safe_psql('postgres', 'SELECT count(*) FROM tenancy.login_refusals'), '0',
	'and nothing is counted');
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "'aurora_tenancy'");
$node->restart;
refused('127.0.0.2', 'client01', $pw1, 'client01_db1', $from, 'preloaded again, enforced again');

done_testing();
