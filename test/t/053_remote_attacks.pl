# Attacks on target clusters, each written as the safe behaviour it should
# meet: a hostile tenant planting objects the admin might call, another
# admin of the target forging, copying or replaying markers and planting
# "unfinished" databases, a non-superuser of the control cluster reaching
# for the server's credentials, IAM tokens, the marker key or other users'
# passwords, and the control backend dying mid-step.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use Target;
use Control;

plan skip_all => 'no target PostgreSQL 15 installed' unless Target::available(15);

my $t = Target->new('target15', 15, log_statement => 1);
$t->start;
my $port  = $t->port;
my $ca    = $t->ca_file;
my $admin = $t->admin_user;
my $apw   = $t->admin_password;
my $where = server_options($t);

# The control cluster's environment knows the target's CA, as a host
# with the RDS bundle in PGSSLROOTCERT (or ~/.postgresql/root.crt) does.
my $control = Control::start(env => { PGSSLROOTCERT => $ca });

# the README's setup of an admin
add_cluster('aurora', $t);
$control->safe_psql('postgres', qq{
CREATE ROLE dba LOGIN;
GRANT USAGE ON SCHEMA tenancy TO dba;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tenancy TO dba;
});
my ($readme_grant_rc, undef, $readme_grant_err) = $control->psql('postgres',
	'GRANT SELECT ON ALL TABLES IN SCHEMA tenancy TO dba');
like($readme_grant_err, qr/privileges on tenancy.marker_key cannot be granted/,
	'a GRANT on all tables of the schema would reach the marker key: refused');
$control->safe_psql('postgres', 'GRANT SELECT ON tenancy.registry, tenancy.tenant_databases,'
	  . ' tenancy.audit_log, tenancy.tenants, tenancy.clusters TO dba');

sub offboard
{
	my ($tenant) = @_;
	control("SELECT tenancy.set_deletion_protection('$tenant', false)");
	control("SELECT * FROM tenancy.offboard('$tenant')");
	return;
}

sub boot { return $t->bootstrap_psql(@_) }

# ====================================================================
# (1) A hostile tenant plants objects in its own database and tries to
# reach what the admin runs there.
# ====================================================================
my $pw = control("SELECT password FROM tenancy.onboard('evil', ARRAY['db1'], iam_auth => false,"
	  . " cluster => 'aurora')");
like($pw, qr/^\S{40}$/, 'tenant evil onboarded');

my ($ret, $out, $err) = $t->connect_result('evil', $pw, 'evil_db1', q{
CREATE TABLE public.pwned (who text, what text);
GRANT INSERT, SELECT ON public.pwned TO PUBLIC;
CREATE SCHEMA tenancy_admin;            -- the admin's "$user" schema
GRANT USAGE ON SCHEMA tenancy_admin TO PUBLIC;
});
is($ret, 0, 'the tenant creates a table and a schema named like the admin') or diag $err;
for my $schema ('public', 'tenancy_admin')
{
	($ret, $out, $err) = $t->connect_result('evil', $pw, 'evil_db1', qq{
CREATE FUNCTION $schema.trap() RETURNS void LANGUAGE sql
	AS \$\$ INSERT INTO public.pwned SELECT current_user::text, '$schema' \$\$;
CREATE FUNCTION $schema.set_config(text, text, boolean) RETURNS text LANGUAGE sql
	AS \$\$ SELECT $schema.trap(); SELECT 'x' \$\$;
CREATE FUNCTION $schema.starts_with(text, text) RETURNS boolean LANGUAGE sql
	AS \$\$ SELECT $schema.trap(); SELECT true \$\$;
CREATE FUNCTION $schema.acldefault("char", oid) RETURNS aclitem[] LANGUAGE sql
	AS \$\$ SELECT $schema.trap(); SELECT NULL::aclitem[] \$\$;
CREATE FUNCTION $schema.aclexplode(aclitem[]) RETURNS TABLE (grantor oid, grantee oid, privilege_type text, is_grantable boolean)
	LANGUAGE sql AS \$\$ SELECT $schema.trap(); SELECT 0::oid, 0::oid, 'x'::text, false \$\$;
CREATE FUNCTION $schema.eq(name, text) RETURNS boolean LANGUAGE sql
	AS \$\$ SELECT $schema.trap(); SELECT true \$\$;
CREATE OPERATOR $schema.= (LEFTARG = name, RIGHTARG = text, FUNCTION = $schema.eq);
CREATE FUNCTION $schema.eqn(name, name) RETURNS boolean LANGUAGE sql
	AS \$\$ SELECT $schema.trap(); SELECT true \$\$;
CREATE OPERATOR $schema.= (LEFTARG = name, RIGHTARG = name, FUNCTION = $schema.eqn);
});
	is($ret, 0, "the tenant plants look-alikes of pg_catalog's functions and operators in $schema")
	  or diag $err;
}
($ret, $out, $err) = $t->connect_result('evil', $pw, 'evil_db1',
	'CREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION public.trap()');
