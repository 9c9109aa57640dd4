-- check() finds drift, repair() fixes exactly that, and check() is empty after.
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_r1', ARRAY['db1', 'db2'], iam_auth => false);
SELECT * FROM tenancy.check('regress_r1');

-- drift, made by hand
GRANT CONNECT ON DATABASE regress_r1_db1 TO PUBLIC;
REVOKE TEMPORARY ON DATABASE regress_r1_db2 FROM regress_r1;
ALTER ROLE regress_r1 CREATEDB BYPASSRLS;
CREATE ROLE regress_r1_intruder;
GRANT CONNECT ON DATABASE regress_r1_db2 TO regress_r1_intruder;
GRANT regress_r1 TO regress_r1_intruder;
GRANT rds_iam TO regress_r1;
\c regress_r1_db2
GRANT USAGE ON SCHEMA public TO PUBLIC;
\c regression
SELECT * FROM tenancy.check('regress_r1');
SELECT tenancy.repair('regress_r1');
SELECT * FROM tenancy.check('regress_r1');
SELECT step FROM tenancy.audit_log WHERE tenant = 'regress_r1' AND operation = 'repair' AND phase <> 'intent' ORDER BY id;

-- a database dropped by hand
DROP DATABASE regress_r1_db2;
SELECT tenant, object_type, object_name, problem FROM tenancy.check('regress_r1');
SELECT tenancy.repair('regress_r1') > 0 AS repaired;
SELECT * FROM tenancy.check('regress_r1');
SELECT has_database_privilege('regress_r1', 'regress_r1_db2', 'CONNECT') AS tenant_connect;

-- a missing role: recreated (with a password nobody knows: rotate it)
DROP ROLE regress_r1_intruder;
\c regress_r1_db1
DROP OWNED BY regress_r1;
\c regress_r1_db2
DROP OWNED BY regress_r1;
\c regression
DROP OWNED BY regress_r1;
DROP ROLE regress_r1;
SELECT tenant, object_type, object_name, problem FROM tenancy.check('regress_r1');
SELECT tenancy.repair('regress_r1') > 0 AS repaired;
SELECT * FROM tenancy.check('regress_r1');

-- an audit intent whose operation never finished
INSERT INTO tenancy.audit_log (operation_id, operation, tenant, step, phase, object_type, object_name,
                               statement, session_user_name, current_user_name, backend_pid)
VALUES (gen_random_uuid(), 'onboard', 'regress_r1', 'create_database', 'intent', 'database',
        'regress_r1_db9', 'CREATE DATABASE regress_r1_db9', 'postgres', 'postgres', 0);
SELECT object_type, regexp_replace(object_name, 'audit id \d+', 'audit id N') AS object_name, problem
FROM tenancy.check('regress_r1');
SELECT tenancy.repair('regress_r1');
SELECT step, phase, object_name, message FROM tenancy.audit_log
WHERE tenant = 'regress_r1' AND object_name = 'regress_r1_db9' ORDER BY id;

-- a marker on a database the registry does not list
CREATE DATABASE regress_r1_stray;
SECURITY LABEL FOR aurora_tenancy ON DATABASE regress_r1_stray IS 'tenant=regress_r1';
SELECT object_type, object_name, problem, fix FROM tenancy.check('regress_r1');

-- the whole cluster: what the tests before left behind by hand (a connection
-- limit set with ALTER ROLE, a role left NOLOGIN, the IAM role setting
-- changed), all repaired at once
SELECT * FROM tenancy.check();
SELECT tenancy.repair();
SELECT * FROM tenancy.check();
SELECT count(*) AS markers FROM pg_shseclabel l JOIN pg_database d ON d.oid = l.objoid
WHERE d.datname = 'regress_r1_stray';
DROP DATABASE regress_r1_stray;

-- bad input
SELECT * FROM tenancy.check('regress_nobody_here');
SELECT * FROM tenancy.check('Bad Name');
SELECT tenancy.repair('regress_nobody_here');
BEGIN;
SELECT tenancy.repair('regress_r1');
ROLLBACK;
