-- Idempotence: the same call again executes nothing; one more database adds
-- only that one; a re-run completes what an interruption left undone.
\set VERBOSITY terse

SELECT changes FROM tenancy.onboard('regress_i1', ARRAY['db1']);
SELECT count(*) AS audit_rows FROM tenancy.audit_log WHERE tenant = 'regress_i1' \gset
SELECT changes, password IS NULL AS no_password FROM tenancy.onboard('regress_i1', ARRAY['db1']);
SELECT count(*) - :audit_rows AS new_audit_rows FROM tenancy.audit_log WHERE tenant = 'regress_i1';

-- one more database: only its steps run; the result lists both, in order
SELECT databases, changes FROM tenancy.onboard('regress_i1', ARRAY['db1', 'db2']);
SELECT step, object_name, database FROM tenancy.audit_log
WHERE operation_id = (SELECT operation_id FROM tenancy.audit_log
                      WHERE tenant = 'regress_i1' ORDER BY id DESC LIMIT 1)
  AND phase <> 'intent' ORDER BY id;
SELECT changes FROM tenancy.onboard('regress_i1', ARRAY['db2', 'db1']);

-- an existing database keeps its name when the template changes later
SET tenancy.database_name_template = 'other_%t_%d';
SELECT databases, changes FROM tenancy.onboard('regress_i1', ARRAY['db1']);
RESET tenancy.database_name_template;

-- drift made by hand is repaired by the next call, and only that
REVOKE CONNECT ON DATABASE regress_i1_db2 FROM regress_i1;
-- (the object guard refuses such statements on tenants: this drift is a
-- superuser's edit of the catalogs, which no guard can stop)
UPDATE pg_database SET datacl = array_append(datacl, makeaclitem(0, datdba, 'CONNECT', false))
WHERE datname = 'regress_i1_db2';
SELECT changes FROM tenancy.onboard('regress_i1', ARRAY['db1', 'db2']);
SELECT step, object_name, statement FROM tenancy.audit_log
WHERE operation_id = (SELECT operation_id FROM tenancy.audit_log
                      WHERE tenant = 'regress_i1' ORDER BY id DESC LIMIT 1);
SELECT datacl FROM pg_database WHERE datname = 'regress_i1_db2';

-- a database that lost its marker is no longer known to be the tenant's,
-- though the audit log says the tenant created one of that name: refused,
-- and reported
-- (while the tenant is protected, its markers stay: see 23_guards)
SELECT tenancy.set_deletion_protection('regress_i1', false);
SECURITY LABEL FOR aurora_tenancy ON DATABASE regress_i1_db2 IS NULL;
SELECT changes FROM tenancy.onboard('regress_i1', ARRAY['db1', 'db2']);
SELECT object_name, problem FROM tenancy.check('regress_i1');
SECURITY LABEL FOR aurora_tenancy ON DATABASE regress_i1_db2 IS 'tenant=regress_i1';
SELECT changes FROM tenancy.onboard('regress_i1', ARRAY['db1', 'db2']);

-- a database is created unreachable under a random name, then secured,
-- marked and renamed in one transaction: nobody could connect to it before
SELECT regexp_replace(statement, 'tenancy_new_[0-9a-f]{16}', 'tenancy_new_<random>', 'g') AS statement
FROM tenancy.audit_log WHERE tenant = 'regress_i1' AND step = 'create_database' AND phase = 'done'
ORDER BY id LIMIT 1;
SELECT datname, datallowconn, datacl FROM pg_database WHERE datname LIKE 'regress_i1_%' ORDER BY 1;
SELECT count(*) AS unfinished FROM pg_database WHERE datname LIKE 'tenancy\_new\_%';

-- drift inside a database onboarding finished is not looked for by the next
-- onboard (that would take a worker in every database): check() finds it
-- and repair() fixes it
SELECT changes FROM tenancy.onboard('regress_i2', ARRAY['db1'], iam_auth => false);
\c regress_i2_db1
GRANT ALL ON SCHEMA public TO PUBLIC;
\c regression
SELECT changes FROM tenancy.onboard('regress_i2', ARRAY['db1'], iam_auth => false);
SELECT object_name, problem FROM tenancy.check('regress_i2');
SELECT count(*) AS problems FROM tenancy.check('regress_i2', deep => false);
SELECT tenancy.repair('regress_i2');
\c regress_i2_db1
SELECT nspacl FROM pg_namespace WHERE nspname = 'public';
\c regression

-- a password-login onboarding interrupted after its role was created never
-- returned the password: the re-run sets a new one and returns it
UPDATE tenancy.registry SET state = 'onboarding' WHERE name = 'regress_i2';
SELECT rolpassword AS old_verifier FROM pg_authid WHERE rolname = 'regress_i2' \gset
SELECT password ~ '^[A-Za-z0-9]{32,}$' AS new_password, changes
FROM tenancy.onboard('regress_i2', ARRAY['db1'], iam_auth => false);
SELECT rolpassword <> :'old_verifier' AS verifier_changed FROM pg_authid WHERE rolname = 'regress_i2';
SELECT password IS NULL AS no_password_once_active
FROM tenancy.onboard('regress_i2', ARRAY['db1'], iam_auth => false);

-- but a database that a failed attempt did not create is not adopted
INSERT INTO tenancy.audit_log (operation, tenant, step, phase, object_type, object_name,
                               sqlstate, session_user_name, current_user_name, backend_pid)
VALUES ('onboard', 'regress_i3', 'create_database', 'intent', 'database', 'regress_i3_db1',
        NULL, 'postgres', 'postgres', 0),
       ('onboard', 'regress_i3', 'create_database', 'failed', 'database', 'regress_i3_db1',
        '55006', 'postgres', 'postgres', 0);
CREATE DATABASE regress_i3_db1;
SELECT * FROM tenancy.onboard('regress_i3', ARRAY['db1'], iam_auth => false);
DROP DATABASE regress_i3_db1;

-- nor one whose create was interrupted (an intent row and no outcome) and
-- that another role made meanwhile, with its own data
INSERT INTO tenancy.audit_log (operation, tenant, step, phase, object_type, object_name,
                               statement, session_user_name, current_user_name, backend_pid)
VALUES ('onboard', 'regress_i4', 'create_database', 'intent', 'database', 'regress_i4_db1',
        'CREATE DATABASE regress_i4_db1', 'postgres', 'postgres', 0);
CREATE ROLE regress_i4_stranger CREATEDB;
SET ROLE regress_i4_stranger;
CREATE DATABASE regress_i4_db1;
RESET ROLE;
SELECT * FROM tenancy.onboard('regress_i4', ARRAY['db1'], iam_auth => false);
SELECT count(*) AS tenant_roles FROM pg_roles WHERE rolname = 'regress_i4';
SELECT datacl IS NULL AS untouched, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'regress_i4_db1';
DROP DATABASE regress_i4_db1;
DROP ROLE regress_i4_stranger;