isnt($ret, 0, 'the tenant cannot create an event trigger');
($ret, $out, $err) = $t->connect_result('evil', $pw, 'evil_db1', 'COMMENT ON ROLE evil IS NULL');
isnt($ret, 0, 'the tenant cannot remove the marker of its role (and so block its own offboarding)');
($ret, $out, $err) = $t->connect_result('evil', $pw, 'evil_db1', 'COMMENT ON DATABASE evil_db1 IS NULL');
isnt($ret, 0, '... nor the marker of its database');
($ret, $out, $err) = $t->connect_result('evil', $pw, 'evil_db1',
	'ALTER DATABASE evil_db1 SET search_path = tenancy_admin, public');
isnt($ret, 0, 'the tenant cannot set the search_path of its database');
($ret, $out, $err) = $t->connect_result('evil', $pw, 'evil_db1',
	"ALTER ROLE $admin IN DATABASE evil_db1 SET search_path = tenancy_admin, public");
isnt($ret, 0, "... nor the admin's search_path in it");

# what the admin runs in that database: check (deep), repair, suspend,
# resume, and drift that makes repair run statements inside
boot('evil_db1', 'GRANT CREATE ON SCHEMA public TO PUBLIC');
control("SELECT count(*) FROM tenancy.check('evil')");
control("SELECT tenancy.repair('evil')");
control("SELECT tenancy.suspend('evil')");
control("SELECT tenancy.resume('evil')");
is(control("SELECT count(*) FROM tenancy.check('evil')"), '0', 'the drift was repaired');
is(boot('evil_db1', 'SELECT count(*) FROM public.pwned'), '0',
	"none of the tenant's planted functions or operators ran as the admin");
offboard('evil');
is(boot('postgres', "SELECT count(*) FROM pg_roles WHERE rolname = 'evil'"), '0',
	'the hostile tenant is offboarded');

# ====================================================================
# (2) Another admin of the target (CREATEROLE, CREATEDB).
# ====================================================================

