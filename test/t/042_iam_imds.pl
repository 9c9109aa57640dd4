# Credentials from the EC2 instance metadata service, IMDSv2, served by a
# test double on 127.0.0.1 (test/imds_double.py) that refuses any request
# without the session token from its PUT: the token is fetched first and
# sent with every later request; the role's credentials sign the token; no
# service, no role, a service that never answers (timeouts) and a cancel
# while waiting all end in a clear error, not a hang.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $double = File::Spec->rel2abs(dirname(__FILE__) . '/../imds_double.py');
my $tmp = PostgreSQL::Test::Utils::tempdir;

# Starts a double in the given mode; returns its handle, base URL and log.
sub start_double
{
	my ($mode) = @_;
	my $portfile = "$tmp/port-$mode";
	my $log = "$tmp/requests-$mode.log";
	unlink $portfile;
	my $h = IPC::Run::start(['/usr/bin/python3', $double, '--port-file', $portfile,
		'--log', $log, '--mode', $mode]);
	for (1 .. 100)
	{
		last if -s $portfile;
		select(undef, undef, undef, 0.1);
	}
	my $port = slurp_file($portfile);
	return ($h, "http://127.0.0.1:$port", $log);
}

# no other source of credentials may answer first
delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_REGION AWS_DEFAULT_REGION);
$ENV{HOME} = "$tmp/empty-home";
mkdir $ENV{HOME};

my $node = PostgreSQL::Test::Cluster->new('iam_imds');
$node->init;
$node->append_conf('postgresql.conf', "tenancy.aws_region = 'us-east-1'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION aurora_tenancy;');

my ($h, $url, $log) = start_double('normal');
my $setup = "SET tenancy.aws_imds_endpoint = '$url'; SET tenancy.aws_signing_time = '20240101T000000Z';";
my $call = "SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01');";

my $token = $node->safe_psql('postgres', "$setup $call");
like($token, qr/X-Amz-Credential=ASIAIMDSDOUBLE000001%2F20240101%2Fus-east-1%2Frds-db%2Faws4_request/,
	'the token is signed with the role\'s access key');
like($token, qr/X-Amz-Security-Token=IQoJb3JpZ2luX2VjImds%2FDouble%2BSession%2FToken%3D%3D&/,
	'and carries the role\'s session token');
my $same = $node->safe_psql('postgres', "SET tenancy.aws_signing_time = '20240101T000000Z';
SET tenancy.aws_access_key_id = 'ASIAIMDSDOUBLE000001';
SET tenancy.aws_secret_access_key = 'imdsSecretKey/abc+def/ghi+jkl/mno+pqr0000';
SET tenancy.aws_session_token = 'IQoJb3JpZ2luX2VjImds/Double+Session/Token==';
$call");
is($token, $same, 'the role\'s secret key made the signature');

my @requests = split /\n/, slurp_file($log);
is_deeply(\@requests, [
	'PUT /latest/api/token token-issued',
	'GET /latest/meta-data/iam/security-credentials/ token-ok',
	'GET /latest/meta-data/iam/security-credentials/regress-imds-role token-ok',
], 'IMDSv2: a token PUT first, then every GET with that token');

# the endpoint may end with a slash
$token = $node->safe_psql('postgres', "SET tenancy.aws_imds_endpoint = '$url/';
SET tenancy.aws_signing_time = '20240101T000000Z'; $call");
is($token, $same, 'an endpoint with a trailing slash works the same');

# settings come before the metadata service: it is not even asked
unlink $log;
$node->safe_psql('postgres', "$setup SET tenancy.aws_access_key_id = 'AKIDEXAMPLE';
SET tenancy.aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'; $call");
ok(!-e $log, 'credentials in the settings: the metadata service is not asked');
$h->kill_kill;

# an instance without a role
($h, $url, $log) = start_double('no-role');
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET tenancy.aws_imds_endpoint = '$url'; $call");
like($stderr, qr/no AWS credentials found/, 'no instance role: no credentials found');
like($stderr, qr/the instance metadata service at "\Q$url\E"/, 'and the message says where it looked');
$h->kill_kill;

# nothing listening at the endpoint: connection refused, no credentials
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET tenancy.aws_imds_endpoint = 'http://127.0.0.1:1'; $call");
like($stderr, qr/no AWS credentials found/, 'no metadata service: no credentials found');

# IMDS switched off
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET tenancy.aws_imds_endpoint = ''; \\set VERBOSITY verbose\n$call");
like($stderr, qr/ERROR:  55000: no AWS credentials found/, 'nothing anywhere: SQLSTATE 55000');
like($stderr, qr/not the instance metadata service \(tenancy.aws_imds_endpoint is empty\)/,
	'and the message says the metadata service was not asked');
like($stderr, qr/profile "default" of the shared credentials file "\Q$ENV{HOME}\E\/.aws\/credentials"/,
	'and names the shared credentials file it looked in');

# a service that accepts connections but never answers: the request
# timeout gives up, and the double's late answer is never used
($h, $url, $log) = start_double('hang');
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET tenancy.aws_imds_endpoint = '$url'; SET tenancy.aws_imds_timeout = '300ms'; $call");
like($stderr, qr/no AWS credentials found/, 'a metadata service that never answers times out');

# a cancel while waiting for the service ends the wait at once (the
# progress callback), long before the 60 s request timeout
my $start = time();
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET tenancy.aws_imds_endpoint = '$url'; SET tenancy.aws_imds_timeout = '60s';
	 SET statement_timeout = '500ms'; $call");
my $elapsed = time() - $start;
like($stderr, qr/canceling statement due to statement timeout/, 'a cancel interrupts the wait for the metadata service');
cmp_ok($elapsed, '<', 30, 'well before the request timeout');
$h->kill_kill;

# the backend is fine afterwards
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still answers');

$node->stop;
done_testing();
