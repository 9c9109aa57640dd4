# pg_dump of the extension's database keeps the catalog rows: restored into
# a new database, the tenants, their databases and the audit log come back,
# its hash chain intact, and new rows continue it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE ROLE rds_iam NOLOGIN;
CREATE DATABASE control;
});
$node->safe_psql('control', 'CREATE EXTENSION aurora_tenancy');
$node->safe_psql('control', "SELECT * FROM tenancy.onboard('client01', ARRAY['db1', 'db2'])");
$node->safe_psql('control', "SELECT * FROM tenancy.onboard('client02', ARRAY['db1'], iam_auth => false)");

my $summary = q{
SELECT (SELECT string_agg(name || ':' || state || ':' || iam_auth, ',' ORDER BY name) FROM tenancy.tenants)
    || ' / ' || (SELECT string_agg(database_name, ',' ORDER BY database_name) FROM tenancy.tenant_databases)
    || ' / ' || (SELECT count(*) || ':' || max(id) FROM tenancy.audit_log WHERE phase <> 'ddl')
};
my $before = $node->safe_psql('control', $summary);
my $head = $node->safe_psql('control',
	"SELECT id || ':' || encode(row_hash, 'hex') FROM tenancy.audit_log ORDER BY id DESC LIMIT 1");

my $dump = PostgreSQL::Test::Utils::tempdir() . '/control.sql';
command_ok([ 'pg_dump', '-d', $node->connstr('control'), '-f', $dump ], 'pg_dump of the extension database');
my $text = slurp_file($dump);
like($text, qr/CREATE EXTENSION IF NOT EXISTS aurora_tenancy/, 'the dump creates the extension');
like($text, qr/COPY tenancy\.registry .*client01/s, 'the dump holds the tenants');
like($text, qr/COPY tenancy\.audit_log /, 'the dump holds the audit log');

$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'), '-f', $dump ],
	'the dump restores');
is($node->safe_psql('restored', $summary), $before, 'the catalog rows are back, audit ids included');
is($node->safe_psql('restored', "SELECT count(*) FROM tenancy.audit_log WHERE phase = 'ddl' AND step = 'COMMENT'"),
	'0', 'DDL the restore replays before loading the rows is not recorded: it would fork their chain');
is($node->safe_psql('restored', 'SELECT count(*) FROM tenancy.verify_audit_log()'),
	'0', 'the restored audit log verifies');
is($node->safe_psql('restored', "SELECT count(*) FROM tenancy.verify_audit_log('$head')"),
	'0', 'against the head kept from the dumped database too');

# the restored audit log is append-only again, and its sequence continues
my ($ret, $out, $err) = $node->psql('restored', 'DELETE FROM tenancy.audit_log');
like($err, qr/the audit log is append-only/, 'the restored audit log is append-only');
$node->safe_psql('restored', 'CREATE TABLE after_restore (id int)');
ok($node->safe_psql('restored', "SELECT max(id) FROM tenancy.audit_log WHERE step = 'CREATE TABLE'")
	  > $node->safe_psql('control', 'SELECT max(id) FROM tenancy.audit_log'),
	'new audit rows continue after the restored ones');
is($node->safe_psql('restored', q{
SELECT a.row_hash IS NOT NULL
	AND a.prev_hash = (SELECT b.row_hash FROM tenancy.audit_log b WHERE b.id < a.id ORDER BY b.id DESC LIMIT 1)
FROM tenancy.audit_log a WHERE a.step = 'CREATE TABLE'}),
	't', 'DDL after the restore is recorded and chained to the restored rows');
is($node->safe_psql('restored', 'SELECT count(*) FROM tenancy.verify_audit_log()'),
	'0', 'the chain verifies after new rows');

$node->stop;
done_testing();
