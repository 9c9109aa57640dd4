# Control — for the TAP tests of target clusters: the control cluster (the
# extension installed, its library preloaded) and the calls those tests make
# of it.  One control cluster per test file.
#
#   my $control = Control::start();            # or start(env => {...})
#   add_cluster('aurora', $target);            # CREATE SERVER + mapping
#   control('SELECT ...');                     # as the superuser, dies on error
#   my ($out, $err) = control_as('dba', $sql); # as a role, never dies
#   control_as(undef, onboard_sql('t1', 'aurora', 0));
package Control;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(control control_as onboard_sql server_options add_cluster);

my $node;

# Starts it (with %env in the server's environment and conf appended to
# postgresql.conf) and creates the extension.
sub start
{
	my (%opts) = @_;
	$node = PostgreSQL::Test::Cluster->new('control');
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aurora_tenancy'\n"
		  . "password_encryption = 'scram-sha-256'\n" . ($opts{conf} // ''));
	{
		local %ENV = (%ENV, %{ $opts{env} // {} });
		$node->start;
	}
	$node->safe_psql('postgres', 'CREATE EXTENSION aurora_tenancy');
	return $node;
}

sub control { return $node->safe_psql('postgres', $_[0]) }

# psql as $role (undef: the superuser): (stdout, stderr)
sub control_as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		($role ? "SET SESSION AUTHORIZATION $role; " : '') . $sql);
	return ($out, $err);
}

# onboard()'s changes for a tenant with these databases (db1 by default)
sub onboard_sql
{
	my ($tenant, $cluster, $iam, @dbs) = @_;
	@dbs = ('db1') unless @dbs;
	return "SELECT changes FROM tenancy.onboard('$tenant', ARRAY["
	  . join(',', map { "'$_'" } @dbs) . "], iam_auth => "
	  . ($iam ? 'true' : 'false') . ", cluster => '$cluster')";
}

# The OPTIONS of a server reaching a Target over TLS verify-full.
sub server_options
{
	my ($t) = @_;
	return "host 'localhost', hostaddr '127.0.0.1', port '@{[ $t->port ]}', dbname 'postgres',"
	  . " sslmode 'verify-full', sslrootcert '@{[ $t->ca_file ]}'";
}

# A server for a Target, and the superuser's mapping to its admin.
sub add_cluster
{
	my ($name, $t) = @_;
	control(qq{
CREATE SERVER $name FOREIGN DATA WRAPPER aurora_tenancy OPTIONS (@{[ server_options($t) ]});
CREATE USER MAPPING FOR CURRENT_USER SERVER $name
	OPTIONS (user '@{[ $t->admin_user ]}', password '@{[ $t->admin_password ]}');
});
	return;
}

1;
