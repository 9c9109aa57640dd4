# The upgrade path: a 1.0 install with audit rows, updated with ALTER
# EXTENSION ... UPDATE, ends up with exactly the objects a fresh CREATE
# EXTENSION makes (compared through a description of every member object,
# found by query, not listed here), and its existing audit rows chained.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE ROLE rds_iam NOLOGIN;
CREATE DATABASE upgraded;
CREATE DATABASE fresh;
});

# --- 1.0, with audit rows, updated
$node->safe_psql('upgraded', "CREATE EXTENSION aurora_tenancy VERSION '1.0'");
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'aurora_tenancy'"),
	'1.0', 'installed as 1.0');
$node->safe_psql('upgraded', "SELECT * FROM tenancy.onboard('client01', ARRAY['db1'])");
$node->safe_psql('upgraded', "SELECT * FROM tenancy.onboard('client02', ARRAY['db1', 'db2'], iam_auth => false)");
$node->safe_psql('upgraded', 'CREATE TABLE public.before_update (a int)');
my $rows = $node->safe_psql('upgraded', 'SELECT count(*) FROM tenancy.audit_log');
ok($rows > 10, 'the 1.0 install has audit rows');

$node->safe_psql('upgraded', 'ALTER EXTENSION aurora_tenancy UPDATE');
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'aurora_tenancy'"),
	'1.4', 'updated to 1.4');
is($node->safe_psql('upgraded', 'SELECT count(*) FILTER (WHERE row_hash IS NULL) FROM tenancy.audit_log'),
	'0', 'the rows written before the update are chained');
is($node->safe_psql('upgraded', 'SELECT count(*) FROM tenancy.verify_audit_log()'),
	'0', 'verify_audit_log() is empty after the update');
$node->safe_psql('upgraded', "SELECT * FROM tenancy.onboard('client03', ARRAY['db1'])");
is($node->safe_psql('upgraded', 'SELECT count(*) FROM tenancy.verify_audit_log()'),
	'0', 'operations after the update continue the chain');
my ($ret, $out, $err) = $node->psql('upgraded', 'DELETE FROM tenancy.audit_log');
like($err, qr/the audit log is append-only/, 'the audit log is append-only again after the update');

# --- fresh install
$node->safe_psql('fresh', 'CREATE EXTENSION aurora_tenancy');

