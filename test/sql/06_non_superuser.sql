-- A non-superuser admin with only CREATEROLE and CREATEDB, as on Aurora.
\set VERBOSITY terse
CREATE ROLE regress_admin LOGIN CREATEROLE CREATEDB;
CREATE ROLE regress_nobody LOGIN;
GRANT USAGE ON SCHEMA tenancy TO regress_admin, regress_nobody;
GRANT EXECUTE ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text, text) TO regress_admin, regress_nobody;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tenancy TO regress_admin;
GRANT pg_signal_backend TO regress_admin;

SET SESSION AUTHORIZATION regress_admin;
SELECT tenant, databases, changes FROM tenancy.onboard('regress_n1', ARRAY['db1', 'db2']);
-- the callers hold no privilege on the catalog: the extension wrote it
SELECT count(*) FROM tenancy.tenants;
RESET SESSION AUTHORIZATION;

SELECT datname, pg_get_userbyid(datdba) AS owner, datacl FROM pg_database
WHERE datname LIKE 'regress_n1%' ORDER BY 1;
SELECT count(*) AS admin_is_member FROM pg_auth_members
WHERE roleid = 'regress_n1'::regrole AND member = 'regress_admin'::regrole;
SELECT DISTINCT session_user_name, current_user_name FROM tenancy.audit_log WHERE tenant = 'regress_n1';
\c regress_n1_db1
SELECT nspacl FROM pg_namespace WHERE nspname = 'public';
\c regression

-- without CREATEROLE / CREATEDB: PostgreSQL's own error, and nothing done
SET SESSION AUTHORIZATION regress_nobody;
SELECT * FROM tenancy.onboard('regress_n2', ARRAY['db1'], iam_auth => false);
RESET SESSION AUTHORIZATION;
ALTER ROLE regress_nobody CREATEROLE;
SET SESSION AUTHORIZATION regress_nobody;
SELECT * FROM tenancy.onboard('regress_n2', ARRAY['db1'], iam_auth => false);
RESET SESSION AUTHORIZATION;
SELECT count(*) AS roles FROM pg_roles WHERE rolname = 'regress_n2';
SELECT count(*) AS tenants FROM tenancy.tenants WHERE name = 'regress_n2';
SELECT count(*) AS audit_rows FROM tenancy.audit_log WHERE tenant = 'regress_n2';

-- a step PostgreSQL refuses half way: its failure is audited with its
-- SQLSTATE, the error reaches the caller with the executor's context, and
-- the re-run after the cause is fixed completes the tenant
CREATE ROLE regress_super_iam SUPERUSER NOLOGIN;
SET tenancy.iam_role = 'regress_super_iam';
SET SESSION AUTHORIZATION regress_admin;
\set VERBOSITY default
\set SHOW_CONTEXT always
SELECT * FROM tenancy.onboard('regress_n3', ARRAY['db1']);
\set VERBOSITY terse
\set SHOW_CONTEXT errors
RESET SESSION AUTHORIZATION;
SELECT step, phase, sqlstate, message FROM tenancy.audit_log
WHERE tenant = 'regress_n3' AND phase = 'failed';
SELECT state FROM tenancy.tenants WHERE name = 'regress_n3';
ALTER ROLE regress_super_iam NOSUPERUSER;
SET SESSION AUTHORIZATION regress_admin;
SELECT changes FROM tenancy.onboard('regress_n3', ARRAY['db1']);
RESET SESSION AUTHORIZATION;
RESET tenancy.iam_role;
SELECT state FROM tenancy.tenants WHERE name = 'regress_n3';
SELECT count(*) AS iam_member FROM pg_auth_members
WHERE roleid = 'regress_super_iam'::regrole AND member = 'regress_n3'::regrole;

-- the whole life of a tenant, as the non-superuser admin
SET SESSION AUTHORIZATION regress_admin;
SELECT tenancy.suspend('regress_n1');
SELECT tenancy.resume('regress_n1');
SELECT tenancy.rotate_password('regress_n1') IS NULL AS iam_tenant;
SELECT tenancy.set_iam_auth('regress_n1', false) IS NOT NULL AS got_password;
SELECT tenancy.set_connection_limit('regress_n1', 3);
SELECT tenancy.add_database('regress_n1', 'db3');
SELECT count(*) AS problems FROM tenancy.check('regress_n1');
SELECT tenancy.set_deletion_protection('regress_n1', false);
SELECT tenancy.remove_database('regress_n1', 'db3');
SELECT tenant, dropped_databases, changes > 0 AS changed FROM tenancy.offboard('regress_n1');
RESET SESSION AUTHORIZATION;
SELECT count(*) AS roles FROM pg_roles WHERE rolname = 'regress_n1';
SELECT count(*) AS databases FROM pg_database WHERE datname LIKE 'regress_n1%';
-- the admin borrowed the role's privileges only to hand its objects over,
-- to the custodian (whose privileges it keeps: they are no more than its own)
SELECT count(*) AS admin_memberships FROM pg_auth_members
WHERE member = 'regress_admin'::regrole
  AND roleid NOT IN ('pg_signal_backend'::regrole, 'tenancy_custodian'::regrole);
SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolinherit FROM pg_roles WHERE rolname = 'tenancy_custodian';

-- a tenant database the admin cannot connect to: check() says so for that
-- database only, instead of failing
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_n4', ARRAY['db1'], iam_auth => false);
SET SESSION AUTHORIZATION regress_admin;
SELECT object_type, object_name, problem, fix FROM tenancy.check('regress_n4');
SELECT tenancy.repair('regress_n4');
RESET SESSION AUTHORIZATION;
SELECT count(*) AS problems_for_a_superuser FROM tenancy.check('regress_n4');

-- an offboarding the admin could not complete (the databases are a
-- superuser's) is refused before its first step: the tenant keeps its
-- logins and its state, and can still be resumed, suspended, offboarded
SELECT tenancy.set_deletion_protection('regress_n4', false);
SET SESSION AUTHORIZATION regress_admin;
\set VERBOSITY default
SELECT * FROM tenancy.offboard('regress_n4');
\set VERBOSITY terse
RESET SESSION AUTHORIZATION;
SELECT state FROM tenancy.tenants WHERE name = 'regress_n4';
SELECT rolcanlogin FROM pg_roles WHERE rolname = 'regress_n4';
SELECT count(*) AS offboard_rows FROM tenancy.audit_log WHERE tenant = 'regress_n4' AND operation = 'offboard';
-- and without pg_signal_backend, no suspension half done either
REVOKE pg_signal_backend FROM regress_admin;
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_n6', ARRAY['db1'], iam_auth => false);
SET SESSION AUTHORIZATION regress_admin;
SELECT tenancy.suspend('regress_n6');
RESET SESSION AUTHORIZATION;
SELECT state FROM tenancy.tenants WHERE name = 'regress_n6';
SELECT rolcanlogin FROM pg_roles WHERE rolname = 'regress_n6';
GRANT pg_signal_backend TO regress_admin;
