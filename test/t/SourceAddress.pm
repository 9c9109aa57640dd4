# SourceAddress — for the TAP tests: real TCP logins from a chosen loopback
# address (127.0.0.2, 127.0.0.3, ::1, ...), as the login guard sees them
# (inet_client_addr(), pg_hba.conf's host lines, a tenant's allowed_ips).
# libpq cannot choose its source address: psql runs under test/bind_source.c,
# an LD_PRELOAD shim compiled here once per test file.
#
# The node must listen on TCP and its pg_hba.conf have host lines for these
# addresses (PostgreSQL::Test::Cluster listens on a unix socket only):
#   $node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1,::1'");
#
#   my ($ret, $out, $err) = psql_from($node, '127.0.0.2', 'SELECT 1',
#       user => 'client01', dbname => 'client01_db1', password => $pw);
#   { local %ENV = (%ENV, source_env('::1')); ... }   # any libpq program
#   plan skip_all => 'no ::1' unless ipv6_loopback_available();
package SourceAddress;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use Socket qw(AF_INET6 SOCK_STREAM inet_pton pack_sockaddr_in6);
use PostgreSQL::Test::Utils;

our @EXPORT = qw(source_env psql_from ipv6_loopback_available);

my $shim;    # the compiled shim's path, once compiled

# test/bind_source.c, relative to this file (test/t/SourceAddress.pm)
my $source = File::Spec->rel2abs(dirname(__FILE__) . '/../bind_source.c');

sub shim_path
{
	return $shim if $shim;
	my $so = PostgreSQL::Test::Utils::tempdir('bind_source') . '/bind_source.so';
	my ($out, $err);
	IPC::Run::run([ 'cc', '-shared', '-fPIC', '-o', $so, $source, '-ldl' ],
		'>', \$out, '2>', \$err)
	  or die "compiling $source failed: $err";
	return $shim = $so;
}

# The environment (a list of pairs) a libpq program runs under to connect
# from $addr: an IPv4 address for connections to IPv4 hosts, IPv6 for IPv6.
sub source_env
{
	my ($addr) = @_;
	return (LD_PRELOAD => shim_path(), BIND_SOURCE_ADDR => $addr);
}

# Whether ::1 can be bound here (an IPv6 loopback exists: not always so in
# containers); the node must also listen on it.
sub ipv6_loopback_available
{
	socket(my $sock, AF_INET6, SOCK_STREAM, 0) or return 0;
	my $ok = bind($sock, pack_sockaddr_in6(0, inet_pton(AF_INET6, '::1')));
	close $sock;
	return $ok ? 1 : 0;
}

# Runs $sql with psql -X -w over TCP from $addr to the node (127.0.0.1, or
# ::1 when $addr is IPv6).  %opts: user, dbname (postgres), password (given
# through PGPASSWORD), connstr (more "key=value" options).  Returns (exit
# code, stdout, stderr), both outputs chomped; never dies on psql's failure.
sub psql_from
{
	my ($node, $addr, $sql, %opts) = @_;
	my $host = $addr =~ /:/ ? '::1' : '127.0.0.1';
	my $connstr = "host=$host port=" . $node->port
	  . " dbname=" . ($opts{dbname} // 'postgres')
	  . ($opts{user} ? " user=$opts{user}" : '')
	  . ($opts{connstr} ? " $opts{connstr}" : '');
	my ($out, $err) = ('', '');
	{
		local %ENV = (%ENV, source_env($addr));
		delete $ENV{PGPASSWORD};
		$ENV{PGPASSWORD} = $opts{password} if defined $opts{password};
		IPC::Run::run(
			[ $node->installed_command('psql'), '-X', '-w', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c', $sql ],
			'<', \'', '>', \$out, '2>', \$err,
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	}
	chomp $out;
	chomp $err;
	return ($? >> 8, $out, $err);
}

1;
