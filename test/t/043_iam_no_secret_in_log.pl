# No secret reaches the server log, with log_statement = 'all', the most
# verbose error reports and debug messages: not the secret key nor the
# session token from postgresql.conf, the environment or the metadata
# service, not on success, not on any error path.  The log must hold the
# statements (else the test would prove nothing).
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $double = File::Spec->rel2abs(dirname(__FILE__) . '/../imds_double.py');

# distinctive values, so that any copy of them is found
my $conf_secret = 'confSecretZq7+Kx/Wv3mNp0Rt5Yu8Io2Pa4Sd6Fg9Hj';
my $conf_token = 'confSessionTokenXy4+Qw/Er7==';
my $env_secret = 'envSecretLk8+Mn/Bv2Cx5Za1Qs3Wd7Ef9Rg0Th6Yj';
my $env_token = 'envSessionTokenUi9+Op/As2==';
my $file_secret = 'fileSecretGh3+Jk/Lz6Xc9Vb2Nm5Qw8Er1Ty4Ui7Op';
my $imds_secret = 'imdsSecretKey/abc+def/ghi+jkl/mno+pqr0000';	# from imds_double.py
my $imds_token = 'IQoJb3JpZ2luX2VjImds/Double+Session/Token==';

sub encoded
{
	my ($s) = @_;
	(my $e = $s) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord($1))/ge;
	return $e;
}

delete $ENV{$_} for qw(AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_REGION AWS_DEFAULT_REGION);
$ENV{AWS_ACCESS_KEY_ID} = 'AKIAENVLOGTEST000001';
$ENV{AWS_SECRET_ACCESS_KEY} = $env_secret;
$ENV{AWS_SESSION_TOKEN} = $env_token;
$ENV{HOME} = "$tmp/home";
mkdir "$tmp/home";
mkdir "$tmp/home/.aws";
PostgreSQL::Test::Utils::append_to_file("$tmp/home/.aws/credentials",
	"[logtest]\naws_access_key_id = AKIAFILELOGTEST00001\naws_secret_access_key = $file_secret\n");

my $node = PostgreSQL::Test::Cluster->new('iam_no_secret');
$node->init;
# Preloaded, so that the postmaster knows the credential settings too: a
# postmaster that does not (the library loaded only by backends) holds the
# file's value as a plain placeholder and prints it in its "parameter
# changed" message when a reload changes it.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'aurora_tenancy'
log_statement = 'all'
log_min_messages = debug1
log_min_error_statement = debug1
log_error_verbosity = verbose
log_connections = on
tenancy.aws_imds_endpoint = ''
tenancy.aws_region = 'us-east-1'
tenancy.aws_access_key_id = 'AKIACONFLOGTEST00001'
tenancy.aws_secret_access_key = '$conf_secret'
tenancy.aws_session_token = '$conf_token'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION aurora_tenancy;');

my $call = "SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01')";

# credentials from postgresql.conf
my $t = $node->safe_psql('postgres', "$call;");
like($t, qr/X-Amz-Credential=AKIACONFLOGTEST00001%2F/, 'postgresql.conf credentials are used');

# every error path, with the conf credentials in place
my @bad = (
	"SELECT tenancy.iam_auth_token(NULL, 5432, 'client01')",
	"SELECT tenancy.iam_auth_token('db.example.com', 0, 'client01')",
	"SELECT tenancy.iam_auth_token('bad host', 5432, 'client01')",
	"SELECT tenancy.iam_auth_token('db.example.com', 5432, '')",
	"SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01', 'BAD')",
	"SET tenancy.aws_access_key_id = ''; $call",
	"SET tenancy.aws_access_key_id = 'AKID WITH SPACE'; $call",
	"SET tenancy.aws_secret_access_key = ''; $call",
);
for my $sql (@bad)
{
	my ($ret) = $node->psql('postgres', $sql);
	isnt($ret, 0, "fails as it should: $sql");
}

# credentials from the environment and from the file: the settings emptied
# for the session by a superuser
my $unset = "SET tenancy.aws_access_key_id = ''; SET tenancy.aws_secret_access_key = '';
SET tenancy.aws_session_token = '';";
like($node->safe_psql('postgres', "$unset $call;"), qr/X-Amz-Credential=AKIAENVLOGTEST000001%2F/,
	'environment credentials are used');
# a reload while the file changes its value: the postmaster reports changed
# parameters, which must not include the credentials
my $clock = "SET tenancy.aws_signing_time = '20240101T000000Z';";
my $before = $node->safe_psql('postgres', "$clock $call;");
$node->append_conf('postgresql.conf', "tenancy.aws_secret_access_key = '${conf_secret}Reloaded'\n");
$node->reload;
# new sessions sign with the reloaded secret key once the reload is done
# (compare signatures only: the token holds the session token, and this
# statement goes to the log)
my ($before_sig) = $before =~ /X-Amz-Signature=([0-9a-f]{64})$/;
ok($node->poll_query_until('postgres',
	"SELECT split_part(tenancy.iam_auth_token('db.example.com', 5432, 'client01'), 'X-Amz-Signature=', 2) <> '$before_sig'
	   FROM (SELECT set_config('tenancy.aws_signing_time', '20240101T000000Z', false)) AS clock"),
	'the reloaded secret key is the one in use');
like($node->safe_psql('postgres', "$clock $call;"), qr/X-Amz-Credential=AKIACONFLOGTEST00001%2F/,
	'credentials still from postgresql.conf after the reload');

# credentials from the metadata service
my $portfile = "$tmp/imds-port";
my $h = IPC::Run::start(['/usr/bin/python3', $double, '--port-file', $portfile,
	'--log', "$tmp/imds.log"]);
for (1 .. 100)
{
	last if -s $portfile;
	select(undef, undef, undef, 0.1);
}
my $url = 'http://127.0.0.1:' . slurp_file($portfile);
{
	local $ENV{PGOPTIONS};
	my $nothing = "$unset SET tenancy.aws_imds_endpoint = '$url';";
	# the environment has credentials; a session of a restarted server
	# without them reaches the metadata service
	$node->stop;
	delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN);
	$node->start;
	like($node->safe_psql('postgres', "$nothing $call;"), qr/X-Amz-Credential=ASIAIMDSDOUBLE000001%2F/,
		'metadata service credentials are used');
	like($node->safe_psql('postgres', "$nothing SET tenancy.aws_profile = 'logtest'; $call;"),
		qr/X-Amz-Credential=AKIAFILELOGTEST00001%2F/, 'credentials file is used');
}
$h->kill_kill;
$node->stop;

my $log = slurp_file($node->logfile);
like($log, qr/statement: SELECT tenancy.iam_auth_token\('db.example.com', 5432, 'client01'\)/,
	'the log holds the statements (log_statement = all works)');
like($log, qr/ERROR:  22023: port 0 is out of range/, 'and the errors');
for my $secret ([ 'postgresql.conf secret key', $conf_secret ],
	[ 'postgresql.conf session token', $conf_token ],
	[ 'environment secret key', $env_secret ],
	[ 'environment session token', $env_token ],
	[ 'credentials file secret key', $file_secret ],
	[ 'metadata service secret key', $imds_secret ],
	[ 'metadata service session token', $imds_token ])
{
	my ($what, $value) = @$secret;
	ok(index($log, $value) < 0 && index($log, encoded($value)) < 0,
		"no $what in the server log");
	# the most distinctive part alone, in case of truncation or quoting
	ok(index($log, substr($value, 0, 16)) < 0, "not even the first 16 characters of the $what");
}

done_testing();
