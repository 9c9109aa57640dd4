# Where tenancy.iam_auth_token() finds credentials and the region: the
# settings, then the server's environment, then the shared credentials file
# (two profiles, chosen by tenancy.aws_profile or AWS_PROFILE), each proven
# by the signature: a token made from a source must equal the token made
# from the same credentials given as settings.  The server is restarted with
# a different environment for each source.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir;

my %env_creds = (id => 'AKIAENVIRONMENT00001', secret => 'envSecret/0000+1111/2222+3333/4444+55555',
	token => 'envToken+/envToken==');
my %default_creds = (id => 'AKIAFILEDEFAULT00001', secret => 'fileDefaultSecret/aaaa+bbbb/cccc+dddd000');
my %other_creds = (id => 'ASIAFILEOTHER0000001', secret => 'fileOtherSecret/eeee+ffff/gggg+hhhh00000',
	token => 'fileOther+Session/Token==');

# a home with a credentials file of two profiles, comments and loose spacing
my $home = "$tmp/home";
mkdir $home;
mkdir "$home/.aws";
PostgreSQL::Test::Utils::append_to_file("$home/.aws/credentials", <<"EOF");
# shared credentials file for the test
[default]
aws_access_key_id = $default_creds{id}
aws_secret_access_key=$default_creds{secret}

; the other profile has temporary credentials
[ other ]
AWS_ACCESS_KEY_ID   =   $other_creds{id}
aws_secret_access_key = $other_creds{secret}
aws_session_token = $other_creds{token}

[half]
aws_access_key_id = AKIAHALFPROFILE00001
EOF
chmod 0600, "$home/.aws/credentials";

sub clear_aws_env
{
	delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
	  AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_REGION AWS_DEFAULT_REGION);
}

my $node = PostgreSQL::Test::Cluster->new('iam_credentials');
$node->init;
$node->append_conf('postgresql.conf', "tenancy.aws_imds_endpoint = ''\n");

# the server's environment comes from %ENV at start
sub restart_with
{
	my (%env) = @_;
	clear_aws_env();
	$ENV{HOME} = $home;
	$ENV{$_} = $env{$_} for keys %env;
	$node->stop if $node->{_pid};
	$node->start;
}

my $clock = "SET tenancy.aws_signing_time = '20240101T000000Z';";
my $call = "SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01', 'us-east-1');";

sub token
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', "$clock $sql $call");
}

# the reference: the same credentials given as settings
sub token_from_settings
{
	my (%c) = @_;
	return token("SET tenancy.aws_access_key_id = '$c{id}';
		SET tenancy.aws_secret_access_key = '$c{secret}';
		SET tenancy.aws_session_token = '" . ($c{token} // '') . "';");
}

sub error_of
{
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "$clock $sql \\set VERBOSITY verbose\n$call");
	return $stderr;
}

restart_with(AWS_ACCESS_KEY_ID => $env_creds{id}, AWS_SECRET_ACCESS_KEY => $env_creds{secret},
	AWS_SESSION_TOKEN => $env_creds{token});
$node->safe_psql('postgres', 'CREATE EXTENSION aurora_tenancy;');

# environment
my $t = token('');
like($t, qr/X-Amz-Credential=$env_creds{id}%2F/, 'environment: its access key id');
like($t, qr/X-Amz-Security-Token=envToken%2B%2FenvToken%3D%3D&/, 'environment: its session token');
is($t, token_from_settings(%env_creds), 'environment: its secret made the signature');
isnt($t, token_from_settings(%env_creds, secret => 'x' . $env_creds{secret}),
	'a different secret would make a different signature');