# 2a. A marker is public (pg_shdescription) and signs only (kind, name,
# tenant): after offboarding it can be replayed on a new object of the
# same name, which a later onboarding of that name then adopts.  On
# PostgreSQL 17 an admin with CREATEROLE cannot touch roles it did not
# create, so there this is the only way for it into a tenant's role.
SKIP:
{
	skip 'no PostgreSQL 17 target', 7 unless Target::available(17);
	my $t17 = Target->new('target17', 17);
	$t17->start;
	my $ca17 = $t17->ca_file;
	$t17->bootstrap_psql('postgres',
		"CREATE ROLE admin2 LOGIN CREATEROLE CREATEDB PASSWORD 'admin2-pw'");
	control(qq{
CREATE SERVER aurora17 FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (
	host 'localhost', hostaddr '127.0.0.1', port '@{[ $t17->port ]}', dbname 'postgres',
	sslmode 'verify-full', sslrootcert '$ca17');
CREATE USER MAPPING FOR CURRENT_USER SERVER aurora17
	OPTIONS (user '@{[ $t17->admin_user ]}', password '@{[ $t17->admin_password ]}');
});
	sub admin2 { my ($t, $db, $sql) = @_; return $t->connect_result('admin2', 'admin2-pw', $db, $sql) }

	# role marker replay
	control(onboard_sql('rp', 'aurora17', 0));
	my (undef, $role_marker) = admin2($t17, 'postgres',
		"SELECT quote_literal(shobj_description(oid, 'pg_authid')) FROM pg_roles WHERE rolname = 'rp'");
	note "the role's marker, as admin2 reads it: $role_marker";
	($ret) = admin2($t17, 'postgres', 'COMMENT ON ROLE rp IS NULL');
	isnt($ret, 0, '17: admin2 cannot change the marker of a tenant role it did not create');
	offboard('rp');
	($ret, $out, $err) = admin2($t17, 'postgres',
		"CREATE ROLE rp LOGIN PASSWORD 'admin2-knows-it'; COMMENT ON ROLE rp IS $role_marker");
	is($ret, 0, '17: after offboarding, admin2 makes a role rp of its own with the old marker') or diag $err;
	($out, $err) = control_as(undef, onboard_sql('rp', 'aurora17', 0));
	{
		like($err, qr/role "rp" already exists and is not a tenant role/,
			'17: onboarding rp again does not adopt the role admin2 made with a replayed marker');
		ok(!$t17->login_ok('rp', 'admin2-knows-it', 'rp_db1'),
			"17: admin2 cannot log in to the new tenant database with its own role's password");
	}

	# database marker replay
	control(onboard_sql('dr', 'aurora17', 0));
	my (undef, $db_marker) = admin2($t17, 'postgres',
		"SELECT quote_literal(shobj_description(oid, 'pg_database')) FROM pg_database WHERE datname = 'dr_db1'");
	offboard('dr');
	($ret, $out, $err) = admin2($t17, 'postgres', 'CREATE DATABASE dr_db1');
	($ret, $out, $err) = admin2($t17, 'postgres', "COMMENT ON DATABASE dr_db1 IS $db_marker") unless $ret;
	is($ret, 0, '17: after offboarding, admin2 makes a database dr_db1 of its own with the old marker')
	  or diag $err;
	admin2($t17, 'dr_db1', 'CREATE TABLE public.planted_by_admin2 (x int)');
	($out, $err) = control_as(undef, onboard_sql('dr', 'aurora17', 0));
	{
		like($err, qr/database "dr_db1" already exists and is not a tenant database/,
			"17: onboarding dr again does not adopt admin2's database dr_db1");
		is(control("SELECT count(*) FROM tenancy.tenant_databases WHERE database_name = 'dr_db1'"
				  . " AND state = 'active'"),
			'0', "17: admin2's database is not registered as the tenant's");
	}
	# $t17 keeps running: repair() without a tenant visits every cluster
}

# 2b. A role or a database with a future tenant's name, unmarked or with a
# marker copied from another tenant's object: refused.
boot('postgres', q{CREATE ROLE future1 LOGIN});
($out, $err) = control_as(undef, onboard_sql('future1', 'aurora', 0));
like($err, qr/role "future1" already exists and is not a tenant role/,
	'a pre-created role with a future tenant\'s name is refused');
control(onboard_sql('orig', 'aurora', 0));
my $orig_role_marker = boot('postgres',
	"SELECT quote_literal(shobj_description(oid, 'pg_authid')) FROM pg_roles WHERE rolname = 'orig'");
boot('postgres', "CREATE ROLE future2 LOGIN; COMMENT ON ROLE future2 IS $orig_role_marker");
($out, $err) = control_as(undef, onboard_sql('future2', 'aurora', 0));
like($err, qr/role "future2" already exists and is not a tenant role/,
	'a role carrying a marker copied from another tenant\'s role is refused');
# a marker of orig with the tenant field rewritten, and one of another kind
(my $rewritten = $orig_role_marker) =~ s/tenant=orig /tenant=future3 /;
boot('postgres', "CREATE ROLE future3 LOGIN; COMMENT ON ROLE future3 IS $rewritten");
($out, $err) = control_as(undef, onboard_sql('future3', 'aurora', 0));
like($err, qr/role "future3" already exists and is not a tenant role/,
	'a copied marker with its tenant rewritten is refused');
my $orig_db_marker = boot('postgres',
	"SELECT quote_literal(shobj_description(oid, 'pg_database')) FROM pg_database WHERE datname = 'orig_db1'");
(my $as_role = $orig_db_marker);
boot('postgres', "CREATE ROLE orig_db1 LOGIN; COMMENT ON ROLE orig_db1 IS $as_role");
is(control("SELECT count(*) FROM tenancy.check('orig')"), '0',
	"a database's marker copied onto a role of the same name is nothing to the tenant");
boot('postgres', 'DROP ROLE orig_db1');

# 2c. Rename: the tenant's database renamed away and an unmarked one put
# in its place; and the marked one renamed to another tenant name.
boot('postgres', 'ALTER DATABASE orig_db1 RENAME TO orig_moved');
boot('postgres', 'CREATE DATABASE orig_db1');
my $swap_problems = control("SELECT string_agg(object_name || ': ' || problem, '; ') FROM tenancy.check('orig')");
note "check() after the swap: $swap_problems";
like($swap_problems, qr/orig_db1/,
	'check() reports a database swapped in under the tenant\'s database name');
