-- The object guard (the library is preloaded here): hand-typed statements
-- that would destroy a protected tenant, or open any tenant to others, are
-- refused for every role, superusers included, and audited although their
-- transaction rolls back; the API still works.
SELECT coalesce(max(id), 0) AS start FROM tenancy.audit_log \gset
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_gd1', ARRAY['db1', 'db2'], iam_auth => false,
                                                     allowed_ips => ARRAY['10.0.0.0/8', '192.0.2.7/32']::cidr[]);
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_gd2', ARRAY['db1'], iam_auth => false);

-- what the guards know of each tenant, in the shared catalog
SELECT r.rolname, l.label FROM pg_shseclabel l JOIN pg_roles r ON r.oid = l.objoid
WHERE l.provider = 'aurora_tenancy_guard' AND r.rolname LIKE 'regress_gd%' ORDER BY 1;

-- while protected (the default), for the superuser running this file too
DROP DATABASE regress_gd1_db1;
\set VERBOSITY terse
DROP DATABASE IF EXISTS regress_gd1_db2 WITH (FORCE);
DROP ROLE regress_gd1;
DROP USER IF EXISTS regress_gd2, regress_gd1;
ALTER DATABASE regress_gd1_db1 RENAME TO regress_gd1_gone;
ALTER DATABASE regress_gd1_db1 OWNER TO regress_gd2;
ALTER ROLE regress_gd1 RENAME TO regress_gd1_gone;
DROP OWNED BY regress_gd1;
REASSIGN OWNED BY regress_gd1 TO postgres;
SECURITY LABEL FOR aurora_tenancy ON DATABASE regress_gd1_db1 IS NULL;
SECURITY LABEL FOR aurora_tenancy ON ROLE regress_gd1 IS NULL;
SECURITY LABEL FOR aurora_tenancy_guard ON ROLE regress_gd1 IS 'deletion_protection=off';
-- from inside a function, and in a transaction that rolls back
DO $$ BEGIN EXECUTE 'DROP ROLE regress_gd1'; END $$;
BEGIN;
DROP ROLE regress_gd1;
ROLLBACK;

-- for every tenant, protected or not
\set VERBOSITY default
GRANT CONNECT ON DATABASE regress_gd1_db1 TO PUBLIC;
\set VERBOSITY terse
GRANT ALL ON DATABASE regress_gd1_db1, regress_gd2_db1 TO regress_gd2;
ALTER ROLE regress_gd1 SUPERUSER PASSWORD 'hunter2-not-logged';
ALTER ROLE regress_gd1 WITH NOCREATEDB CREATEROLE;
ALTER USER regress_gd1 REPLICATION;
ALTER ROLE regress_gd1 BYPASSRLS;
GRANT pg_read_all_data TO regress_gd1;
GRANT pg_read_server_files TO regress_gd2, regress_gd1;
GRANT regress_gd2 TO regress_gd1;
ALTER GROUP pg_write_all_data ADD USER regress_gd1;
-- nor through a role in between
CREATE ROLE regress_gd_mid;
GRANT regress_gd_mid TO regress_gd1;
GRANT pg_read_server_files TO regress_gd_mid;
ALTER ROLE regress_gd_mid CREATEROLE;
GRANT regress_gd2 TO regress_gd_mid;
CREATE ROLE regress_gd_super SUPERUSER;
GRANT regress_gd_super TO regress_gd_mid;
CREATE ROLE regress_gd_new SUPERUSER ROLE regress_gd1;
CREATE ROLE regress_gd_new IN ROLE pg_execute_server_program ADMIN regress_gd1;
CREATE ROLE regress_gd_new IN ROLE regress_gd_super ROLE regress_gd_mid;
-- nor is a tenant role granted to anyone (who could act as the tenant
-- past its allowed IPs)
GRANT regress_gd1 TO regress_gd_mid;
ALTER GROUP regress_gd1 ADD USER regress_gd_mid;
CREATE ROLE regress_gd_new LOGIN IN ROLE regress_gd1;
-- nor its databases to a role another tenant is a member of
CREATE ROLE regress_gd_group;
GRANT regress_gd_group TO regress_gd2;
GRANT CONNECT ON DATABASE regress_gd1_db1 TO regress_gd_group;
DROP ROLE regress_gd_group;
-- copies of its databases
ALTER DATABASE regress_gd1_db1 IS_TEMPLATE true;
CREATE DATABASE regress_gd_copy TEMPLATE regress_gd1_db1;
-- a marker naming another role's tenant, or on a superuser
SECURITY LABEL FOR aurora_tenancy ON ROLE regress_gd_mid IS 'tenant=regress_gd1';
SECURITY LABEL FOR aurora_tenancy ON ROLE postgres IS 'tenant=postgres';
SECURITY LABEL FOR aurora_tenancy_guard ON ROLE postgres IS 'deletion_protection=on';
\c regress_gd1_db1
DROP SCHEMA public CASCADE;
ALTER SCHEMA public RENAME TO elsewhere;
ALTER SCHEMA public OWNER TO regress_gd2;
\c regression

