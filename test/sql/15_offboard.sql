-- offboard: refused while protected; drops or retains the databases,
-- releases what the role owns, drops it, leaves the audit trail.
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_o1', ARRAY['db1', 'db2']);
SELECT * FROM tenancy.offboard('regress_o1');
SELECT tenancy.set_deletion_protection('regress_o1', false);
-- the tenant owns something outside its databases, and was granted more
CREATE TABLE public.regress_o1_owned (id int);
ALTER TABLE public.regress_o1_owned OWNER TO regress_o1;
CREATE TABLE public.regress_o1_granted (id int);
GRANT SELECT ON public.regress_o1_granted TO regress_o1;
SELECT tenant, dropped_databases, kept_databases, changes > 0 AS changed FROM tenancy.offboard('regress_o1');
SELECT count(*) AS roles FROM pg_roles WHERE rolname = 'regress_o1';
SELECT count(*) AS databases FROM pg_database WHERE datname LIKE 'regress_o1_%';
SELECT count(*) AS tenants FROM tenancy.tenants WHERE name = 'regress_o1';
SELECT count(*) AS registered_databases FROM tenancy.tenant_databases WHERE tenant = 'regress_o1';
SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'regress_o1_owned';
SELECT step FROM tenancy.audit_log WHERE tenant = 'regress_o1' AND operation = 'offboard' AND phase <> 'intent' ORDER BY id;
-- the audit rows stay; a second call changes nothing
SELECT * FROM tenancy.offboard('regress_o1');
DROP TABLE public.regress_o1_owned, public.regress_o1_granted;

-- keep_databases: the databases stay, retained, without the tenant's access
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_o2', ARRAY['db1'], iam_auth => false);
SELECT tenancy.set_deletion_protection('regress_o2', false);
\c regress_o2_db1
SET ROLE regress_o2;
CREATE TABLE tenant_data (id int);
INSERT INTO tenant_data VALUES (42);
RESET ROLE;
\c regression
SELECT tenant, dropped_databases, kept_databases FROM tenancy.offboard('regress_o2', keep_databases => true);
SELECT datname, datacl FROM pg_database WHERE datname = 'regress_o2_db1';
SELECT count(*) AS markers FROM pg_shseclabel l JOIN pg_database d ON d.oid = l.objoid WHERE d.datname = 'regress_o2_db1';
SELECT tenant, database_name, state FROM tenancy.tenant_databases WHERE tenant = 'regress_o2';
\c regress_o2_db1
SELECT id, pg_get_userbyid(c.relowner) AS owner FROM tenant_data, pg_class c WHERE c.relname = 'tenant_data';
\c regression
-- a retained database is never adopted by a new tenant of the same name
SELECT * FROM tenancy.onboard('regress_o2', ARRAY['db1'], iam_auth => false);

-- onboarding can begin again after an offboarding
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_o1', ARRAY['db1']);

-- bad input
SELECT * FROM tenancy.offboard(NULL);
SELECT * FROM tenancy.offboard('regress_nobody_here');
SELECT * FROM tenancy.offboard('regress_o1', NULL);
BEGIN;
SELECT * FROM tenancy.offboard('regress_o1');
ROLLBACK;
