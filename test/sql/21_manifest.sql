-- The clients manifest: plan shows what apply does, apply does it through
-- the single-tenant functions, export_manifest gives back a manifest whose
-- plan is empty; every error names the JSON path and changes nothing.
\set VERBOSITY terse
\set m1 '{"clients": [{"name": "regress_mf1", "databases": {"db1": true, "db2": true}, "allowed_ips": ["198.51.100.7/32", "203.0.113.0/24"], "rds_iam_auth": false, "deletion_protection": false}, {"name": "regress_mf2", "databases": {"db1": true}, "rds_iam_auth": false, "connection_limit": 5}]}'

SELECT * FROM tenancy.plan(:'m1');
SELECT tenant, action, changes, password IS NOT NULL AS has_password FROM tenancy.apply(:'m1');
SELECT name, state, databases, allowed_ips, iam_auth, connection_limit, deletion_protection
FROM tenancy.tenants WHERE name LIKE 'regress_mf%' ORDER BY name;
-- one apply id; one operation per tenant, whatever functions it took
SELECT tenant, count(DISTINCT apply_id) AS applies, count(DISTINCT operation_id) AS operations,
	   string_agg(DISTINCT operation, ', ' ORDER BY operation) AS functions
FROM tenancy.audit_log WHERE tenant LIKE 'regress_mf%' GROUP BY tenant ORDER BY tenant;
SELECT count(DISTINCT apply_id) FROM tenancy.audit_log WHERE tenant LIKE 'regress_mf%';
-- applied: nothing left to do, whatever order keys, arrays and CIDRs are written in
SELECT count(*) FROM tenancy.plan(:'m1');
SELECT count(*) FROM tenancy.plan('{"clients": [{"allowed_ips": ["203.0.113.0/24", "198.51.100.7/32", "203.0.113.0/24"], "rds_iam_auth": false, "databases": {"db2": true, "db1": true}, "name": "regress_mf1"}]}');
SELECT count(*) FROM tenancy.apply(:'m1');

-- export: today's tenants as a manifest, whose plan is empty
SELECT jsonb_pretty(jsonb_build_object('clients', (SELECT jsonb_agg(c) FROM jsonb_array_elements(tenancy.export_manifest() -> 'clients') c WHERE c ->> 'name' LIKE 'regress_mf%')));
SELECT count(*) FROM tenancy.plan(tenancy.export_manifest());

-- clients change: a database added, one removed, IPs, the limit, suspended; IAM auth
\set m2 '{"clients": [{"name": "regress_mf1", "databases": {"db1": true, "db2": false, "db3": true}, "allowed_ips": ["192.0.2.0/24"], "connection_limit": 3, "suspended": true}, {"name": "regress_mf2", "databases": {"db1": true}, "rds_iam_auth": true}]}'
SELECT * FROM tenancy.plan(:'m2');
SELECT tenant, action FROM tenancy.apply(:'m2');
SELECT name, state, databases, allowed_ips, connection_limit, iam_auth FROM tenancy.tenants WHERE name LIKE 'regress_mf%' ORDER BY name;
SELECT pg_has_role('regress_mf2', 'rds_iam', 'MEMBER') AS mf2_uses_iam;
SELECT datname FROM pg_database WHERE datname LIKE 'regress_mf1%' ORDER BY 1;
SELECT count(*) FROM tenancy.plan(:'m2');

-- deletion protection blocks a removal: shown by plan, refused by apply before anything runs
\set m3 '{"clients": [{"name": "regress_mf2", "databases": {"db1": true, "db9": true}}, {"name": "regress_mf1", "databases": {"db1": false, "db3": true}, "deletion_protection": true}]}'
SELECT tenancy.set_deletion_protection('regress_mf1', true);
SELECT * FROM tenancy.plan(:'m3');
\set VERBOSITY default
SELECT * FROM tenancy.apply(:'m3');
\set VERBOSITY terse
SELECT databases FROM tenancy.tenants WHERE name = 'regress_mf2';

-- offboard_missing: listed in the plan (protected ones blocked)
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf1", "databases": {"db1": true, "db3": true}}]}', offboard_missing => true)
WHERE tenant LIKE 'regress_mf%';

-- invalid manifests: the JSON path and what is expected there; nothing changes
\set VERBOSITY default
SELECT * FROM tenancy.plan('[]');
SELECT * FROM tenancy.plan('{"tenants": []}');
SELECT * FROM tenancy.plan('{"clients": {}}');
SELECT * FROM tenancy.plan('{"clients": [42]}');
SELECT * FROM tenancy.plan('{"clients": [{"databases": {"db1": true}}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"db1": true}, "colour": "blue"}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"db1": true}}, {"name": "regress_mf4", "databases": {"db1": "yes"}}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"db1": false}}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"Bad Name": true}}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "user", "databases": {"db1": true}}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"db1": true}, "allowed_ips": ["10.0.0.300/8"]}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"db1": true}, "allowed_ips": []}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"db1": true}, "rds_iam_auth": "true"}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"db1": true}, "connection_limit": -2}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"db1": true}}, {"name": "regress_mf3", "databases": {"db2": true}}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf3", "databases": {"x_db1": true}}, {"name": "regress_mf3_x", "databases": {"db1": true}}]}');
SELECT * FROM tenancy.plan('{"clients": [{"name": "regress_mf1", "databases": {"db1": true}, "cluster": "elsewhere"}]}');
SELECT * FROM tenancy.plan(NULL);
SELECT count(*) FROM tenancy.registry WHERE name IN ('regress_mf3', 'regress_mf4');
BEGIN;
SELECT * FROM tenancy.apply(:'m1');
ROLLBACK;

-- clean up
SELECT tenancy.set_deletion_protection('regress_mf1', false);
SELECT tenancy.set_deletion_protection('regress_mf2', false);
SELECT tenant FROM tenancy.offboard('regress_mf1');
SELECT tenant FROM tenancy.offboard('regress_mf2');