($out, $err) = control_as(undef, "SELECT tenancy.repair('orig')");
note "repair() after the swap: $out $err";
is(boot('postgres', "SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a"
	  . " WHERE d.datname = 'orig_db1' AND a.grantee = 'orig'::regrole"),
	'0', 'repair() grants the tenant nothing on the swapped-in database');
is(boot('postgres', "SELECT count(*) FROM pg_database WHERE datname IN ('orig_db1', 'orig_moved')"),
	'2', '... and drops neither database');
boot('postgres', 'DROP DATABASE orig_db1; ALTER DATABASE orig_moved RENAME TO orig_db1');
is(control("SELECT count(*) FROM tenancy.check('orig')"), '0', 'renamed back, all is well again');

# 2d. An unfinished database is dropped when an intent row "vouches" for
# it; but every intent of a finished create still names its random name.
# A database someone else makes under that name later (with data in it)
# must not be dropped as our leftover.
my ($unfinished) = control("SELECT statement FROM tenancy.audit_log WHERE tenant = 'orig'"
	  . " AND step = 'create_database' AND phase = 'intent' ORDER BY id LIMIT 1")
  =~ /^CREATE DATABASE (tenancy_new_\w+) /;
ok($unfinished, "the audit log names the random name orig's database was created under");
($ret, $out, $err) = $t->connect_result($admin, $apw, 'postgres', "CREATE DATABASE $unfinished");
is($ret, 0, 'someone logged in as the admin creates a database under that (now free) name') or diag $err;
$t->connect_result($admin, $apw, $unfinished,
	'CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)');
$t->connect_result($admin, $apw, 'postgres', "ALTER DATABASE $unfinished ALLOW_CONNECTIONS false");
{
	is(control("SELECT count(*) FROM tenancy.check('orig') WHERE object_name = '$unfinished'"), '0',
		'check() does not call a database made after our create finished ours');
	control("SELECT tenancy.repair('orig')");
	is(boot('postgres', "SELECT count(*) FROM pg_database WHERE datname = '$unfinished'"), '1',
		'repair() does not drop it');
}
boot('postgres', "DROP DATABASE IF EXISTS $unfinished");

# 2e. A pre-created tenancy_new_* database (not ours: no intent of ours
# names it, or it is not the admin's) is never dropped.
boot('postgres', "CREATE ROLE admin2 LOGIN CREATEROLE CREATEDB PASSWORD 'admin2-pw'");
boot('postgres', 'CREATE DATABASE tenancy_new_planted OWNER admin2 ALLOW_CONNECTIONS false');
boot('postgres', "CREATE DATABASE tenancy_new_admins OWNER $admin ALLOW_CONNECTIONS false");
control("SELECT tenancy.repair()");
control("SELECT tenancy.repair('orig')");
is(boot('postgres', "SELECT count(*) FROM pg_database WHERE datname IN ('tenancy_new_planted', 'tenancy_new_admins')"),
	'2', 'repair() drops no tenancy_new_* database no intent of ours names');

# ====================================================================
# (3) A non-superuser on the control cluster.
# ====================================================================
$control->safe_psql('postgres', qq{
GRANT USAGE ON FOREIGN SERVER aurora TO dba;
CREATE USER MAPPING FOR dba SERVER aurora OPTIONS (user '$admin', password 'WrongSecret-9f3a1c');
});

# 3a. The mapping's (wrong) password in no error, log or audit row.
# (The CREATE USER MAPPING statement itself is in this test's log, as
# log_statement = 'all' logs every statement; what follows it must not be.)
$control->safe_psql('postgres', "ALTER USER MAPPING FOR CURRENT_USER SERVER aurora"
	  . " OPTIONS (SET password '$apw')");
is(control("SELECT count(*) FROM tenancy.audit_log WHERE statement LIKE '%WrongSecret%'"
		  . " OR statement LIKE '%$apw%'"),
	'0', 'no mapping password in an audit row of recorded DDL (CREATE/ALTER USER MAPPING)');
my $log_offset = -s $control->logfile;
($out, $err) = control_as('dba', onboard_sql('w1', 'aurora', 0));
like($err, qr/could not connect to cluster "aurora"/, 'a wrong mapping password: a clear error');
unlike($err, qr/WrongSecret/, "... that does not show the mapping's password");
unlike(substr(slurp_file($control->logfile), $log_offset), qr/WrongSecret|\Q$apw\E/,
	"no mapping password in the control cluster's log");
