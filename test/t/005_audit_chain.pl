# The audit log's hash chain: intact, verify_audit_log() is empty (whatever
# TimeZone and DateStyle say); every way a superuser can get past the
# append-only triggers (disabled triggers, session_replication_role, DELETE,
# TRUNCATE, a hand INSERT, reordered ids, a consistently rewritten chain)
# is reported, the last two only against a head kept from the server log;
# concurrent operations still make one line.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('audit_chain');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE ROLE rds_iam NOLOGIN');

# A database of its own per case, with the extension and one onboarded tenant.
sub fresh_database
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION aurora_tenancy');
	$node->safe_psql($db, "SELECT * FROM tenancy.onboard('${db}_t', ARRAY['db1', 'db2'])");
	return $db;
}

sub verify
{
	my ($db, $head) = @_;
	my $arg = defined $head ? "'$head'" : '';
	return $node->safe_psql($db,
		"SELECT coalesce(id::text, '-') || ': ' || problem FROM tenancy.verify_audit_log($arg)");
}

# The head as the server log last showed it for a database.
sub logged_head
{
	my ($db) = @_;
	my @heads = slurp_file($node->logfile) =~
	  /aurora_tenancy audit log head of database "\Q$db\E": (\d+:[0-9a-f]{64})/g;
	return $heads[-1];
}

# The id of the n-th row of the log (0-based).
sub nth_id
{
	my ($db, $n) = @_;
	return $node->safe_psql($db, "SELECT id FROM tenancy.audit_log ORDER BY id OFFSET $n LIMIT 1");
}

# Runs SQL with the append-only triggers out of the way, as a superuser can.
my $bypass_replica = q{
SET session_replication_role = replica;
ALTER TABLE tenancy.audit_log DISABLE TRIGGER audit_log_append_only;
ALTER TABLE tenancy.audit_log DISABLE TRIGGER audit_log_no_truncate;
};
my $restore_replica = q{
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
RESET session_replication_role;
};

# --- intact
my $db = fresh_database('intact');
is(verify($db), '', 'intact: verify_audit_log() is empty');
ok($node->safe_psql($db, 'SELECT count(*) > 5 AND bool_and(row_hash IS NOT NULL) FROM tenancy.audit_log'),
	'intact: every row the extension wrote has a hash');
is($node->safe_psql($db, 'SELECT count(*) FILTER (WHERE prev_hash IS NULL) FROM tenancy.audit_log'),
	'1', 'intact: only the first row starts the chain');
is($node->safe_psql($db, q{
SET TimeZone = 'Asia/Tokyo'; SET DateStyle = 'German';
SELECT count(*) FROM tenancy.verify_audit_log();
SELECT bool_and(tenancy.audit_row_hash(a) = a.row_hash) FROM tenancy.audit_log a;
}), "0\nt", 'intact: the hashes do not depend on TimeZone or DateStyle');

my $head = logged_head($db);
ok(defined $head, 'the server log shows the head after an operation');
is($head, $node->safe_psql($db,
	"SELECT id || ':' || encode(row_hash, 'hex') FROM tenancy.audit_log ORDER BY id DESC LIMIT 1"),
	'the logged head is the last row');
is(verify($db, $head), '', 'intact: verify_audit_log(head from the log) is empty');
(my $hash_only = $head) =~ s/^\d+://;
is(verify($db, $hash_only), '', 'a head may be given as its hash alone');
my ($ret, $out, $err) = $node->psql($db, "SELECT * FROM tenancy.verify_audit_log('12:abc')");
like($err, qr/invalid audit log head "12:abc"/, 'a malformed head is an error');

# DDL is recorded, chained, and its head logged once the transaction commits
$node->safe_psql($db, 'BEGIN; CREATE TABLE public.t1 (a int); ROLLBACK');
is(logged_head($db), $head, 'a rolled-back DDL logs no head');
$node->safe_psql($db, 'CREATE TABLE public.t2 (a int)');
my $ddl_head = logged_head($db);
isnt($ddl_head, $head, 'committed DDL logs a new head');
is(verify($db, $ddl_head), '', 'the DDL row continues the chain');
is(verify($db, $head), '', 'an older kept head still verifies');

# --- UPDATE with the triggers disabled (ALTER TABLE ... DISABLE TRIGGER ALL)
$db = fresh_database('updated');
my $victim = nth_id($db, 3);
$node->safe_psql($db, qq{
SET session_replication_role = replica;
ALTER TABLE tenancy.audit_log DISABLE TRIGGER ALL;
UPDATE tenancy.audit_log SET statement = 'SELECT 1' WHERE id = $victim;
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_chain;
RESET session_replication_role;
});
is(verify($db), "$victim: the row does not match its hash: it was changed after it was written",
	'update: the changed row is reported');

# --- UPDATE under session_replication_role = replica, hash recomputed for the row
$db = fresh_database('rehashed');
$victim = nth_id($db, 2);
$node->safe_psql($db, qq{
$bypass_replica
UPDATE tenancy.audit_log a SET message = 'forged' WHERE id = $victim;
UPDATE tenancy.audit_log a SET row_hash = tenancy.audit_row_hash(a) WHERE id = $victim;
$restore_replica
});
like(verify($db), qr/^\d+: the row does not link to row $victim before it/,
	'update with a recomputed hash: the next row no longer links to it');

# --- DELETE of a middle row
$db = fresh_database('deleted');
$victim = nth_id($db, 3);
my $next = nth_id($db, 4);
$node->safe_psql($db, "$bypass_replica DELETE FROM tenancy.audit_log WHERE id = $victim; $restore_replica");
like(verify($db), qr/^$next: the row does not link to row \d+ before it: rows between them were deleted/,
	'delete: the break is reported at the row after the deleted one');