# settings come first
$t = token("SET tenancy.aws_access_key_id = 'AKIDEXAMPLE';
	SET tenancy.aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';");
like($t, qr/X-Amz-Credential=AKIDEXAMPLE%2F/, 'settings win over the environment');
unlike($t, qr/X-Amz-Security-Token/, 'and the environment\'s session token is not mixed in');

# half a pair in the environment is an error, not a fall-through to the file
restart_with(AWS_ACCESS_KEY_ID => $env_creds{id});
like(error_of(''), qr/ERROR:  55000: incomplete AWS credentials in the server's environment/,
	'environment with an access key id only: an error');
like(error_of(''), qr/AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/, 'naming what is missing');

# shared credentials file, profile default
restart_with();
$t = token('');
like($t, qr/X-Amz-Credential=$default_creds{id}%2F/, 'credentials file: profile default');
unlike($t, qr/X-Amz-Security-Token/, 'profile default has no session token');
is($t, token_from_settings(%default_creds), 'profile default: its secret made the signature');

# the other profile, by setting
$t = token("SET tenancy.aws_profile = 'other';");
like($t, qr/X-Amz-Credential=$other_creds{id}%2F/, 'tenancy.aws_profile chooses profile other');
like($t, qr/X-Amz-Security-Token=fileOther%2BSession%2FToken%3D%3D&/, 'with its session token');
is($t, token_from_settings(%other_creds), 'profile other: its secret made the signature');

# the other profile, by AWS_PROFILE; the setting still wins over it
restart_with(AWS_PROFILE => 'other');
is(token(''), token_from_settings(%other_creds), 'AWS_PROFILE chooses profile other');
is(token("SET tenancy.aws_profile = 'default';"), token_from_settings(%default_creds),
	'tenancy.aws_profile wins over AWS_PROFILE');

# a named profile that does not exist, or has half a pair: errors
like(error_of("SET tenancy.aws_profile = 'missing';"),
	qr/ERROR:  55000: AWS profile "missing" not found/, 'a missing named profile is an error');
like(error_of("SET tenancy.aws_profile = 'half';"),
	qr/incomplete AWS credentials in the shared credentials file/, 'a profile with half a pair is an error');

# AWS_SHARED_CREDENTIALS_FILE points elsewhere
my $elsewhere = "$tmp/elsewhere-credentials";
PostgreSQL::Test::Utils::append_to_file($elsewhere,
	"[default]\naws_access_key_id=AKIAELSEWHERE0000001\naws_secret_access_key=elsewhereSecret\n");
restart_with(AWS_SHARED_CREDENTIALS_FILE => $elsewhere);
is(token(''), token_from_settings(id => 'AKIAELSEWHERE0000001', secret => 'elsewhereSecret'),
	'AWS_SHARED_CREDENTIALS_FILE is read instead of ~/.aws/credentials');

# no file, no environment, no metadata service: an error naming every place
restart_with(AWS_SHARED_CREDENTIALS_FILE => "$tmp/does-not-exist");
my $err = error_of('');
like($err, qr/ERROR:  55000: no AWS credentials found/, 'nothing anywhere: no AWS credentials found');
like($err, qr/tenancy.aws_access_key_id.*AWS_ACCESS_KEY_ID.*\Q$tmp\E\/does-not-exist.*instance metadata/s,
	'the message names the settings, the environment, the file and the metadata service');
like($err, qr/HINT:  Set tenancy.aws_access_key_id/, 'with a hint');

# the region: argument, then tenancy.aws_region, then AWS_REGION, then AWS_DEFAULT_REGION
my $noregion = "SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01');";
my $creds = "SET tenancy.aws_access_key_id = 'AKIDEXAMPLE'; SET tenancy.aws_secret_access_key = 'secret';";
restart_with(AWS_REGION => 'eu-west-1', AWS_DEFAULT_REGION => 'eu-central-1');
like($node->safe_psql('postgres', "$creds $noregion"), qr/%2Feu-west-1%2Frds-db%2F/, 'AWS_REGION');
like($node->safe_psql('postgres', "$creds SET tenancy.aws_region = 'ap-south-1'; $noregion"),
	qr/%2Fap-south-1%2Frds-db%2F/, 'tenancy.aws_region wins over AWS_REGION');
restart_with(AWS_DEFAULT_REGION => 'eu-central-1');
like($node->safe_psql('postgres', "$creds $noregion"), qr/%2Feu-central-1%2Frds-db%2F/, 'AWS_DEFAULT_REGION');
restart_with();
my ($ret, $stdout, $stderr) = $node->psql('postgres', "$creds \\set VERBOSITY verbose\n$noregion");
like($stderr, qr/ERROR:  55000: no AWS region configured/, 'no region anywhere: an error');
like($node->safe_psql('postgres', "$creds SELECT tenancy.iam_auth_token('db.example.com', 5432, 'client01', 'sa-east-1');"),
	qr/%2Fsa-east-1%2Frds-db%2F/, 'an explicit region needs no configuration');

$node->stop;
done_testing();
