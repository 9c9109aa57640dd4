# Attacks of a hostile tenant, a careless admin and a short-handed server,
# over real logins: a tenant's SECURITY DEFINER function never runs as the
# admin; DROP EXTENSION never silently takes the registry and the audit log
# with it; what a tenant leaves in template1 never reaches another tenant's
# database; too few worker slots fail clearly and converge; a template set
# before the library loaded stops the operation.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use PasswordLogins;

my $node = PostgreSQL::Test::Cluster->new('hardening');
$node->init;
$node->append_conf('postgresql.conf', "password_encryption = 'scram-sha-256'\nrestart_after_crash = on\n");
$node->start;
password_logins_only($node);

$node->safe_psql('postgres', q{
CREATE ROLE rds_iam NOLOGIN;
CREATE EXTENSION aurora_tenancy;
CREATE ROLE admin LOGIN PASSWORD 'admin-pw' CREATEROLE CREATEDB;
GRANT USAGE ON SCHEMA tenancy TO admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tenancy TO admin;
GRANT pg_signal_backend TO admin;
});

sub login
{
	my ($user, $password, $db) = @_;
	return $node->connstr($db) . " user=$user password=$password";
}

# 1. A tenant plants a SECURITY DEFINER function that would make the admin
# superuser; a superuser offboards it keeping the database; the admin calls
# the function: it runs as the custodian, which can do nothing.
{
	my $pw = $node->safe_psql('postgres',
		"SELECT password FROM tenancy.onboard('evil', ARRAY['db1'], iam_auth => false)");
	my ($ret, $out, $err) = $node->psql('evil_db1', q{
CREATE FUNCTION public.pwn() RETURNS text SECURITY DEFINER LANGUAGE plpgsql AS
$$BEGIN EXECUTE 'ALTER ROLE admin SUPERUSER'; RETURN current_user; END$$;
GRANT EXECUTE ON FUNCTION public.pwn() TO PUBLIC;
}, extra_params => [ '-d', login('evil', $pw, 'evil_db1') ]);
	is($ret, 0, 'the tenant plants its function') or diag $err;
	$node->safe_psql('postgres', q{
SELECT tenancy.set_deletion_protection('evil', false);
SELECT * FROM tenancy.offboard('evil', keep_databases => true);
GRANT CONNECT ON DATABASE evil_db1 TO admin;
});
	$node->safe_psql('evil_db1', 'GRANT USAGE ON SCHEMA public TO admin');
	($ret, $out, $err) = $node->psql('evil_db1', 'SELECT public.pwn()',
		extra_params => [ '-d', login('admin', 'admin-pw', 'evil_db1') ]);
	like($err, qr/must be superuser to alter superuser roles/, 'the planted function cannot make the admin superuser');
	is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'admin'"), 'f',
		'the admin is no superuser');
	is($node->safe_psql('evil_db1',
		"SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'pwn'"),
		'tenancy_custodian', 'the function belongs to the custodian');
	is($node->safe_psql('postgres',
		"SELECT rolcanlogin::text || rolsuper::text || (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)"
		  . " FROM pg_roles r WHERE rolname = 'tenancy_custodian'"),
		'falsefalse0', 'the custodian cannot log in, is no superuser and is a member of nothing');

	# a custodian someone made unfit stops the next offboarding before its first step
	$node->safe_psql('postgres', "SELECT * FROM tenancy.onboard('leaver', ARRAY['db1'], iam_auth => false)");
	$node->safe_psql('postgres', "SELECT tenancy.set_deletion_protection('leaver', false)");
	$node->safe_psql('postgres', "ALTER ROLE tenancy_custodian LOGIN PASSWORD 'x'");
	($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM tenancy.offboard('leaver')");
	like($err, qr/role "tenancy_custodian" cannot take over .* it can log in/s, 'an unfit custodian is refused');
	is($node->safe_psql('postgres', "SELECT state FROM tenancy.tenants WHERE name = 'leaver'"), 'active',
		'and the tenant is untouched');
	like($node->safe_psql('postgres', "SELECT problem FROM tenancy.check() WHERE object_name = 'tenancy_custodian'"),
		qr/it can log in/, 'check() reports the unfit custodian');
	$node->safe_psql('postgres', "ALTER ROLE tenancy_custodian NOLOGIN PASSWORD NULL");
	$node->safe_psql('postgres', "SELECT * FROM tenancy.offboard('leaver')");
}