-- a role PostgreSQL itself refuses gets PostgreSQL's answer, and no audit
-- row: nobody unprivileged can fill the audit log with refusals; and a
-- tenant drops or hands over what it owns (as it may object by object)
SET ROLE regress_gd2;
DROP DATABASE regress_gd1_db1;
GRANT CONNECT ON DATABASE regress_gd1_db1 TO PUBLIC;
DROP OWNED BY regress_gd1;
ALTER ROLE regress_gd1 SUPERUSER;
REASSIGN OWNED BY regress_gd2 TO regress_gd1;
DROP OWNED BY regress_gd2;
RESET ROLE;
\set VERBOSITY default

-- nothing changed
SELECT datname, datacl FROM pg_database WHERE datname LIKE 'regress_gd%' ORDER BY 1;
SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls
FROM pg_roles WHERE rolname LIKE 'regress_gd%' ORDER BY 1;
SELECT r.rolname AS role, m.rolname AS member FROM pg_auth_members a
JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
WHERE m.rolname LIKE 'regress_gd%' ORDER BY 1, 2;
SELECT count(*) AS new_roles FROM pg_roles WHERE rolname = 'regress_gd_new';

-- each refusal is in the audit log, with what was refused (no secret)
SELECT operation, tenant, step, object_type, object_name, database, sqlstate, statement
FROM tenancy.audit_log WHERE id > :start AND phase = 'refused' ORDER BY id;
SELECT count(*) AS secrets FROM tenancy.audit_log WHERE statement LIKE '%hunter2%';
SELECT session_user_name, current_user_name, message FROM tenancy.audit_log
WHERE id > :start AND phase = 'refused' ORDER BY id LIMIT 1;
SELECT count(*) AS chain_problems FROM tenancy.verify_audit_log() WHERE id > :start;

-- what is allowed: the tenant's own grants, attributes taken away, other databases
GRANT CONNECT ON DATABASE regress_gd1_db1 TO regress_gd1;
ALTER ROLE regress_gd1 NOSUPERUSER NOCREATEROLE;
CREATE DATABASE regress_gd_other;
GRANT CONNECT ON DATABASE regress_gd_other TO PUBLIC;
CREATE ROLE regress_gd_plain;
GRANT pg_read_all_data TO regress_gd_plain;
DROP ROLE regress_gd_plain;
DROP DATABASE regress_gd_other;

