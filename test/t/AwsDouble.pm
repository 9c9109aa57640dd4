# AwsDouble: test/aws_double.py, the IAM + STS + RDS double on 127.0.0.1,
# started for a TAP test, and its control endpoints (state, faults,
# requests, plants, quotas) as Perl calls.
package AwsDouble;

use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Control;
use Target;

# the key the double accepts; the server gets it through its environment
our $ACCESS_KEY = 'AKIDTENANCYTEST00001';
our $SECRET_KEY = 'tenancyTestSecretKey/0123456789abcdefghij';
our $ACCOUNT    = '123456789012';
# the Aurora cluster the double's RDS knows, as aurora-prod
our $RESOURCE_ID = 'cluster-ABCDEFGHIJ0123456789';

sub start
{
	my ($class, %opts) = @_;
	my $script = File::Spec->rel2abs(dirname(__FILE__) . '/../aws_double.py');
	my $portfile = "$PostgreSQL::Test::Utils::tmp_check/aws_double.port";
	my $log = "$PostgreSQL::Test::Utils::log_path/aws_double.log";
	unlink $portfile;
	# Debian's python3 with python3-botocore, not whatever python3 is on PATH
	my $h = IPC::Run::start(['/usr/bin/python3', $script, '--port', '0',
			'--portfile', $portfile, '--account', $ACCOUNT,
			'--access-key', $ACCESS_KEY, '--secret-key', $SECRET_KEY,
			'--log', $log, map { ('--cluster', $_) } @{ $opts{clusters} // [] }],
		'>', "$log.out", '2>', "$log.err");
	for (1 .. 200)
	{
		last if -s $portfile;
		select(undef, undef, undef, 0.05);
	}
	die "the AWS double did not start" unless -s $portfile;
	my $port = slurp_file($portfile);
	chomp $port;
	return bless { h => $h, port => $port, http => HTTP::Tiny->new(timeout => 30) }, $class;
}

sub url { return "http://127.0.0.1:$_[0]->{port}/" }

# settings that point the server at the double
sub settings
{
	my ($self) = @_;
	my $url = $self->url;
	return "tenancy.aws_iam_endpoint = '$url'\ntenancy.aws_sts_endpoint = '$url'\n"
	  . "tenancy.aws_rds_endpoint = '$url'\ntenancy.aws_imds_endpoint = ''\n";
}

# the server's AWS credentials, for Control::start(env => ...)
sub env { return { AWS_ACCESS_KEY_ID => $ACCESS_KEY, AWS_SECRET_ACCESS_KEY => $SECRET_KEY } }

sub control_call
{
	my ($self, $method, $path, $body) = @_;
	my $r = $self->{http}->request($method, $self->url . "_control/$path",
		$body ? { content => encode_json($body), headers => { 'Content-Type' => 'application/json' } } : {});
	die "AWS double $method $path: $r->{status} $r->{content}" unless $r->{success};
	return $r->{content} ? decode_json($r->{content}) : undef;
}

sub state    { return $_[0]->control_call('GET', 'state') }
sub requests { return $_[0]->control_call('GET', 'requests') }
sub clear_requests { $_[0]->control_call('POST', 'requests/clear'); return }
sub fault    { my ($self, %f) = @_; return $self->control_call('POST', 'fault', \%f) }
sub plant    { my ($self, %p) = @_; return $self->control_call('POST', 'plant', \%p) }
sub quota    { my ($self, %q) = @_; return $self->control_call('POST', 'quota', \%q) }

# the user or role of that name in the state, or undef
sub user
{
	my ($self, $name, $state) = @_;
	$state //= $self->state;
	my ($u) = grep { lc $_->{name} eq lc $name } @{ $state->{users} };
	return $u;
}

sub role
{
	my ($self, $name, $state) = @_;
	$state //= $self->state;
	my ($r) = grep { lc $_->{name} eq lc $name } @{ $state->{roles} };
	return $r;
}

# Calls IAM as someone else in the account would, through botocore's own
# client: [action, {params}], ... in order; dies on an error.
sub iam_calls
{
	my ($self, @calls) = @_;
	my $program = <<'PY';
import json, sys, botocore.session
url, key, secret, calls = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
iam = botocore.session.get_session().create_client('iam', endpoint_url=url, region_name='us-east-1',
	aws_access_key_id=key, aws_secret_access_key=secret)
for action, params in calls:
	getattr(iam, action)(**params)
PY
	my ($out, $err) = ('', '');
	IPC::Run::run(['/usr/bin/python3', '-c', $program, $self->url, $ACCESS_KEY, $SECRET_KEY,
			encode_json(\@calls)], '>', \$out, '2>', \$err)
	  or die "botocore IAM calls failed: $err";
	return;
}

sub stop { $_[0]->{h}->kill_kill; return }

# The access key ids of a user in the state.
sub keys_of { my ($u) = @_; return [ map { $_->{id} } @{ $u->{access_keys} } ] }

# What the IAM tests start: the double, a control cluster pointed at it
# (logging every statement, at debug1, restarting after a crash), and a
# PostgreSQL 15 target behind two servers: "users" (iam_provisioning
# user_and_role; $users_aws says how it names the AWS cluster and account)
# and "roles" (iam_provisioning role).  Returns ($aws, $control, $target).
sub iam_world
{
	my ($target_name, $users_aws) = @_;
	my $aws = AwsDouble->start(clusters => ["aurora-prod=$RESOURCE_ID"]);
	my $control = Control::start(env => env(),
		conf => $aws->settings . "tenancy.aws_retry_timeout = '30s'\n"
		  . "log_statement = 'all'\nlog_min_messages = debug1\nrestart_after_crash = on\n");
	my $t = Target->new($target_name, 15);
	$t->start;
	my $where = Control::server_options($t);
	my $mapping = "OPTIONS (user '@{[ $t->admin_user ]}', password '@{[ $t->admin_password ]}')";
	Control::control(qq{
CREATE SERVER users FOREIGN DATA WRAPPER aurora_tenancy OPTIONS ($where,
	iam_provisioning 'user_and_role', aws_region 'eu-central-1', $users_aws);
CREATE USER MAPPING FOR CURRENT_USER SERVER users $mapping;
CREATE SERVER roles FOREIGN DATA WRAPPER aurora_tenancy OPTIONS ($where,
	iam_provisioning 'role', aws_region 'eu-central-1', aws_cluster_resource_id '$RESOURCE_ID',
	aws_account_id '$ACCOUNT');
CREATE USER MAPPING FOR CURRENT_USER SERVER roles $mapping;
});
	return ($aws, $control, $t);
}

1;