# 4. PUBLIC may connect to template1: a tenant leaves a large object there,
# granted to PUBLIC.  New tenant databases come from template0 and do not
# have it; check() names template1 as a database tenants can write into.
{
	my $pw = $node->safe_psql('postgres',
		"SELECT password FROM tenancy.onboard('planter', ARRAY['db1'], iam_auth => false)");
	my ($ret, $out, $err) = $node->psql('template1',
		"SELECT lo_from_bytea(4711, 'cross-tenant message'); GRANT SELECT ON LARGE OBJECT 4711 TO PUBLIC;",
		extra_params => [ '-d', login('planter', $pw, 'template1') ]);
	is($ret, 0, 'a tenant can write into template1') or diag $err;
	$node->safe_psql('postgres', "SELECT * FROM tenancy.onboard('victim', ARRAY['db1'], iam_auth => false)");
	is($node->safe_psql('victim_db1', 'SELECT count(*) FROM pg_largeobject_metadata'), '0',
		'the new tenant database does not inherit it');
	like($node->safe_psql('postgres', "SELECT string_agg(object_name, ',') FROM tenancy.check() WHERE problem LIKE 'PUBLIC may connect%'"),
		qr/template1/, 'check() reports template1');
}

# 3. DROP EXTENSION with tenants: refused and in the server log; with the
# superuser-only setting, it goes ahead and is in the server log too.
{
	my $offset = -s $node->logfile;
	my ($ret, $out, $err) = $node->psql('postgres', 'DROP EXTENSION aurora_tenancy');
	like($err, qr/cannot run DROP EXTENSION aurora_tenancy while aurora_tenancy manages \d+ tenants/,
		'DROP EXTENSION is refused');
	($ret, $out, $err) = $node->psql('postgres', 'DROP SCHEMA tenancy CASCADE');
	like($err, qr/cannot run DROP SCHEMA tenancy/, 'DROP SCHEMA tenancy CASCADE is refused');
	ok($node->safe_psql('postgres', 'SELECT count(*) FROM tenancy.registry') > 0, 'the registry is still there');
	like(slurp_file($node->logfile, $offset),
		qr/aurora_tenancy: DROP EXTENSION aurora_tenancy by role "postgres" while \d+ tenants exist: refused/,
		'the attempt is in the server log');
}

# 11. Too few background worker slots: a clear error, every retry changes
# nothing more, check() reports instead of failing; with more, it completes.
{
	$node->append_conf('postgresql.conf', "max_worker_processes = 1\nmax_logical_replication_workers = 0\n");
	$node->restart;
	my $dbs = "SELECT count(*) FROM pg_database";
	my $before = $node->safe_psql('postgres', $dbs);
	my ($ret, $out, $err) = $node->psql('postgres',
		"SELECT * FROM tenancy.onboard('starved', ARRAY['db1'], iam_auth => false)");
	like($err, qr/could not start an executor for database "starved_db1"/, 'no worker slot: a clear error');
	my $after_first = $node->safe_psql('postgres', $dbs);
	($ret, $out, $err) = $node->psql('postgres',
		"SELECT * FROM tenancy.onboard('starved', ARRAY['db1'], iam_auth => false)");
	like($err, qr/could not start an executor/, 'the retry fails the same way');
	is($node->safe_psql('postgres', $dbs), $after_first, 'and creates no further database');
	ok($after_first - $before <= 1, 'one database at most');
	like($node->safe_psql('postgres', "SELECT string_agg(problem, ',') FROM tenancy.check('starved')"),
		qr/PUBLIC holds a privilege on schema public, or the tenant lacks one/,
		'check() needs only the tenant database\'s worker, and reports what is missing');

	# no slot at all: check() still reports, and says what it did not look into
	$node->append_conf('postgresql.conf', "max_worker_processes = 0\n");
	$node->restart;
	like($node->safe_psql('postgres', "SELECT string_agg(object_name || ': ' || problem, ',') FROM tenancy.check('victim')"),
		qr/victim_db1: no background worker was free to look inside the database/,
		'check() reports what it could not look into');

	$node->append_conf('postgresql.conf', "max_worker_processes = 8\n");
	$node->restart;
	$node->safe_psql('postgres', "SELECT * FROM tenancy.onboard('starved', ARRAY['db1'], iam_auth => false)");
	is($node->safe_psql('postgres', "SELECT state FROM tenancy.tenants WHERE name = 'starved'"), 'active',
		'with slots, the same call completes the tenant');
	is($node->safe_psql('postgres', "SELECT count(*) FROM tenancy.check('starved')"), '0',
		'and check() finds nothing wrong');
}

