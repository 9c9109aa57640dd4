# Remote clusters: the extension in a control cluster manages target
# clusters it is not installed in, over libpq with TLS verify-full and
# SCRAM, as a non-superuser admin (Aurora's rds_superuser).  For each
# target version: the whole lifecycle with real tenant logins there,
# markers nobody can forge, drift found and repaired, nothing of the
# extension and no password on the target, every step audited here.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use Target;
use Control;

my @majors = grep { Target::available($_) } (15, 17);
plan skip_all => 'no target PostgreSQL installed' unless @majors;

my $control = Control::start();

for my $major (@majors)
{
	my $t = Target->new("target$major", $major, log_statement => 1);
	$t->start;
	my $cluster = "aurora$major";
	add_cluster($cluster, $t);
	my $tenant = "c${major}a";
	my $other  = "c${major}b";

	# onboard: role and databases on the target, nothing on the control
	my ($pw, $changes) = split /\|/, control(
		"SELECT password, changes FROM tenancy.onboard('$tenant', ARRAY['db1', 'db2'],"
		  . " iam_auth => false, cluster => '$cluster')");
	like($pw, qr/^\S{40}$/, "$major: onboard returns a password");
	cmp_ok($changes, '>=', 8, "$major: onboard made its changes");
	is(control("SELECT count(*) FROM pg_roles WHERE rolname = '$tenant'"), '0',
		"$major: no tenant role on the control cluster");
	is($t->bootstrap_psql('postgres',
			"SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE '$tenant%'"),
		"${tenant}_db1,${tenant}_db2", "$major: the databases are on the target");
	is(control("SELECT changes FROM tenancy.onboard('$tenant', ARRAY['db1', 'db2'],"
			  . " iam_auth => false, cluster => '$cluster')"),
		'0', "$major: onboarding again changes nothing");
	is(control("SELECT cluster FROM tenancy.tenants WHERE name = '$tenant'"), $cluster,
		"$major: the registry knows the tenant's cluster");

	# the tenant logs in to the target, and reaches only its own databases
	my ($ret, $out, $err) = $t->connect_result($tenant, $pw, "${tenant}_db1",
		'CREATE TABLE public.t (x int); SELECT current_user');
	like($out, qr/\n$tenant$/, "$major: the tenant logs in to its database and creates a table");
	ok(!$t->login_ok($tenant, 'wrong', "${tenant}_db1"), "$major: a wrong password is refused");

	# the markers: comments with an HMAC, set by the admin, not forgeable
	like($t->bootstrap_psql('postgres',
			"SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '$tenant'"),
		qr/^aurora_tenancy tenant=$tenant hmac=[0-9a-f]{64}$/, "$major: the role carries a signed marker");
	my $marker = $t->bootstrap_psql('postgres',
		"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '${tenant}_db1'");
	$t->bootstrap_psql('postgres', "CREATE ROLE $other LOGIN; COMMENT ON ROLE $other IS "
		  . "'aurora_tenancy tenant=$other hmac=" . ('0' x 64) . "'");
	($ret, $out, $err) = $control->psql('postgres',
		"SELECT * FROM tenancy.onboard('$other', ARRAY['db1'], iam_auth => false, cluster => '$cluster')");
	like($err, qr/role "$other" already exists and is not a tenant role/,
		"$major: a forged marker adopts nothing");
	$t->bootstrap_psql('postgres', "DROP ROLE $other");
	$t->bootstrap_psql('postgres', "CREATE DATABASE ${other}_db1; COMMENT ON DATABASE ${other}_db1 IS "
		  . $t->node->safe_psql('postgres', "SELECT quote_literal('$marker')"));
	($ret, $out, $err) = $control->psql('postgres',
		"SELECT * FROM tenancy.onboard('$other', ARRAY['db1'], iam_auth => false, cluster => '$cluster')");
	like($err, qr/database "${other}_db1" already exists and is not a tenant database/,
		"$major: a marker copied from another database adopts nothing");
	$t->bootstrap_psql('postgres', "DROP DATABASE ${other}_db1");

	# nothing of the extension on the target; no password in its log
	is($t->bootstrap_psql('postgres',
			"SELECT count(*) FROM pg_namespace WHERE nspname = 'tenancy'"),
		'0', "$major: no schema tenancy on the target");
	unlike($t->log_content, qr/\Q$pw\E/, "$major: the tenant's password never reached the target");
	like($t->log_content, qr/CREATE ROLE $tenant .*PASSWORD 'SCRAM-SHA-256\$/,
		"$major: the target received a SCRAM verifier");

	# drift made by hand on the target: found, then repaired
	$t->bootstrap_psql('postgres', "GRANT CONNECT ON DATABASE ${tenant}_db1 TO PUBLIC");
	$t->bootstrap_psql("${tenant}_db2", 'GRANT CREATE ON SCHEMA public TO PUBLIC');
	is(control("SELECT string_agg(object_name, ',' ORDER BY object_name) FROM tenancy.check('$tenant')"),
		"${tenant}_db1,${tenant}_db2.public", "$major: check() finds the drift");
	cmp_ok(control("SELECT tenancy.repair('$tenant')"), '>=', 2, "$major: repair() fixes it");
	is(control("SELECT count(*) FROM tenancy.check('$tenant')"), '0', "$major: no problem left");

	# suspend and resume on the target
	control("SELECT tenancy.suspend('$tenant')");
	ok(!$t->login_ok($tenant, $pw, "${tenant}_db1"), "$major: a suspended tenant cannot log in");
	control("SELECT tenancy.resume('$tenant')");
	ok($t->login_ok($tenant, $pw, "${tenant}_db1"), "$major: a resumed tenant logs in again");

	# the rest of the lifecycle there: a new password, a database more and
	# less, a session ended by suspend
	my $pw2 = control("SELECT tenancy.rotate_password('$tenant')");
	ok(!$t->login_ok($tenant, $pw, "${tenant}_db1") && $t->login_ok($tenant, $pw2, "${tenant}_db1"),
		"$major: after rotate_password only the new password logs in");
	$pw = $pw2;
	is(control("SELECT tenancy.add_database('$tenant', 'db3')"), "${tenant}_db3",
		"$major: add_database creates it on the target");
	ok($t->login_ok($tenant, $pw, "${tenant}_db3"), "$major: the tenant logs in to it");
	control("SELECT tenancy.set_deletion_protection('$tenant', false)");
	control("SELECT tenancy.remove_database('$tenant', 'db3')");
	is($t->bootstrap_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = '${tenant}_db3'"),
		'0', "$major: remove_database drops it there");
	my $open = do
	{
		local $ENV{PGPASSWORD} = $pw;
		$t->node->background_psql("${tenant}_db1", on_error_stop => 0,
			extra_params => [ '-d', $t->connstr($tenant, "${tenant}_db1") ]);
	};
	is($t->bootstrap_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE usename = '$tenant'"),
		'1', "$major: the tenant has a session open on the target");
	control("SELECT tenancy.suspend('$tenant')");
	is($t->bootstrap_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE usename = '$tenant'"),
		'0', "$major: suspend ends it");
	control("SELECT tenancy.resume('$tenant')");
	eval { $open->quit };

	# IAM auth: the tenant is a member of rds_iam there
	control("SELECT * FROM tenancy.onboard('$other', ARRAY['db1'], cluster => '$cluster')");
	is($t->bootstrap_psql('postgres', "SELECT pg_has_role('$other', 'rds_iam', 'MEMBER')"),
		't', "$major: an IAM tenant is a member of rds_iam on the target");
	($ret, $out, $err) = $t->connect_result($tenant, $pw, "${other}_db1");
	like($err, qr/permission denied for database "${other}_db1"/,
		"$major: a tenant cannot connect to another tenant's database");

	# audited here, with the cluster and the remote user; no secret
	is(control("SELECT count(*) FROM tenancy.audit_log WHERE tenant = '$tenant'"
			  . " AND (cluster IS DISTINCT FROM '$cluster' OR cluster_user IS DISTINCT FROM '"
			  . $t->admin_user . "') AND operation_id IS NOT NULL"),
		'0', "$major: every audit row names the cluster and the remote user");
	is(control("SELECT count(*) FROM tenancy.audit_log WHERE statement LIKE '%SCRAM-SHA-256\$%'"
			  . " OR statement LIKE '%" . $t->admin_password . "%'"),
		'0', "$major: no verifier or password in the audit log");
	is(control('SELECT count(*) FROM tenancy.verify_audit_log()'), '0', "$major: the audit chain holds");

	# the server stays while tenants live on its cluster
	($ret, $out, $err) = $control->psql('postgres', "DROP SERVER $cluster CASCADE");
	like($err, qr/cannot drop or rename server "$cluster" while 2 tenants live on that cluster/,
		"$major: DROP SERVER is refused while tenants live there");
	($ret, $out, $err) = $control->psql('postgres', "ALTER SERVER $cluster RENAME TO elsewhere");
	like($err, qr/cannot drop or rename server "$cluster"/, "$major: ... and so is renaming it");

	# offboard: nothing of the tenants left on the target
	for my $name ($tenant, $other)
	{
		control("SELECT tenancy.set_deletion_protection('$name', false)");
		control("SELECT * FROM tenancy.offboard('$name')");
	}
	is($t->bootstrap_psql('postgres',
			"SELECT count(*) FROM pg_roles WHERE rolname IN ('$tenant', '$other')")
		  . $t->bootstrap_psql('postgres',
			"SELECT count(*) FROM pg_database WHERE datname LIKE 'c${major}%'"),
		'00', "$major: offboarding leaves neither role nor database on the target");
	is(control("SELECT tenants FROM tenancy.clusters WHERE cluster = '$cluster'"), '0',
		"$major: tenancy.clusters counts no tenant left");
	control("DROP SERVER $cluster CASCADE");
	is(control("SELECT count(*) FROM pg_foreign_server WHERE srvname = '$cluster'"), '0',
		"$major: with no tenant left, the server can go");
	$t->stop;
}

done_testing();
