# tenancy.iam_auth_token() against botocore's generate_db_auth_token, the
# code behind "aws rds generate-db-auth-token": hundreds of random inputs
# (host names of every shape, IPv4 and IPv6, ports 1-65535 with 443 among
# them, user names full of characters that need encoding, credentials with
# and without session tokens holding + / =, regions given or defaulted,
# signing times over twenty years), each compared byte for byte.
use strict;
use warnings;
use utf8;
use Encode qw(encode_utf8);
use File::Basename qw(dirname);
use File::Spec;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $cases_wanted = 300;
my $oracle = File::Spec->rel2abs(dirname(__FILE__) . '/../iam_token_oracle.py');
my $seed = $ENV{IAM_ORACLE_SEED} // 20240101;

# Debian's python3 with python3-botocore, not whatever python3 is on PATH
my ($stdout, $stderr);
my $ran = IPC::Run::run(['/usr/bin/python3', $oracle, '--count', $cases_wanted,
	'--seed', $seed], '>', \$stdout, '2>', \$stderr);
ok($ran, "botocore oracle ran (seed $seed)") or diag($stderr);
my @cases = map { decode_json($_) } grep { length } split /\n/, $stdout;
is(scalar(@cases), $cases_wanted, "botocore produced $cases_wanted cases");
ok((grep { defined $_->{session_token} } @cases) >= 100, 'at least 100 cases with a session token');
ok((grep { !defined $_->{session_token} } @cases) >= 100, 'at least 100 cases without one');
ok((grep { $_->{port} == 443 } @cases) >= 5, 'port 443 (left out of the signed host) is among them');
ok((grep { $_->{host} =~ /^\[/ } @cases) >= 5, 'IPv6 hosts are among them');
ok((grep { $_->{user} =~ /[^A-Za-z0-9_.~-]/ } @cases) >= 200, 'most user names need encoding');

my $node = PostgreSQL::Test::Cluster->new('iam_botocore');
$node->init(extra => ['--encoding=UTF8', '--locale=C']);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION aurora_tenancy;');

sub lit
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

# one session, one script: set each case's credentials and clock, ask for
# its token; one output line per case
my $sql = "SET client_encoding = 'UTF8';\nSET tenancy.aws_imds_endpoint = '';\n";
for my $c (@cases)
{
	$sql .= 'SET tenancy.aws_access_key_id = ' . lit($c->{access_key_id}) . ";\n";
	$sql .= 'SET tenancy.aws_secret_access_key = ' . lit($c->{secret_access_key}) . ";\n";
	$sql .= 'SET tenancy.aws_session_token = ' . lit($c->{session_token} // '') . ";\n";
	$sql .= 'SET tenancy.aws_signing_time = ' . lit($c->{signing_time}) . ";\n";
	$sql .= 'SET tenancy.aws_region = ' . lit($c->{region}) . ";\n";
	$sql .= 'SELECT tenancy.iam_auth_token(' . lit($c->{host}) . ", $c->{port}, "
	  . lit($c->{user})
	  . ($c->{region_argument} ? ', ' . lit($c->{region}) : '') . ");\n";
}
my $out = $node->safe_psql('postgres', encode_utf8($sql));
my @tokens = split /\n/, $out;
is(scalar(@tokens), scalar(@cases), 'one token per case');

my $mismatches = 0;
for my $i (0 .. $#cases)
{
	next if defined $tokens[$i] && $tokens[$i] eq $cases[$i]{expected};
	$mismatches++;
	diag("case $i differs:\n  input:    " . encode_json({ %{ $cases[$i] }, expected => undef })
		  . "\n  botocore: $cases[$i]{expected}\n  ours:     " . ($tokens[$i] // '(none)'))
	  if $mismatches <= 5;
}
is($mismatches, 0, 'every token equals botocore\'s byte for byte');

# The database encoding does not matter: AWS signs UTF-8, so a LATIN1
# database gives the same token for the same user name.
$node->safe_psql('postgres',
	"CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;");
$node->safe_psql('latin1', 'CREATE EXTENSION aurora_tenancy;');
my $fixed = "SET client_encoding = 'UTF8'; SET tenancy.aws_imds_endpoint = '';
SET tenancy.aws_access_key_id = 'AKIDEXAMPLE';
SET tenancy.aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
SET tenancy.aws_signing_time = '20240101T000000Z';
SELECT tenancy.iam_auth_token('db.example.com', 5432, 'andré', 'eu-west-1');";
my $in_utf8 = $node->safe_psql('postgres', encode_utf8($fixed));
my $in_latin1 = $node->safe_psql('latin1', encode_utf8($fixed));
like($in_utf8, qr/DBUser=andr%C3%A9&/, 'the user name is signed as UTF-8');
is($in_latin1, $in_utf8, 'a LATIN1 database gives the same token');

$node->stop;
done_testing();