# 11. A template set before the library was loaded, and refused when it
# loaded, stops the operation instead of quietly using the default.
{
	$node->restart;		# a fresh backend, the library not loaded yet
	my ($ret, $out, $err) = $node->psql('postgres', q{
SET tenancy.database_name_template = '%t%t';
SELECT * FROM tenancy.onboard('templated', ARRAY['db1'], iam_auth => false);
SELECT count(*) AS made FROM tenancy.tenants WHERE name = 'templated';
SET tenancy.database_name_template = 'x_%t_%d';
SELECT databases FROM tenancy.onboard('templated', ARRAY['db1'], iam_auth => false);
}, on_error_stop => 0);
	like($err, qr/invalid value for parameter "tenancy.database_name_template": "%t%t"/,
		'the refused template stops the operation');
	like($out, qr/^0$/m, 'and nothing was made');
	like($out, qr/x_templated_db1/, 'a valid template set afterwards is used');
}

# 2. The executor killed between CREATE DATABASE and the transaction that
# secures, marks and names the database: what is left is an unfinished
# database nobody can connect to; the re-run makes a new one; check()
# reports the leftover and repair() drops it.
{
	$node->safe_psql('postgres', "SELECT * FROM tenancy.onboard('crash3', ARRAY['a'], iam_auth => false)");
	my $l = $node->background_psql('postgres');
	$l->query_safe('BEGIN; LOCK TABLE pg_catalog.pg_shseclabel IN SHARE MODE;');
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	$s->query_until(qr/started/, "\\echo started\nSELECT tenancy.add_database('crash3', 'b');\n");
	ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor' AND wait_event_type = 'Lock'"),
		'crash: the executor waits to mark the new database');
	is($node->safe_psql('postgres',
		"SELECT datallowconn FROM pg_database WHERE datname LIKE 'tenancy\\_new\\_%'"), 'f',
		'crash: the database exists under its unfinished name, closed to connections');
	my $wpid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor'");
	kill 'KILL', $wpid;
	eval { $l->quit };
	eval { $s->quit };
	ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'crash: the cluster is back');
	is($node->safe_psql('postgres', "SELECT tenancy.add_database('crash3', 'b')"), 'crash3_b',
		'crash: the re-run adds the database');
	like($node->safe_psql('postgres', "SELECT string_agg(object_name || ': ' || problem, ',') FROM tenancy.check('crash3')"),
		qr/^tenancy_new_[0-9a-f]{16}: an interrupted onboarding left this unfinished database behind/,
		'crash: check() reports the leftover, and nothing else');
	$node->safe_psql('postgres', "SELECT tenancy.repair('crash3')");
	is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'tenancy\\_new\\_%'"), '0',
		'crash: repair() drops it');
	is($node->safe_psql('postgres', "SELECT count(*) FROM tenancy.check('crash3')"), '0', 'crash: all is well');
}

# 3. The deliberate way: the setting lets DROP EXTENSION go, and says so.
{
	my $offset = -s $node->logfile;
	$node->safe_psql('postgres', 'SET tenancy.allow_drop_extension = on; DROP EXTENSION aurora_tenancy');
	is($node->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'aurora_tenancy'"), '0',
		'with tenancy.allow_drop_extension the extension is dropped');
	like(slurp_file($node->logfile, $offset), qr/allowed by tenancy.allow_drop_extension/,
		'and the server log says so');
}

$node->stop;
done_testing();
