# PasswordLogins — for the TAP tests: a cluster where everybody but the
# bootstrap superuser logs in with a SCRAM password over the unix socket,
# as tenants do.
package PasswordLogins;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(password_logins_only);

# Rewrites pg_hba.conf of a started node and reloads it.
sub password_logins_only
{
	my ($node) = @_;
	open my $fh, '>', $node->data_dir . '/pg_hba.conf' or die $!;
	print $fh "local all postgres trust\nlocal all all scram-sha-256\n";
	close $fh;
	$node->reload;
}

1;
