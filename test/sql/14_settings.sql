-- set_allowed_ips, set_connection_limit and the tenancy.tenants view.
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_g1', ARRAY['db1', 'db2'], iam_auth => false);
SELECT tenancy.set_allowed_ips('regress_g1', '{10.1.0.0/16, 192.168.7.7/32}');
SELECT tenancy.set_connection_limit('regress_g1', 5);
SELECT name, state, databases, iam_auth, allowed_ips, connection_limit, deletion_protection,
       created_at <= updated_at AS times_ordered
FROM tenancy.tenants WHERE name = 'regress_g1';
SELECT rolconnlimit FROM pg_roles WHERE rolname = 'regress_g1';

-- second identical calls change nothing
SELECT count(*) AS audit_rows FROM tenancy.audit_log WHERE tenant = 'regress_g1' \gset
SELECT tenancy.set_allowed_ips('regress_g1', '{10.1.0.0/16, 192.168.7.7/32}');
SELECT tenancy.set_connection_limit('regress_g1', 5);
SELECT count(*) - :audit_rows AS new_audit_rows FROM tenancy.audit_log WHERE tenant = 'regress_g1';

-- back to no restriction
SELECT tenancy.set_allowed_ips('regress_g1', NULL);
SELECT tenancy.set_connection_limit('regress_g1', -1);
SELECT allowed_ips, connection_limit FROM tenancy.tenants WHERE name = 'regress_g1';
SELECT rolconnlimit FROM pg_roles WHERE rolname = 'regress_g1';

-- bad input
SELECT tenancy.set_allowed_ips('regress_g1', '{}');
SELECT tenancy.set_allowed_ips('regress_g1', ARRAY[NULL]::cidr[]);
SELECT tenancy.set_allowed_ips('regress_g1', '{not-an-address}');
SELECT tenancy.set_connection_limit('regress_g1', -2);
SELECT tenancy.set_connection_limit('regress_g1', NULL);
SELECT tenancy.set_connection_limit('regress_nobody_here', 1);