# One line per property of every member object of the extension, and of the
# tables' columns, constraints, indexes, triggers and policies; privileges
# (and the initial privileges pg_dump relies on), comments, and the tables
# pg_dump dumps with their conditions.
my $describe = q{
WITH ext AS (
	SELECT oid, extversion, extconfig, extcondition FROM pg_extension WHERE extname = 'aurora_tenancy'
), members AS (
	SELECT d.classid, d.objid FROM pg_depend d, ext
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (
	SELECT c.* FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
), lines AS (
	SELECT 'extension version ' || extversion AS line FROM ext
	UNION ALL
	SELECT 'dumped ' || c.oid::regclass || ' where ' || coalesce(x.extcondition[s.i], '')
	FROM ext x, generate_subscripts(x.extconfig, 1) AS s(i), pg_class c
	WHERE c.oid = x.extconfig[s.i]
	UNION ALL
	SELECT 'member ' || i.type || ' ' || i.identity
	FROM members m, pg_identify_object(m.classid, m.objid, 0) i
	UNION ALL
	SELECT 'owner ' || pg_describe_object(m.classid, m.objid, 0) || ' ' || pg_get_userbyid(o.owner)
	FROM members m, LATERAL (
		SELECT proowner FROM pg_proc WHERE m.classid = 'pg_proc'::regclass AND oid = m.objid
		UNION ALL SELECT relowner FROM pg_class WHERE m.classid = 'pg_class'::regclass AND oid = m.objid
		UNION ALL SELECT nspowner FROM pg_namespace WHERE m.classid = 'pg_namespace'::regclass AND oid = m.objid
		UNION ALL SELECT evtowner FROM pg_event_trigger WHERE m.classid = 'pg_event_trigger'::regclass AND oid = m.objid
		UNION ALL SELECT typowner FROM pg_type WHERE m.classid = 'pg_type'::regclass AND oid = m.objid
	) o(owner)
	UNION ALL
	SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ': ' || d.description
	FROM pg_description d JOIN members m ON m.classid = d.classoid AND m.objid = d.objoid
	UNION ALL
	SELECT 'initial privileges ' || pg_describe_object(p.classoid, p.objoid, p.objsubid) || ' ' || p.privtype::text
		|| ' ' || p.initprivs::text
	FROM pg_init_privs p JOIN members m ON m.classid = p.classoid AND m.objid = p.objoid
	UNION ALL
	SELECT 'function ' || p.oid::regprocedure || ' acl ' || coalesce(p.proacl::text, '-') || ' '
		|| pg_get_functiondef(p.oid)
	FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
	WHERE p.prokind <> 'a'
	UNION ALL
	SELECT 'schema ' || n.nspname || ' acl ' || coalesce(n.nspacl::text, '-')
	FROM pg_namespace n JOIN members m ON m.classid = 'pg_namespace'::regclass AND m.objid = n.oid
	UNION ALL
	SELECT 'event trigger ' || e.evtname || ' on ' || e.evtevent || ' ' || e.evtfoid::regprocedure
		|| ' enabled ' || e.evtenabled::text || ' tags ' || coalesce(e.evttags::text, '-')
	FROM pg_event_trigger e JOIN members m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = e.oid
	UNION ALL
	SELECT 'relation ' || c.oid::regclass || ' kind ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, '-')
		|| ' options ' || coalesce(c.reloptions::text, '-') || ' rls ' || c.relrowsecurity || '/' || c.relforcerowsecurity
		|| ' persistence ' || c.relpersistence::text
		|| CASE WHEN c.relkind::text IN ('v', 'm') THEN ' ' || pg_get_viewdef(c.oid) ELSE '' END
	FROM rels c
	UNION ALL
	SELECT 'column ' || c.oid::regclass || ' #' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)
		|| ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
		|| CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
		|| coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
		|| ' identity ' || a.attidentity::text || ' generated ' || a.attgenerated::text
		|| ' collation ' || coalesce(a.attcollation::regcollation::text, '-')
		|| ' acl ' || coalesce(a.attacl::text, '-')
	FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	WHERE c.relkind::text IN ('r', 'p', 'v', 'm', 'f')
	UNION ALL
	SELECT 'constraint ' || con.conrelid::regclass || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
		|| ' deferrable ' || con.condeferrable || '/' || con.condeferred
	FROM pg_constraint con JOIN rels c ON c.oid = con.conrelid
	UNION ALL
	SELECT 'index ' || pg_get_indexdef(i.indexrelid)
	FROM pg_index i JOIN rels c ON c.oid = i.indrelid
	UNION ALL
	SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
	FROM pg_trigger t JOIN rels c ON c.oid = t.tgrelid
	WHERE NOT t.tgisinternal
	UNION ALL
	SELECT 'policy ' || pol.polrelid::regclass || ' ' || pol.polname || ' ' || pol.polcmd::text || ' ' || pol.polpermissive
		|| ' roles ' || pol.polroles::regrole[]::text
		|| ' using ' || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '-')
		|| ' check ' || coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '-')
	FROM pg_policy pol JOIN rels c ON c.oid = pol.polrelid
	UNION ALL
	SELECT 'sequence ' || s.seqrelid::regclass || ' ' || format_type(s.seqtypid, NULL) || ' start ' || s.seqstart
		|| ' increment ' || s.seqincrement || ' min ' || s.seqmin || ' max ' || s.seqmax
		|| ' cache ' || s.seqcache || ' cycle ' || s.seqcycle
		|| ' owned by ' || coalesce((SELECT pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
									 FROM pg_depend d
									 WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
									   AND d.deptype = 'a' AND d.refclassid = 'pg_class'::regclass), '-')
	FROM pg_sequence s JOIN rels c ON c.oid = s.seqrelid
)
SELECT replace(line, E'\n', ' ') AS line FROM lines ORDER BY line COLLATE "C"
};

my @upgraded = split /\n/, $node->safe_psql('upgraded', $describe);
my @fresh = split /\n/, $node->safe_psql('fresh', $describe);
ok(scalar(grep { /^member table tenancy\.audit_log$/ } @fresh), 'the description covers the audit log');
ok(scalar(grep { /^function tenancy\.verify_audit_log\(text\)/ } @fresh), 'and the functions');
ok(scalar(grep { /^trigger .* audit_log_chain .* enabled A$/ } @fresh), 'and the triggers');
is_deeply(\@upgraded, \@fresh, 'the updated extension is the freshly created one, object for object');

$node->stop;
done_testing();