($out, $err) = control_as('dba', "SELECT count(*) FROM pg_user_mappings WHERE array_to_string(umoptions, ',') LIKE '%$apw%'");
is($out, '0', "dba sees no other user's mapping password");
($out, $err) = control_as('dba', "SELECT * FROM tenancy.clusters");
unlike($out . $err, qr/\Q$apw\E/, 'tenancy.clusters shows no password');

# 3b. The marker key: the README's "GRANT SELECT ON ALL TABLES IN SCHEMA
# tenancy TO admin" must not hand an admin the key that signs markers.
($out, $err) = control_as('dba',
	'SELECT encode(key, \'hex\') FROM tenancy.marker_key ORDER BY created_at, key LIMIT 1');
my $key = $out;
{
	is($key, '', 'an admin following the README cannot read tenancy.marker_key');
}
SKIP:
{
	skip 'the key was not readable', 1 unless $key =~ /^[0-9a-f]{64}$/;
	# forge a marker for a role of our own and have it adopted
	my $mac = hmac_sha256_hex("role\0forged\0forged", pack('H*', $key));
	boot('postgres', "CREATE ROLE forged LOGIN PASSWORD 'forger-knows'; "
		  . "COMMENT ON ROLE forged IS 'aurora_tenancy tenant=forged hmac=$mac'");
	($out, $err) = control_as(undef, onboard_sql('forged', 'aurora', 0));
	like($err, qr/role "forged" already exists and is not a tenant role/,
		'a marker forged with the leaked key adopts nothing');
}

# 3c. IAM tokens: the server's AWS identity signs; a non-superuser gets
# a token only for a remote user the server's iam_users lists.
my $aws = "tenancy.aws_imds_endpoint = ''; tenancy.aws_access_key_id = 'AKIDEXAMPLE';"
  . " tenancy.aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';"
  . " tenancy.aws_session_token = ''; tenancy.aws_signing_time = '20261202T000000Z'";
