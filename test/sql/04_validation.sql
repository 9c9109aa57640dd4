-- Validation: every bad input is refused with its own SQLSTATE before the
-- first step, and nothing changes.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT (SELECT count(*) FROM pg_roles) AS roles,
       (SELECT count(*) FROM pg_database) AS dbs,
       (SELECT count(*) FROM tenancy.audit_log) AS audit,
       (SELECT count(*) FROM tenancy.tenants) AS tenants \gset before_

\set VERBOSITY sqlstate
-- NULLs and empty input
SELECT * FROM tenancy.onboard(NULL, ARRAY['db1']);
SELECT * FROM tenancy.onboard('regress_v', NULL);
SELECT * FROM tenancy.onboard('regress_v', ARRAY[]::text[]);
SELECT * FROM tenancy.onboard('regress_v', ARRAY['db1', NULL]);
SELECT * FROM tenancy.onboard('regress_v', ARRAY['db1'], iam_auth => NULL);
SELECT * FROM tenancy.onboard('regress_v', ARRAY['db1'], allowed_ips => '{}');
SELECT * FROM tenancy.onboard('regress_v', ARRAY['db1'], allowed_ips => ARRAY[NULL]::cidr[]);
SELECT * FROM tenancy.onboard('regress_v', ARRAY[['db1'], ['db2']]);
-- tenant names
SELECT * FROM tenancy.onboard('', ARRAY['db1']);
SELECT * FROM tenancy.onboard('Client01', ARRAY['db1']);
SELECT * FROM tenancy.onboard('1client', ARRAY['db1']);
SELECT * FROM tenancy.onboard('client-01', ARRAY['db1']);
SELECT * FROM tenancy.onboard('client 01', ARRAY['db1']);
SELECT * FROM tenancy.onboard('client01;drop', ARRAY['db1']);
SELECT * FROM tenancy.onboard('_client', ARRAY['db1']);
SELECT * FROM tenancy.onboard('clïent', ARRAY['db1']);
SELECT * FROM tenancy.onboard(repeat('a', 49), ARRAY['db1']);
-- reserved names
SELECT * FROM tenancy.onboard('postgres', ARRAY['db1']);
SELECT * FROM tenancy.onboard('pg_tenant', ARRAY['db1']);
SELECT * FROM tenancy.onboard('rdsadmin', ARRAY['db1']);
SELECT * FROM tenancy.onboard('rds_iam', ARRAY['db1']);
SELECT * FROM tenancy.onboard('aws_tenant', ARRAY['db1']);
SELECT * FROM tenancy.onboard('public', ARRAY['db1']);
SELECT * FROM tenancy.onboard('template1', ARRAY['db1']);
SELECT * FROM tenancy.onboard('template0', ARRAY['db1']);
-- names SQL reserves for roles, and this extension's own
SELECT * FROM tenancy.onboard('none', ARRAY['db1']);
SELECT * FROM tenancy.onboard('user', ARRAY['db1']);
SELECT * FROM tenancy.onboard('current_user', ARRAY['db1']);
SELECT * FROM tenancy.onboard('session_user', ARRAY['db1']);
SELECT * FROM tenancy.onboard('current_role', ARRAY['db1']);
SELECT * FROM tenancy.onboard('all', ARRAY['db1']);
SELECT * FROM tenancy.onboard('tenancy_custodian', ARRAY['db1']);
SELECT * FROM tenancy.repair('none');
SET tenancy.iam_role = 'regress_iam';
SELECT * FROM tenancy.onboard('regress_iam', ARRAY['db1'], iam_auth => false);
RESET tenancy.iam_role;
-- database names
SELECT * FROM tenancy.onboard('regress_v', ARRAY['DB1']);
SELECT * FROM tenancy.onboard('regress_v', ARRAY['db-1']);
SELECT * FROM tenancy.onboard('regress_v', ARRAY['']);
SELECT * FROM tenancy.onboard('regress_v', ARRAY['pg_db']);
SELECT * FROM tenancy.onboard('regress_v', ARRAY['db1', 'db2', 'db1']);
SELECT * FROM tenancy.onboard('regress_v', ARRAY[repeat('d', 60)]);
SET tenancy.database_name_template = '%d';
SELECT * FROM tenancy.onboard('regress_v', ARRAY['postgres']);
SELECT * FROM tenancy.onboard('regress_v', ARRAY['template1']);
RESET tenancy.database_name_template;
-- what exists and is not this tenant's is never adopted
CREATE ROLE regress_existing;
SELECT * FROM tenancy.onboard('regress_existing', ARRAY['db1'], iam_auth => false);
CREATE DATABASE regress_u_db1;
SELECT * FROM tenancy.onboard('regress_u', ARRAY['db1'], iam_auth => false);
DROP DATABASE regress_u_db1;
-- two tenants whose names would meet: regress_c + x_y and regress_c_x + y
SELECT databases, changes > 0 AS created FROM tenancy.onboard('regress_c', ARRAY['x_y'], iam_auth => false);
SELECT * FROM tenancy.onboard('regress_c_x', ARRAY['y'], iam_auth => false);
-- IAM auth without the IAM role
SET tenancy.iam_role = 'regress_no_such_role';
SELECT * FROM tenancy.onboard('regress_w', ARRAY['db1']);
RESET tenancy.iam_role;
-- an existing tenant keeps its IAM choice
SELECT * FROM tenancy.onboard('regress_c', ARRAY['x_y'], iam_auth => true);
-- nobody but the extension sets tenant markers
SET ROLE regress_existing;
SECURITY LABEL FOR aurora_tenancy ON ROLE regress_existing IS 'tenant=regress_existing';
RESET ROLE;

-- the full messages of a few
\set VERBOSITY default
SELECT * FROM tenancy.onboard('Client01', ARRAY['db1']);
SELECT * FROM tenancy.onboard(repeat('a', 49), ARRAY['db1']);
SELECT * FROM tenancy.onboard('regress_v', ARRAY[repeat('d', 60)]);
SELECT * FROM tenancy.onboard('rds_iam', ARRAY['db1']);
SELECT * FROM tenancy.onboard('regress_existing', ARRAY['db1'], iam_auth => false);
SELECT * FROM tenancy.onboard('regress_c_x', ARRAY['y'], iam_auth => false);
SELECT * FROM tenancy.onboard('regress_c', ARRAY['x_y'], iam_auth => true);
SET tenancy.iam_role = 'regress_no_such_role';
SELECT * FROM tenancy.onboard('regress_w', ARRAY['db1']);
RESET tenancy.iam_role;

-- nothing changed but tenant regress_c and the role created above
SELECT (SELECT count(*) FROM pg_roles) - :before_roles AS new_roles,
       (SELECT count(*) FROM pg_database) - :before_dbs AS new_dbs,
       (SELECT count(*) FROM tenancy.tenants) - :before_tenants AS new_tenants,
       (SELECT count(*) FROM tenancy.audit_log
        WHERE tenant IS DISTINCT FROM 'regress_c' AND phase <> 'ddl') - :before_audit AS other_audit_rows;
SELECT name FROM tenancy.tenants WHERE name LIKE 'regress_c%' OR name IN ('regress_u', 'regress_w', 'regress_v');
