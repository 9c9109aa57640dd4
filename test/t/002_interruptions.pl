# Interruptions: the caller cancelled, timed out or terminated stops its
# executor too; an executor that dies is an error, never a hang; an executor
# killed with SIGKILL mid-onboard (the whole cluster restarts) is followed by
# a re-run that completes what is missing, duplicating and orphaning nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('interruptions');
$node->init;
# a SIGKILLed background worker makes the postmaster restart every backend
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE ROLE rds_iam NOLOGIN; CREATE EXTENSION aurora_tenancy;');

my $executors = "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor')";

# Starts onboard in a background session and waits until its executor is
# blocked on a lock; returns the session and the caller's pid.
sub start_blocked_onboard
{
	my ($tenant, $dbs, $setup) = @_;
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	$s->query_safe($setup) if $setup;
	$s->query_until(qr/started/, "\\echo started\nSELECT changes FROM tenancy.onboard('$tenant', $dbs);\n");
	ok($node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor' AND wait_event_type = 'Lock'"),
		"$tenant: the executor is at work (blocked)");
	return ($s, $pid);
}

# A lock that blocks a new tenant's onboarding in its executor, which
# registers the tenant's databases, and not its caller, which only reads
# them: SHARE mode conflicts with INSERT, not with SELECT.
sub lock_catalog
{
	my $l = $node->background_psql('postgres');
	$l->query_safe('BEGIN; LOCK TABLE tenancy.tenant_databases IN SHARE MODE;');
	return $l;
}

sub completes
{
	my ($tenant, $dbs, $name) = @_;
	my $changes = $node->safe_psql('postgres', "SELECT changes FROM tenancy.onboard('$tenant', $dbs)");
	ok($changes > 0, "$name: the re-run completes the tenant ($changes steps)");
	is($node->safe_psql('postgres', "SELECT state FROM tenancy.tenants WHERE name = '$tenant'"),
		'active', "$name: the tenant is active");
	is($node->safe_psql('postgres', "SELECT changes FROM tenancy.onboard('$tenant', $dbs)"),
		'0', "$name: and a third run has nothing to do");
}

# 1. cancel
{
	my $l = lock_catalog();
	my ($s, $pid) = start_blocked_onboard('t_cancel', "ARRAY['db1']");
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	ok($node->poll_query_until('postgres', "SELECT $executors = 0"), 'cancel: the executor stops, though its lock is still held');
	$s->query('SELECT 1');
	like($s->{stderr}, qr/canceling statement due to user request/, 'cancel: the caller gets the cancel');
	$l->query_safe('COMMIT');
	is($node->safe_psql('postgres',
		"SELECT sqlstate FROM tenancy.audit_log WHERE tenant = 't_cancel' AND phase = 'failed'"),
		'57014', 'cancel: the interrupted step is audited as failed');
	$s->quit;
	$l->quit;
	completes('t_cancel', "ARRAY['db1']", 'cancel');
}

# 2. statement_timeout
{
	my $l = lock_catalog();
	my ($s, $pid) = start_blocked_onboard('t_timeout', "ARRAY['db1']", "SET statement_timeout = '2s'");
	ok($node->poll_query_until('postgres', "SELECT $executors = 0"), 'timeout: the executor stops');
	$s->query('SELECT 1');
	like($s->{stderr}, qr/canceling statement due to statement timeout/, 'timeout: the caller gets the timeout');
	$l->query_safe('COMMIT');
	$s->quit;
	$l->quit;
	completes('t_timeout', "ARRAY['db1']", 'timeout');
}

# 3. the caller terminated
{
	my $l = lock_catalog();
	my ($s, $pid) = start_blocked_onboard('t_term', "ARRAY['db1']");
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	ok($node->poll_query_until('postgres', "SELECT $executors = 0"), 'caller terminated: the executor stops');
	$l->query_safe('COMMIT');
	eval { $s->quit };			# its server process is gone
	$l->quit;
	completes('t_term', "ARRAY['db1']", 'caller terminated');
}