$control->safe_psql('postgres', join("\n",
		map { "ALTER SYSTEM SET $_;" } grep { /\S/ } map { s/^\s+//r } split /;/, $aws)
	  . "\nSELECT pg_reload_conf();");
my $token = control("SELECT tenancy.iam_auth_token('localhost', $port, 'iam_victim', 'eu-central-1')");
boot('postgres', "SET log_statement = 'none'; CREATE ROLE iam_victim LOGIN CREATEROLE CREATEDB"
	  . " PASSWORD '$token' IN ROLE rds_iam");
control(qq{
CREATE SERVER aurora_iam FOREIGN DATA WRAPPER aurora_tenancy OPTIONS ($where, auth 'iam',
	aws_region 'eu-central-1', iam_users 'someone_else');
CREATE USER MAPPING FOR dba SERVER aurora_iam OPTIONS (user 'iam_victim');
GRANT USAGE ON FOREIGN SERVER aurora_iam TO dba;
});
($out, $err) = control_as('dba', onboard_sql('i1', 'aurora_iam', 1));
like($err, qr/may not log in to cluster "aurora_iam" with the server's IAM identity/,
	'the onboarding path refuses a remote user iam_users does not list');
($out, $err) = control_as('dba',
	"SELECT tenancy.iam_auth_token('localhost', $port, 'iam_victim', 'eu-central-1')");
my $dba_token = $out;
{
	is($dba_token, '', 'an admin gets no token for a remote user iam_users does not list');
	ok(!($dba_token && $t->login_ok('iam_victim', $dba_token, 'postgres')),
		'... and cannot log in to the target as that user');
}

# 3d. A server of the admin's own (with USAGE on the wrapper) listing in
# iam_users whom it likes: the server's IAM identity must still not sign
# for a non-superuser's server, nor for one handed over to it.
$control->safe_psql('postgres', 'GRANT USAGE ON FOREIGN DATA WRAPPER aurora_tenancy TO dba');
($out, $err) = control_as('dba', qq{
CREATE SERVER mine FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (host 'localhost', hostaddr '127.0.0.1',
	port '$port', dbname 'postgres', sslmode 'verify-full', auth 'iam', aws_region 'eu-central-1',
	iam_users 'iam_victim');
});
like($err, qr/only a superuser may set option "(auth|aws_region|iam_users)"/,
	"a non-superuser's server cannot use the server's IAM identity");
control(qq{
CREATE SERVER handed FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (host 'localhost', hostaddr '127.0.0.1',
	port '$port', dbname 'postgres', sslmode 'verify-full', auth 'iam', aws_region 'eu-central-1');
ALTER SERVER handed OWNER TO dba;
});
($out, $err) = control_as('dba', qq{ALTER SERVER handed OPTIONS (ADD iam_users 'iam_victim')});
like($err, qr/only a superuser may set option "(auth|aws_region|iam_users)"/, '... nor list users on one handed over to it');
($out, $err) = control_as('dba', "CREATE USER MAPPING FOR dba SERVER handed OPTIONS (user 'iam_victim');"
	  . onboard_sql('i3', 'handed', 1));
like($err, qr/cluster "handed" has auth 'iam' but is not owned by a superuser/,
	"... and a handed-over IAM server is refused");
is(boot('postgres', "SELECT count(*) FROM pg_roles WHERE rolname = 'i3'"), '0',
	"no tenant is made through a non-superuser's server");

# 3e. A server of the admin's own pointing at the control cluster's own
# socket, where the OS user is trusted: the server's own credentials.
my $super = $control->safe_psql('postgres', 'SELECT current_user');
($out, $err) = control_as('dba', qq{
CREATE SERVER selfish FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (host '@{[ $control->host ]}',
	port '@{[ $control->port ]}', dbname 'postgres');
CREATE USER MAPPING FOR dba SERVER selfish OPTIONS (user '$super', password 'anything');
});
($out, $err) = control_as('dba', onboard_sql('s1', 'selfish', 0));
like($err, qr/password or IAM token is required to reach cluster "selfish"/,
	"a non-superuser's server cannot connect with the server's own (trust) credentials");
($out, $err) = control_as('dba', "CREATE SERVER opt FOREIGN DATA WRAPPER aurora_tenancy"
	  . " OPTIONS (host 'localhost', options '-c search_path=public')");
like($err, qr/invalid option "options"/, 'no "options" (run-time settings) on a server');
($out, $err) = control_as('dba', "ALTER SERVER aurora OPTIONS (ADD iam_users '$admin')");
like($err, qr/must be owner of foreign server aurora/, "dba cannot change the superuser's server");

# ====================================================================
# (4) The control backend dies while a remote statement waits.
# ====================================================================
my $blocker = $t->node->background_psql('postgres');
$blocker->query_safe('BEGIN; LOCK pg_catalog.pg_database IN SHARE ROW EXCLUSIVE MODE');
my $onboarding = $control->background_psql('postgres', on_error_stop => 0);
$onboarding->query_until(qr/started/, "\\echo started\n" . onboard_sql('k1', 'aurora', 0) . ";\n");
$t->node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE usename = '$admin' AND query LIKE 'CREATE DATABASE%'")
  or die 'onboarding never reached CREATE DATABASE';
control("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%onboard(''k1''%'"
	  . ' AND pid <> pg_backend_pid()');
eval { $onboarding->quit; };
my $waiting;
for (1 .. 20)
{
	$waiting = boot('postgres', "SELECT count(*) FROM pg_stat_activity WHERE usename = '$admin'"
		  . " AND query LIKE 'CREATE DATABASE%'");
	last if $waiting eq '0';
	usleep(250_000);
}
{
	is($waiting, '0', 'terminating the caller cancels its remote statement within 5 s');
}
$blocker->query_safe('ROLLBACK');
$blocker->quit;
# let whatever still ran there finish
$t->node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = '$admin' AND query LIKE 'CREATE DATABASE%'");
($out, $err) = control_as(undef, onboard_sql('k1', 'aurora', 0));
is($err, '', 'onboarding again after the caller was killed works');
($out) = control_as(undef, onboard_sql('k1', 'aurora', 0));
is($out, '0', '... and converges');
control("SELECT tenancy.repair('k1')");
is(control("SELECT count(*) FROM tenancy.check('k1')"), '0', 'repair() leaves nothing to report');
is(boot('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'tenancy_new_%'"
	  . " AND datname NOT IN ('tenancy_new_planted', 'tenancy_new_admins')"),
	'0', 'no unfinished database is left behind');
like(boot('postgres', "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'k1_db1'"),
	qr/^aurora_tenancy tenant=k1 hmac=/, 'the database is the marked one');
is(control('SELECT count(*) FROM tenancy.verify_audit_log()'), '0', 'the audit chain holds');

done_testing();