# --- DELETE of the first rows
$db = fresh_database('beheaded');
$victim = nth_id($db, 1);
$node->safe_psql($db, "$bypass_replica DELETE FROM tenancy.audit_log WHERE id <= $victim; $restore_replica");
like(verify($db), qr/^\d+: the first row links to a row before it/, 'delete of the first rows: reported');

# --- TRUNCATE: only a kept head tells
$db = fresh_database('truncated');
$head = logged_head($db);
$node->safe_psql($db, "$bypass_replica TRUNCATE tenancy.audit_log; $restore_replica");
is(verify($db), '', 'truncate: nothing left to check without a head');
my ($head_id) = $head =~ /^(\d+):/;
is(verify($db, $head), "$head_id: the kept head is missing: its row was deleted or the log was truncated",
	'truncate: verify(kept head) reports it');
$node->safe_psql($db, "SELECT * FROM tenancy.onboard('truncated_t2', ARRAY['db1'])");
is(verify($db, $head), "$head_id: the kept head is missing: its row was deleted or the log was truncated",
	'truncate: still reported after a new chain started');

# --- a row inserted by hand
$db = fresh_database('forged');
$node->safe_psql($db, q{
INSERT INTO tenancy.audit_log (operation, step, phase, session_user_name, current_user_name, backend_pid)
VALUES ('onboard', 'create_role', 'done', 'postgres', 'postgres', 1);
});
my $forged = $node->safe_psql($db, 'SELECT max(id) FROM tenancy.audit_log');
is(verify($db), "$forged: the row has no hash: aurora_tenancy did not write it (it was inserted by hand), or its hash was removed",
	'hand insert: reported');
$node->safe_psql($db, "SELECT * FROM tenancy.onboard('forged_t2', ARRAY['db1'])");
is(verify($db), "$forged: the row has no hash: aurora_tenancy did not write it (it was inserted by hand), or its hash was removed",
	'hand insert: the chain links over it, and only it is reported');

# --- reordering: two rows swap ids
$db = fresh_database('reordered');
my ($first, $second) = (nth_id($db, 2), nth_id($db, 3));
$node->safe_psql($db, qq{
$bypass_replica
UPDATE tenancy.audit_log SET id = CASE id WHEN $first THEN $second ELSE $first END WHERE id IN ($first, $second);
$restore_replica
});
like(verify($db), qr/^$first: the row does not match its hash/, 'reordering: reported');

# --- the whole chain rewritten consistently: only the kept head tells
$db = fresh_database('rewritten');
$head = logged_head($db);
$node->safe_psql($db, qq{
$bypass_replica
UPDATE tenancy.audit_log SET message = 'nothing happened';
DO \$\$
DECLARE r record; e tenancy.audit_log; prev bytea;
BEGIN
	FOR r IN SELECT a.ctid AS tid, a AS e FROM tenancy.audit_log a ORDER BY a.id, a.at LOOP
		e := r.e; e.prev_hash := prev; prev := tenancy.audit_row_hash(e);
		UPDATE tenancy.audit_log SET prev_hash = e.prev_hash, row_hash = prev WHERE ctid = r.tid;
	END LOOP;
END
\$\$;
$restore_replica
});
is(verify($db), '', 'rewritten chain: consistent in itself');
($head_id) = $head =~ /^(\d+):/;
like(verify($db, $head), qr/^$head_id: the kept head does not match/, 'rewritten chain: the kept head catches it');

# --- concurrent operations make one line: a transaction that recorded DDL
# holds the chain's lock (the key the README names) until it commits, two
# operations wait for it, then append interleaved
$db = fresh_database('concurrent');
my $s1 = $node->background_psql($db);
my $s2 = $node->background_psql($db);
my $s3 = $node->background_psql($db);
$s3->query_safe('BEGIN; CREATE TABLE public.c0 (a int)');
$s1->query_until(qr/started/, "\\echo started\nSELECT changes FROM tenancy.onboard('conc_a', ARRAY['db1', 'db2', 'db3']);\n");
$s2->query_until(qr/started/, "\\echo started\nSELECT changes FROM tenancy.onboard('conc_b', ARRAY['db1', 'db2', 'db3']);\n");
ok($node->poll_query_until($db, q{
SELECT count(*) = 2 FROM pg_locks
WHERE locktype = 'advisory' AND classid = 5522768 AND objid = 0 AND objsubid = 3 AND NOT granted}),
	'concurrent: both operations wait for the chain lock');
$s3->query_safe('COMMIT');
$s3->query_safe('CREATE TABLE public.c1 (a int); CREATE TABLE public.c2 (a int); CREATE TABLE public.c3 (a int)');
$s1->query_safe('SELECT 1');
$s2->query_safe('SELECT 1');
$_->quit for ($s1, $s2, $s3);
is($node->safe_psql($db, "SELECT string_agg(name || ':' || state, ',' ORDER BY name) FROM tenancy.tenants WHERE name IN ('conc_a', 'conc_b')"),
	'conc_a:active,conc_b:active', 'concurrent: both operations completed');
note('operation switches along the log: ', $node->safe_psql($db, q{
SELECT count(*) FROM (SELECT tenant IS DISTINCT FROM lag(tenant) OVER (ORDER BY id) AS switch
					  FROM tenancy.audit_log WHERE tenant IN ('conc_a', 'conc_b')) s WHERE switch}));
is(verify($db), '', 'concurrent: the chain is one line');
is($node->safe_psql($db, 'SELECT count(*) = count(DISTINCT prev_hash) + 1 FROM tenancy.audit_log'),
	't', 'concurrent: no two rows link to the same row');

$node->stop;
done_testing();
