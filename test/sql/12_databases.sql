-- add_database and remove_database.
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_d1', ARRAY['db1'], iam_auth => false);
SELECT tenancy.add_database('regress_d1', 'db2');
SELECT tenancy.add_database('regress_d1', 'db2');
SELECT databases FROM tenancy.tenants WHERE name = 'regress_d1';
SELECT has_database_privilege('regress_d1', 'regress_d1_db2', 'CONNECT, TEMPORARY, CREATE') AS tenant_all,
       has_database_privilege('public', 'regress_d1_db2', 'CONNECT') AS public_connect;
SELECT label FROM pg_shseclabel l JOIN pg_database d ON d.oid = l.objoid WHERE d.datname = 'regress_d1_db2';

-- removal: refused while protected, then done, then a no-op
SELECT tenancy.remove_database('regress_d1', 'db2');
SELECT tenancy.set_deletion_protection('regress_d1', false);
SELECT tenancy.remove_database('regress_d1', 'db2');
SELECT count(*) AS left_over FROM pg_database WHERE datname = 'regress_d1_db2';
SELECT databases FROM tenancy.tenants WHERE name = 'regress_d1';
SELECT step, phase, object_name FROM tenancy.audit_log
WHERE tenant = 'regress_d1' AND operation = 'remove_database' ORDER BY id;
SELECT tenancy.remove_database('regress_d1', 'db2');

-- the last database stays
SELECT tenancy.remove_database('regress_d1', 'db1');
-- bad input
SELECT tenancy.add_database('regress_d1', NULL);
SELECT tenancy.add_database('regress_d1', 'Bad');
SELECT tenancy.add_database('regress_d1', 'pg_x');
SELECT tenancy.add_database('regress_nobody_here', 'db1');
SELECT tenancy.add_database('regress_d1', repeat('x', 60));
SELECT tenancy.remove_database('regress_d1', 'db9');
SELECT tenancy.remove_database('regress_d1', NULL);
CREATE DATABASE regress_d1_db3;
SELECT tenancy.add_database('regress_d1', 'db3');
DROP DATABASE regress_d1_db3;
SELECT databases FROM tenancy.tenants WHERE name = 'regress_d1';

-- new databases are copied from tenancy.database_template, which no tenant
-- may reach: template1 (PUBLIC may connect) is refused, before any step
SET tenancy.database_template = 'template1';
\set VERBOSITY default
SELECT * FROM tenancy.onboard('regress_t9', ARRAY['db1'], iam_auth => false);
SET tenancy.database_template = 'regress_no_such_template';
SELECT * FROM tenancy.onboard('regress_t9', ARRAY['db1'], iam_auth => false);
\set VERBOSITY terse
SELECT count(*) AS tenants FROM tenancy.tenants WHERE name = 'regress_t9';
-- a template a DBA prepared, closed to PUBLIC and tenants, is used
CREATE DATABASE regress_template;
REVOKE ALL ON DATABASE regress_template FROM PUBLIC;
\c regress_template
CREATE TABLE prepared (id int);
\c regression
SET tenancy.database_template = 'regress_template';
SELECT databases FROM tenancy.onboard('regress_t9', ARRAY['db1'], iam_auth => false);
\c regress_t9_db1
SELECT count(*) AS prepared_tables FROM pg_tables WHERE tablename = 'prepared';
\c regression
-- and refused once a tenant may connect to it
SET tenancy.database_template = 'regress_template';
GRANT CONNECT ON DATABASE regress_template TO regress_t9;
SELECT tenancy.add_database('regress_t9', 'db2');
RESET tenancy.database_template;
REVOKE CONNECT ON DATABASE regress_template FROM regress_t9;
