# libcurl is loaded only by a process that calls AWS over HTTP: not by the
# postmaster that preloads the library, not by an executor worker, not by a
# backend that called check() or signed a token with credentials from the
# settings; a backend that asks the instance metadata service (the IMDSv2
# double, test/imds_double.py) for credentials loads it and gets the same
# token.  A libcurl that cannot be loaded, or lacks a function, is an error
# with SQLSTATE 0A000 and a hint to install libcurl4, not a crash, and
# everything that needs no HTTP goes on working.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $double = File::Spec->rel2abs(dirname(__FILE__) . '/../imds_double.py');
my $tmp = PostgreSQL::Test::Utils::tempdir;

# The shared objects mapped into a process, by path.
sub mapped
{
	my ($pid) = @_;
	my %libs;
	open my $fh, '<', "/proc/$pid/maps" or die "could not read /proc/$pid/maps: $!";
	while (my $line = <$fh>)
	{
		chomp $line;
		my $path = (split ' ', $line, 6)[5];
		$libs{$path} = 1 if defined $path && $path =~ m{\.so(\.[0-9.]+)?$};
	}
	close $fh;
	return sort keys %libs;
}

sub maps_libcurl { return scalar grep { m{/libcurl[^/]*$} } mapped($_[0]); }
sub maps_extension { return scalar grep { m{/aurora_tenancy\.so$} } mapped($_[0]); }

# no other source of credentials may answer first
delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_REGION AWS_DEFAULT_REGION);
$ENV{HOME} = "$tmp/empty-home";
mkdir $ENV{HOME};

