# Target versions whose rules differ, managed by a non-superuser admin:
# on PostgreSQL 13 and 14 schema public belongs to the bootstrap superuser
# and PUBLIC may create in it (the admin cannot change that, so nothing is
# attempted and check() offers no fix it cannot run); from 16 on, a
# CREATEROLE admin holds the roles it creates WITH ADMIN OPTION, and REVOKE
# removes only the grants it made.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use Target;
use Control;

my @majors = grep { Target::available($_) } (13, 14, 16, 17);
plan skip_all => 'no PostgreSQL 13, 14, 16 or 17 installed' unless @majors;

my $control = Control::start();

for my $major (@majors)
{
	my $t = Target->new("target$major", $major);
	$t->start;
	my $cluster = "pg$major";
	my $tenant  = "v$major";
	add_cluster($cluster, $t);
	is($t->bootstrap_psql('postgres', 'SHOW server_version_num') =~ /^$major/ ? 1 : 0, 1,
		"$major: the target runs PostgreSQL $major");

	my $pw = control("SELECT password FROM tenancy.onboard('$tenant', ARRAY['db1'],"
		  . " iam_auth => false, cluster => '$cluster')");
	is(control("SELECT changes FROM tenancy.onboard('$tenant', ARRAY['db1'],"
			  . " iam_auth => false, cluster => '$cluster')"),
		'0', "$major: onboarding again changes nothing");
	is(control("SELECT count(*) FROM tenancy.check('$tenant')"), '0',
		"$major: check() finds nothing to fix");
	my ($ret, $out, $err) = $t->connect_result($tenant, $pw, "${tenant}_db1",
		'CREATE TABLE public.t (x int); SELECT count(*) FROM public.t');
	is($ret, 0, "$major: the tenant creates a table in schema public") or diag($err);

	if ($major < 15)
	{
		is($t->bootstrap_psql("${tenant}_db1",
				"SELECT pg_get_userbyid(nspowner) <> '@{[ $t->admin_user ]}' FROM pg_namespace WHERE nspname = 'public'"),
			't', "$major: schema public belongs to the bootstrap superuser");
		# a superuser takes CREATE away from PUBLIC: the tenant lacks it now,
		# and only a person with the owner's rights can give it back
		$t->bootstrap_psql("${tenant}_db1", 'REVOKE CREATE ON SCHEMA public FROM PUBLIC');
		is(control("SELECT problem || ' / ' || coalesce(fix, '(no fix)') FROM tenancy.check('$tenant')"),
			'the tenant lacks USAGE or CREATE on schema public, which belongs to another role'
			  . ' (PostgreSQL 13 and 14: the bootstrap superuser); only its owner or a superuser can grant them / (no fix)',
			"$major: check() reports it with no fix the admin cannot run");
		is(control("SELECT tenancy.repair('$tenant')"), '0', "$major: repair() attempts nothing");
	}
	else
	{
		# a role granted membership in the tenant by a superuser: from 16 on
		# only the grantor (or a superuser) can revoke it, so it is reported
		# with no fix; one the admin granted is revoked
		$t->bootstrap_psql('postgres', "CREATE ROLE intruder; GRANT $tenant TO intruder");
		is(control("SELECT problem || ' / ' || coalesce(fix, '(no fix)') FROM tenancy.check('$tenant')"),
			'role "intruder" is a member of the tenant role, granted by a role whose grants only it'
			  . ' or a superuser can revoke (PostgreSQL 16 and later) / (no fix)',
			"$major: check() reports a member the admin cannot remove, with no fix");
		is(control("SELECT tenancy.repair('$tenant')"), '0', "$major: repair() attempts nothing");
		$t->bootstrap_psql('postgres', "REVOKE $tenant FROM intruder");
		($ret, $out, $err) = $t->connect_result($t->admin_user, $t->admin_password, 'postgres',
			"CREATE ROLE intruder2; GRANT $tenant TO intruder2");
		is(control("SELECT fix FROM tenancy.check('$tenant')"), "REVOKE $tenant FROM intruder2",
			"$major: a member the admin granted comes with its fix");
		control("SELECT tenancy.repair('$tenant')");
		is($t->bootstrap_psql('postgres', "SELECT pg_has_role('intruder2', '$tenant', 'MEMBER')"),
			'f', "$major: repair() revokes it");

		# another admin, with CREATEROLE but no ADMIN OPTION on the tenant
		$t->bootstrap_psql('postgres', "SET log_statement = 'none';"
			  . " CREATE ROLE admin2 LOGIN CREATEROLE PASSWORD 'admin2-pw'");
		control(qq{
CREATE ROLE dba${major};
GRANT USAGE ON SCHEMA tenancy TO dba${major};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tenancy TO dba${major};
GRANT USAGE ON FOREIGN SERVER $cluster TO dba${major};
CREATE USER MAPPING FOR dba${major} SERVER $cluster OPTIONS (user 'admin2', password 'admin2-pw');
});
		($ret, $out, $err) = $control->psql('postgres',
			"SET SESSION AUTHORIZATION dba${major}; SELECT tenancy.suspend('$tenant')");
		like($err, qr/permission denied to change role "$tenant".*\n.*needs ADMIN OPTION on it/,
			"$major: an admin without ADMIN OPTION on the tenant is refused before the first step");
		is(control("SELECT state FROM tenancy.tenants WHERE name = '$tenant'"), 'active',
			"$major: ... and nothing changed");
	}

	control("SELECT tenancy.set_deletion_protection('$tenant', false)");
	control("SELECT * FROM tenancy.offboard('$tenant')");
	is($t->bootstrap_psql('postgres',
			"SELECT count(*) FROM pg_roles WHERE rolname = '$tenant'")
		  . $t->bootstrap_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE '${tenant}%'"),
		'00', "$major: offboarding leaves nothing of the tenant");
	$t->stop;
}

done_testing();
