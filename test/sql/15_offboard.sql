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
-- once a person dropped it, the tenant can have a db1 again: active, listed,
-- checked and offboarded like any other (the retained row stays as history)
DROP DATABASE regress_o2_db1;
SELECT databases, changes > 0 AS onboarded FROM tenancy.onboard('regress_o2', ARRAY['db1'], iam_auth => false);
SELECT tenant, database_name, state FROM tenancy.tenant_databases WHERE tenant = 'regress_o2' ORDER BY state;
SELECT databases FROM tenancy.tenants WHERE name = 'regress_o2';
SELECT * FROM tenancy.check('regress_o2');
SELECT tenancy.set_deletion_protection('regress_o2', false);
SELECT dropped_databases FROM tenancy.offboard('regress_o2');
SELECT count(*) AS databases FROM pg_database WHERE datname = 'regress_o2_db1';

-- a tenant whose offboarding stopped half way is a problem check() reports
-- for the whole cluster too, not only when asked about that tenant
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_o3', ARRAY['db1'], iam_auth => false);
UPDATE tenancy.registry SET state = 'offboarding' WHERE name = 'regress_o3';
SELECT tenant, object_type, object_name, problem FROM tenancy.check() WHERE tenant = 'regress_o3';
SELECT tenancy.set_deletion_protection('regress_o3', false);
SELECT dropped_databases FROM tenancy.offboard('regress_o3');

-- a tenant's objects in a retained database go to the custodian, never to
-- the admin who offboards it: a SECURITY DEFINER function the tenant
-- planted runs as a role that can do nothing
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_o4', ARRAY['db1'], iam_auth => false);
\c regress_o4_db1
SET ROLE regress_o4;
CREATE FUNCTION public.pwn() RETURNS text SECURITY DEFINER LANGUAGE sql
AS $$ SELECT current_user::text $$;
SELECT lo_create(4242) > 0 AS large_object;
RESET ROLE;
\c regression
SELECT tenancy.set_deletion_protection('regress_o4', false);
SELECT kept_databases FROM tenancy.offboard('regress_o4', keep_databases => true);
\c regress_o4_db1
SELECT public.pwn() AS runs_as;
SELECT pg_get_userbyid(lomowner) AS large_object_owner FROM pg_largeobject_metadata WHERE oid = 4242;
\c regression

-- onboarding can begin again after an offboarding
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_o1', ARRAY['db1']);

-- bad input
SELECT * FROM tenancy.offboard(NULL);
SELECT * FROM tenancy.offboard('regress_nobody_here');
SELECT * FROM tenancy.offboard('regress_o1', NULL);
BEGIN;
SELECT * FROM tenancy.offboard('regress_o1');
ROLLBACK;
