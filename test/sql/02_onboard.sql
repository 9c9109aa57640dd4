-- tenancy.onboard(): what one call creates, checked in the catalogs.
\set VERBOSITY terse

SELECT tenant, role, databases, password IS NULL AS no_password, changes
FROM tenancy.onboard('regress_t1', ARRAY['db1', 'db2']);

-- the role: login, none of the dangerous attributes, a SCRAM verifier, marked
SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication,
       rolbypassrls, rolpassword LIKE 'SCRAM-SHA-256_4096:%' AS scram
FROM pg_authid WHERE rolname = 'regress_t1';
SELECT provider, label FROM pg_shseclabel
WHERE objoid = 'regress_t1'::regrole AND classoid = 'pg_authid'::regclass;

-- member of rds_iam (IAM auth is the default); nobody is a member of the tenant
SELECT r.rolname AS role, m.rolname AS member
FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
WHERE 'regress_t1' IN (r.rolname, m.rolname) ORDER BY 1, 2;

-- the databases: owned by the admin, marked, PUBLIC revoked, tenant granted
SELECT d.datname, pg_get_userbyid(d.datdba) AS owner, d.datacl, l.label
FROM pg_database d
LEFT JOIN pg_shseclabel l ON l.objoid = d.oid AND l.classoid = 'pg_database'::regclass
WHERE d.datname LIKE 'regress_t1%' ORDER BY 1;
SELECT has_database_privilege('public', 'regress_t1_db1', 'CONNECT') AS public_connect,
       has_database_privilege('public', 'regress_t1_db1', 'TEMPORARY') AS public_temp,
       has_database_privilege('regress_t1', 'regress_t1_db1', 'CONNECT, TEMPORARY, CREATE') AS tenant_all;

-- the catalog
SELECT name, state, iam_auth, allowed_ips, deletion_protection FROM tenancy.tenants;
SELECT tenant, short_name, database_name, state FROM tenancy.tenant_databases ORDER BY 2;

-- inside each database: schema public closed to PUBLIC, open to the tenant
\c regress_t1_db1
SELECT nspname, nspacl FROM pg_namespace WHERE nspname = 'public';
\c regress_t1_db2
SELECT nspname, nspacl FROM pg_namespace WHERE nspname = 'public';
\c regression

-- password login: the password is returned once, at least 32 characters
SELECT tenant, databases, password ~ '^[A-Za-z0-9]{32,}$' AS password_shape, changes
FROM tenancy.onboard(tenant => 'regress_t2', databases => ARRAY['db1'],
                     allowed_ips => '{109.241.200.168/32}', iam_auth => false);
SELECT name, iam_auth, allowed_ips FROM tenancy.tenants WHERE name = 'regress_t2';
SELECT count(*) AS iam_memberships FROM pg_auth_members
WHERE member = 'regress_t2'::regrole;

-- the template names the databases; a name is never truncated
SET tenancy.database_name_template = 'tn_%d_%t';
SELECT databases FROM tenancy.onboard('regress_t3', ARRAY['main'], iam_auth => false);
RESET tenancy.database_name_template;
SELECT database_name FROM tenancy.tenant_databases WHERE tenant = 'regress_t3';

-- the admin is never made a member of a tenant role
SELECT count(*) AS admin_memberships FROM pg_auth_members
WHERE roleid IN ('regress_t1'::regrole, 'regress_t2'::regrole, 'regress_t3'::regrole);
