-- check() over many tenants reads their snapshots together and dry-runs
-- their plans together: it says exactly what check(tenant) says of each,
-- also when drift crosses tenants (one tenant's marker on another's database).
\set VERBOSITY terse
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_m1', ARRAY['db1'], iam_auth => false);
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_m2', ARRAY['db1', 'db2'], iam_auth => false);
SELECT changes > 0 AS onboarded FROM tenancy.onboard('regress_m3', ARRAY['db1'], iam_auth => false);

-- drift, made by hand
-- (the object guard refuses such statements on tenants: this drift is a
-- superuser's edit of the catalogs, which no guard can stop)
UPDATE pg_authid SET rolcreatedb = true WHERE rolname = 'regress_m1';
UPDATE pg_database SET datacl = array_append(datacl, makeaclitem('regress_m2'::regrole, datdba, 'CONNECT', false))
WHERE datname = 'regress_m3_db1';
UPDATE pg_shseclabel SET label = 'tenant=regress_m1'
WHERE objoid = (SELECT oid FROM pg_database WHERE datname = 'regress_m2_db2') AND provider = 'aurora_tenancy';
CREATE ROLE regress_m_member;
INSERT INTO pg_auth_members (roleid, member, grantor, admin_option)
VALUES ('regress_m3'::regrole, 'regress_m_member'::regrole, 'postgres'::regrole, false);
\c regress_m3_db1
GRANT USAGE ON SCHEMA public TO PUBLIC;
\c regression

CREATE TEMP TABLE one_by_one AS
SELECT * FROM tenancy.check('regress_m1', deep => false)
UNION ALL SELECT * FROM tenancy.check('regress_m2', deep => false)
UNION ALL SELECT * FROM tenancy.check('regress_m3', deep => false);
CREATE TEMP TABLE together AS
SELECT * FROM tenancy.check(deep => false) WHERE tenant IN ('regress_m1', 'regress_m2', 'regress_m3');
SELECT * FROM together ORDER BY tenant, object_type, object_name, problem;
-- the same rows, either way
(SELECT * FROM one_by_one EXCEPT ALL SELECT * FROM together)
UNION ALL (SELECT * FROM together EXCEPT ALL SELECT * FROM one_by_one);

-- and deep, looking inside the databases
CREATE TEMP TABLE deep_one_by_one AS
SELECT * FROM tenancy.check('regress_m1')
UNION ALL SELECT * FROM tenancy.check('regress_m2')
UNION ALL SELECT * FROM tenancy.check('regress_m3');
CREATE TEMP TABLE deep_together AS
SELECT * FROM tenancy.check() WHERE tenant IN ('regress_m1', 'regress_m2', 'regress_m3');
SELECT object_name, problem FROM deep_together EXCEPT SELECT object_name, problem FROM together;
(SELECT * FROM deep_one_by_one EXCEPT ALL SELECT * FROM deep_together)
UNION ALL (SELECT * FROM deep_together EXCEPT ALL SELECT * FROM deep_one_by_one);

-- put back: the marker by hand (repair() would only remove it), the rest by repair()
UPDATE pg_shseclabel SET label = 'tenant=regress_m2'
WHERE objoid = (SELECT oid FROM pg_database WHERE datname = 'regress_m2_db2') AND provider = 'aurora_tenancy';
SELECT tenancy.repair('regress_m1') > 0 AS repaired;
SELECT tenancy.repair('regress_m2') > 0 AS repaired;
SELECT tenancy.repair('regress_m3') > 0 AS repaired;
SELECT * FROM tenancy.check() WHERE tenant IN ('regress_m1', 'regress_m2', 'regress_m3');
DROP ROLE regress_m_member;

SELECT tenancy.set_deletion_protection(t, false) FROM unnest(ARRAY['regress_m1', 'regress_m2', 'regress_m3']) t;
SELECT tenant, dropped_databases FROM tenancy.offboard('regress_m1');
SELECT tenant, dropped_databases FROM tenancy.offboard('regress_m2');
SELECT tenant, dropped_databases FROM tenancy.offboard('regress_m3');