-- guard labels: valid ones only, on roles only; a superuser may give a role
-- its first (a restore), nobody a second outside the extension's steps
CREATE ROLE regress_gd_plain;
SECURITY LABEL FOR aurora_tenancy_guard ON ROLE regress_gd_plain IS 'protected';
SECURITY LABEL FOR aurora_tenancy_guard ON ROLE regress_gd_plain IS 'deletion_protection=on allowed_ips=10.0.0.1/8';
SECURITY LABEL FOR aurora_tenancy_guard ON DATABASE regression IS 'deletion_protection=on';
SECURITY LABEL FOR aurora_tenancy_guard ON ROLE regress_gd_plain IS 'deletion_protection=off allowed_ips=10.0.0.0/8';
SECURITY LABEL FOR aurora_tenancy_guard ON ROLE regress_gd_plain IS 'deletion_protection=on';
DROP ROLE regress_gd_plain;

-- a role in between made SUPERUSER in the catalog (no guard stops that):
-- check() reports the tenant's membership, repair() revokes it
UPDATE pg_authid SET rolsuper = true WHERE rolname = 'regress_gd_mid';
SELECT object_type, object_name, problem, fix FROM tenancy.check('regress_gd1');
SELECT tenancy.repair('regress_gd1');
SELECT count(*) AS memberships FROM pg_auth_members WHERE member = 'regress_gd1'::regrole;

-- a guard label edited in the catalog is reported and put back
UPDATE pg_shseclabel SET label = 'deletion_protection=off'
WHERE objoid = 'regress_gd1'::regrole AND provider = 'aurora_tenancy_guard';
SELECT object_type, object_name, problem, fix FROM tenancy.check('regress_gd1');
SELECT tenancy.repair('regress_gd1');
SELECT label FROM pg_shseclabel WHERE objoid = 'regress_gd1'::regrole AND provider = 'aurora_tenancy_guard';

-- the API keeps working: allowed IPs and protection change through steps
SELECT tenancy.set_allowed_ips('regress_gd1', ARRAY['198.51.100.0/24']::cidr[]);
SELECT tenancy.set_deletion_protection('regress_gd1', false);
SELECT label FROM pg_shseclabel WHERE objoid = 'regress_gd1'::regrole AND provider = 'aurora_tenancy_guard';
SELECT step, object_name, statement FROM tenancy.audit_log
WHERE id > :start AND tenant = 'regress_gd1' AND step IN ('set_guard_label', 'set_deletion_protection') AND phase = 'done' ORDER BY id;
-- unprotected, a tenant role keeps its marker while it has a guard label
-- (without it the login guard would not know it)
SECURITY LABEL FOR aurora_tenancy ON ROLE regress_gd1 IS NULL;
-- a database may be dropped by hand (and check() says so) ...
DROP DATABASE regress_gd1_db2;
SELECT object_name, problem FROM tenancy.check('regress_gd1');
SELECT tenancy.repair('regress_gd1') > 0 AS repaired;
-- ... still never opened to others
GRANT CONNECT ON DATABASE regress_gd1_db2 TO PUBLIC;
DROP ROLE regress_gd_mid, regress_gd_super;
SELECT * FROM tenancy.offboard('regress_gd1');
SELECT tenancy.set_deletion_protection('regress_gd2', false);
SELECT tenant, dropped_databases FROM tenancy.offboard('regress_gd2');
SELECT count(*) AS guard_labels_left FROM pg_shseclabel WHERE provider = 'aurora_tenancy_guard'
AND objoid NOT IN (SELECT oid FROM pg_roles);

-- a guard label on a role the registry does not know (a superuser's
-- restore of it, say): reported and removed
CREATE ROLE regress_gd_restored;
SECURITY LABEL FOR aurora_tenancy_guard ON ROLE regress_gd_restored IS 'deletion_protection=on';
SELECT object_type, object_name, problem, fix FROM tenancy.check() WHERE object_name = 'regress_gd_restored';
SELECT tenancy.repair() > 0 AS repaired;
SELECT count(*) AS guard_labels FROM pg_shseclabel WHERE objoid = 'regress_gd_restored'::regrole;
DROP ROLE regress_gd_restored;

-- the login guard counts refusals here (TAP tests log in): none yet
SELECT * FROM tenancy.login_refusals;