# 4. the executor terminated: an error in the caller, not a hang
{
	my $l = lock_catalog();
	my ($s, $pid) = start_blocked_onboard('t_worker', "ARRAY['db1']");
	$node->safe_psql('postgres',
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor'");
	$s->query('SELECT 1');
	# the worker's own last words, relayed, with where they come from
	like($s->{stderr},
		qr/terminating background worker "aurora_tenancy executor" due to administrator command.*in background worker for database "postgres"/s,
		'executor terminated: the caller gets its error');
	$l->query_safe('COMMIT');
	$s->quit;
	$l->quit;
	completes('t_worker', "ARRAY['db1']", 'executor terminated');
}

# 5. SIGKILL of the executor in a tenant database, half way through a run
# (of repair(): onboard() does not look inside databases it finished)
{
	$node->safe_psql('postgres', "SELECT changes FROM tenancy.onboard('t_kill', ARRAY['db1', 'db2'])");
	# drift in both databases, so the repair has steps in db1, then in db2
	$node->safe_psql('postgres', 'REVOKE CONNECT ON DATABASE t_kill_db1 FROM t_kill');
	$node->safe_psql('t_kill_db2', 'GRANT ALL ON SCHEMA public TO PUBLIC');
	# hold the row GRANT/REVOKE ON SCHEMA public must update in db2
	my $l = $node->background_psql('t_kill_db2');
	$l->query_safe("BEGIN; SELECT 1 FROM pg_namespace WHERE nspname = 'public' FOR UPDATE;");
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	$s->query_until(qr/started/, "\\echo started\nSELECT tenancy.repair('t_kill');\n");
	ok($node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor'"
		  . " AND datname = 't_kill_db2' AND wait_event_type = 'Lock'"),
		'kill: the executor in t_kill_db2 is blocked');
	my $wpid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor' AND datname = 't_kill_db2'");
	kill 'KILL', $wpid;
	eval { $s->quit };			# the crash took both sessions with it
	eval { $l->quit };
	ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'kill: the cluster is back after the crash');

	is($node->safe_psql('postgres',
		"SELECT count(*) FROM tenancy.audit_log WHERE tenant = 't_kill' AND step = 'database_privileges'"
		  . " AND object_name = 't_kill_db1' AND phase = 'done'"),
		'2', 'kill: the step before the kill (db1) was done and audited');
	# (its intent row may be gone too: intents commit asynchronously, so
	# the crash can take one with it, but only when the step never ran)
	my $db2_done = "SELECT count(*) FROM tenancy.audit_log WHERE tenant = 't_kill'"
	  . " AND step = 'schema_privileges' AND database = 't_kill_db2' AND phase = 'done'";
	is($node->safe_psql('postgres', $db2_done), '1', 'kill: the killed step has no outcome');

	# what is missing, plus the outcome of the killed step's intent if the
	# crash did not take the intent with it
	like($node->safe_psql('postgres', "SELECT tenancy.repair('t_kill')"),
		qr/^[12]$/, 'kill: the re-run does only what is missing');
	is($node->safe_psql('postgres', $db2_done), '2', 'kill: the re-run did and audited it');
	is($node->safe_psql('t_kill_db2', "SELECT nspacl FROM pg_namespace WHERE nspname = 'public'"),
		'{pg_database_owner=UC/pg_database_owner,t_kill=UC/pg_database_owner}', 'kill: db2 is right again');
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_database WHERE datname LIKE 't_kill%'") . '/'
		  . $node->safe_psql('postgres', "SELECT count(*) FROM pg_roles WHERE rolname LIKE 't_kill%'"),
		'2/1', 'kill: nothing duplicated');
}

# 6. no free background worker slot
{
	$node->append_conf('postgresql.conf', "max_worker_processes = 1\n");
	$node->restart;
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM tenancy.onboard('t_slots', ARRAY['db1'])");
	like($err, qr/could not start an executor for database "postgres"/, 'no slot: a clear error');
	like($err, qr/HINT:  Raise max_worker_processes/, 'no slot: the hint names max_worker_processes');
	is($node->safe_psql('postgres', "SELECT count(*) FROM tenancy.tenants WHERE name = 't_slots'"),
		'0', 'no slot: nothing done');
	$node->append_conf('postgresql.conf', "max_worker_processes = 8\n");
	$node->restart;
	completes('t_slots', "ARRAY['db1']", 'no slot');
}

$node->stop;
done_testing();