my $node = PostgreSQL::Test::Cluster->new('libcurl_on_demand');
$node->init;
$node->append_conf('postgresql.conf', "tenancy.aws_region = 'us-east-1'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE ROLE rds_iam NOLOGIN; CREATE EXTENSION aurora_tenancy;');

my $call = "SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01');";
my $imds_creds = "SET tenancy.aws_signing_time = '20240101T000000Z';
SET tenancy.aws_access_key_id = 'ASIAIMDSDOUBLE000001';
SET tenancy.aws_secret_access_key = 'imdsSecretKey/abc+def/ghi+jkl/mno+pqr0000';
SET tenancy.aws_session_token = 'IQoJb3JpZ2luX2VjImds/Double+Session/Token==';";
my $expected = $node->safe_psql('postgres', "SET tenancy.aws_imds_endpoint = ''; $imds_creds $call");

# 1. a backend that used the extension without calling AWS
my $s = $node->background_psql('postgres');
my $pid = $s->query_safe('SELECT pg_backend_pid()');
$s->query_safe('SELECT count(*) FROM tenancy.check()');
ok(maps_extension($pid), 'check(): the backend has loaded the library');
ok(!maps_libcurl($pid), 'check(): and has no libcurl mapped');
is($s->query_safe("SET tenancy.aws_imds_endpoint = ''; $imds_creds $call"), $expected,
	'a token signed with credentials from the settings');
ok(!maps_libcurl($pid), 'signing needs no HTTP: still no libcurl');

# 2. an executor worker, caught while blocked on a lock (as in 002)
{
	my $l = $node->background_psql('postgres');
	$l->query_safe('BEGIN; LOCK TABLE tenancy.tenant_databases IN SHARE MODE;');
	my $o = $node->background_psql('postgres');
	$o->query_until(qr/started/, "\\echo started\nSELECT changes FROM tenancy.onboard('t_curl', ARRAY['db1']);\n");
	ok($node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor' AND wait_event_type = 'Lock'"),
		'an executor is at work (blocked)');
	my $worker = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'aurora_tenancy executor' AND wait_event_type = 'Lock' LIMIT 1");
	ok(maps_extension($worker), 'the executor has loaded the library');
	ok(!maps_libcurl($worker), 'and has no libcurl mapped');
	$l->query_safe('COMMIT');
	$l->quit;
	$o->quit;
	is($node->safe_psql('postgres', "SELECT state FROM tenancy.tenants WHERE name = 't_curl'"),
		'active', 'the onboarding completes');
}

# 3. credentials from the metadata service: HTTP, so libcurl, on demand
my $portfile = "$tmp/imds-port";
my $h = IPC::Run::start(['/usr/bin/python3', $double, '--port-file', $portfile,
	'--log', "$tmp/imds.log"]);
for (1 .. 100)
{
	last if -s $portfile;
	select(undef, undef, undef, 0.1);
}
my $url = 'http://127.0.0.1:' . slurp_file($portfile);
my $from_imds = "RESET tenancy.aws_access_key_id; RESET tenancy.aws_secret_access_key;
RESET tenancy.aws_session_token; SET tenancy.aws_imds_endpoint = '$url';
SET tenancy.aws_signing_time = '20240101T000000Z'; $call";
is($s->query_safe($from_imds), $expected, 'a token from the metadata service\'s credentials is the same token');
ok(maps_libcurl($pid), 'that backend has now loaded libcurl');
$s->quit;

# 4. preloaded: the postmaster, and so every process it forks, has no libcurl
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aurora_tenancy'\n");
$node->restart;
my $forked = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
ok(maps_extension($node->{_pid}), 'preloaded: the postmaster has loaded the library');
ok(!maps_libcurl($node->{_pid}), 'but not libcurl');
ok(maps_extension($forked) && !maps_libcurl($forked), 'nor has a process it forked');
is($node->safe_psql('postgres', $from_imds), $expected, 'preloaded: a token from the metadata service');

# 5. a libcurl that cannot be loaded: a fake libcurl.so.4 found first
# through LD_LIBRARY_PATH, one whose own dependency is missing, then one
# without libcurl's functions
SKIP:
{
	my $cc = (grep { -x "$_/gcc" } split /:/, $ENV{PATH})[0];
	skip 'no C compiler to build a fake libcurl', 9 unless defined $cc;

	mkdir "$tmp/$_" for qw(absent broken empty);
	PostgreSQL::Test::Utils::append_to_file("$tmp/empty.c", "int regress_not_curl = 1;\n");
	system_or_bail('gcc', '-shared', '-fPIC', '-o', "$tmp/absent/libregress_absent.so", "$tmp/empty.c");
	system_or_bail('gcc', '-shared', '-fPIC', '-o', "$tmp/broken/libcurl.so.4", "$tmp/empty.c",
		"-L$tmp/absent", '-Wl,--no-as-needed', '-lregress_absent');
	unlink "$tmp/absent/libregress_absent.so";
	system_or_bail('gcc', '-shared', '-fPIC', '-o', "$tmp/empty/libcurl.so.4", "$tmp/empty.c");

	foreach my $case (['broken', qr/Could not load "libcurl.so.4": .*libregress_absent\.so/],
		['empty', qr/The library "libcurl.so.4" has no function curl_global_init\./])
	{
		my ($dir, $detail) = @$case;
		{
			local $ENV{LD_LIBRARY_PATH} = "$tmp/$dir" . ($ENV{LD_LIBRARY_PATH} ? ":$ENV{LD_LIBRARY_PATH}" : '');
			$node->restart;
		}
		my ($ret, $stdout, $stderr) = $node->psql('postgres', "\\set VERBOSITY verbose\n$from_imds");
		like($stderr, qr/ERROR:  0A000: libcurl is not available, and calls to AWS need it/,
			"$dir libcurl: SQLSTATE 0A000 and a clear message");
		like($stderr, qr/DETAIL:  $detail/, "$dir libcurl: the detail says what is wrong");
		like($stderr, qr/HINT:  .*libcurl4/, "$dir libcurl: the hint says what to install");
		like($stderr, qr/CONTEXT:  while calling the instance metadata service: PUT \Q$url\E\/latest\/api\/token/,
			"$dir libcurl: the context says what was being called");
	}
	is($node->safe_psql('postgres', "SET tenancy.aws_imds_endpoint = ''; $imds_creds $call"), $expected,
		'without libcurl, what needs no HTTP still works');
}
$h->kill_kill;

$node->stop;
done_testing();
