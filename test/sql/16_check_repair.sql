-- check() finds drift, repair() fixes exactly that, and check() is empty after.
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_r1', ARRAY['db1', 'db2'], iam_auth => false);
SELECT * FROM tenancy.check('regress_r1');
-- unprotected: what follows drops its objects by hand (see 23_guards)
SELECT tenancy.set_deletion_protection('regress_r1', false);

-- drift, made by hand
-- (the object guard refuses such statements on tenants: this drift is a
-- superuser's edit of the catalogs, which no guard can stop)
UPDATE pg_database SET datacl = array_append(datacl, makeaclitem(0, datdba, 'CONNECT', false))
WHERE datname = 'regress_r1_db1';
UPDATE pg_authid SET rolcreatedb = true, rolbypassrls = true WHERE rolname = 'regress_r1';
REVOKE TEMPORARY ON DATABASE regress_r1_db2 FROM regress_r1;
CREATE ROLE regress_r1_intruder;
GRANT CONNECT ON DATABASE regress_r1_db2 TO regress_r1_intruder;
INSERT INTO pg_auth_members (roleid, member, grantor, admin_option)
VALUES ('regress_r1'::regrole, 'regress_r1_intruder'::regrole, 'postgres'::regrole, false);
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

-- an intent in a tenant database whose outcome reality cannot tell
INSERT INTO tenancy.audit_log (operation_id, operation, tenant, step, phase, object_type, object_name,
                               database, session_user_name, current_user_name, backend_pid)
VALUES (gen_random_uuid(), 'onboard', 'regress_r1', 'schema_privileges', 'intent', 'schema', 'public',
        'regress_r1_db1', 'postgres', 'postgres', 0);
SELECT tenancy.repair('regress_r1');
SELECT step, phase FROM tenancy.audit_log
WHERE tenant = 'regress_r1' AND step = 'schema_privileges' ORDER BY id DESC LIMIT 1;

-- a grant with grant option passed on: revoked with what depends on it
CREATE ROLE regress_r1_payroll;
CREATE ROLE regress_r1_pay2;
GRANT CONNECT ON DATABASE regress_r1_db1 TO regress_r1_payroll WITH GRANT OPTION;
SET ROLE regress_r1_payroll;
GRANT CONNECT ON DATABASE regress_r1_db1 TO regress_r1_pay2;
RESET ROLE;
SELECT object_name, problem, fix FROM tenancy.check('regress_r1');
SELECT tenancy.repair('regress_r1') > 0 AS repaired;
SELECT * FROM tenancy.check('regress_r1');
DROP ROLE regress_r1_payroll, regress_r1_pay2;

-- a database that has the tenant's name but is not the tenant's is reported
-- and left alone, by repair() and by every other function
DROP DATABASE regress_r1_db2;
CREATE ROLE regress_r1_stranger;
CREATE DATABASE regress_r1_db2 OWNER regress_r1_stranger;
SELECT object_type, object_name, problem, fix FROM tenancy.check('regress_r1');
SELECT tenancy.repair('regress_r1');
SELECT datacl, (SELECT count(*) FROM pg_shseclabel WHERE objoid = d.oid) AS markers
FROM pg_database d WHERE datname = 'regress_r1_db2';
SELECT tenancy.set_deletion_protection('regress_r1', false);
SELECT tenancy.remove_database('regress_r1', 'db2');
SELECT * FROM tenancy.offboard('regress_r1');
SELECT count(*) AS still_there FROM pg_database WHERE datname = 'regress_r1_db2';
DROP DATABASE regress_r1_db2;
DROP ROLE regress_r1_stranger;
SELECT tenancy.repair('regress_r1') > 0 AS recreated;
SELECT * FROM tenancy.check('regress_r1');

-- a marker on a database the registry does not list
CREATE DATABASE regress_r1_stray;
SECURITY LABEL FOR aurora_tenancy ON DATABASE regress_r1_stray IS 'tenant=regress_r1';
SELECT object_type, object_name, problem, fix FROM tenancy.check('regress_r1');

-- an unfinished database an interrupted create left behind (it exists,
-- unreachable and unmarked, and the audit log shows its creation began) is
-- reported and dropped; one the audit log does not vouch for is not touched
INSERT INTO tenancy.audit_log (operation_id, operation, tenant, step, phase, object_type, object_name,
                               statement, session_user_name, current_user_name, backend_pid)
VALUES (gen_random_uuid(), 'onboard', 'regress_r1', 'create_database', 'intent', 'database', 'regress_r1_db3',
        'CREATE DATABASE tenancy_new_00000000000000aa TEMPLATE template0 ALLOW_CONNECTIONS false; ...',
        'postgres', 'postgres', 0);
CREATE DATABASE tenancy_new_00000000000000aa TEMPLATE template0 ALLOW_CONNECTIONS false;
CREATE DATABASE tenancy_new_00000000000000bb TEMPLATE template0 ALLOW_CONNECTIONS false;
SELECT object_type, object_name, problem, fix FROM tenancy.check('regress_r1') WHERE object_type = 'database';
SELECT tenancy.repair('regress_r1') > 0 AS repaired;
SELECT datname FROM pg_database WHERE datname LIKE 'tenancy\_new\_%';
DROP DATABASE tenancy_new_00000000000000bb;

-- the whole cluster: what the tests before left behind by hand (a connection
-- limit set with ALTER ROLE, a role left NOLOGIN, the IAM role setting
-- changed), all repaired at once
-- and what is wrong with the cluster itself, for a person to decide: every
-- database that PUBLIC (so every tenant) may connect to
SELECT * FROM tenancy.check();
SELECT tenancy.repair();
SELECT * FROM tenancy.check();
SELECT count(*) AS markers FROM pg_shseclabel l JOIN pg_database d ON d.oid = l.objoid
WHERE d.datname = 'regress_r1_stray';
DROP DATABASE regress_r1_stray;
REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1, regression FROM PUBLIC;
SELECT * FROM tenancy.check();
-- a tenant granted CONNECT on a shared database is named
GRANT CONNECT ON DATABASE template1 TO regress_r1;
SELECT object_name, problem FROM tenancy.check();
REVOKE CONNECT ON DATABASE template1 FROM regress_r1;
-- (later tests connect to this database as other roles)
GRANT CONNECT, TEMPORARY ON DATABASE regression TO PUBLIC;

-- bad input
SELECT * FROM tenancy.check('regress_nobody_here');
SELECT * FROM tenancy.check('Bad Name');
SELECT tenancy.repair('regress_nobody_here');
BEGIN;
SELECT tenancy.repair('regress_r1');
ROLLBACK;
