-- The extension: what CREATE EXTENSION makes, what it refuses to PUBLIC,
-- and that DROP EXTENSION leaves nothing behind.
\set VERBOSITY terse
CREATE EXTENSION aurora_tenancy;

SELECT c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'tenancy' ORDER BY 1;

SELECT evtname, evtevent FROM pg_event_trigger ORDER BY 1;

-- every function: EXECUTE revoked from PUBLIC (trigger functions aside)
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_can_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'tenancy' AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
ORDER BY 1;

-- every function of the extension, whatever its kind or language, runs with
-- a pinned search_path: one without it is listed here
SELECT p.oid::regprocedure AS function, p.proconfig
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid
JOIN pg_proc p ON p.oid = d.objid
WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass
  AND d.deptype = 'e' AND e.extname = 'aurora_tenancy'
  AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
ORDER BY p.oid::regprocedure::text COLLATE "C";
-- (which is not vacuous: it sees the extension's functions)
SELECT count(*) > 0 AS functions_checked
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass
  AND d.deptype = 'e' AND e.extname = 'aurora_tenancy';

-- the catalog is dumped with the database
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS t(oid)
JOIN pg_class c ON c.oid = t.oid
WHERE e.extname = 'aurora_tenancy' ORDER BY 1;

-- no PUBLIC access to the catalog
SELECT relname, has_table_privilege('public', c.oid, 'SELECT') AS public_can_read
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'tenancy' AND c.relkind = 'r' ORDER BY 1;

-- settings
SHOW tenancy.database_name_template;
SHOW tenancy.iam_role;
SET tenancy.database_name_template = '%t_x';
SET tenancy.database_name_template = 'db-%t-%d';
SET tenancy.database_name_template = '%t%x%d';
SET tenancy.database_name_template = '9%t_%d';
SET tenancy.database_name_template = 'app_%d_%t';
SHOW tenancy.database_name_template;
RESET tenancy.database_name_template;
SET tenancy.no_such_setting = 1;

-- DROP EXTENSION is clean
DROP EXTENSION aurora_tenancy;
SELECT count(*) AS leftovers FROM pg_namespace WHERE nspname = 'tenancy';
SELECT count(*) AS leftover_event_triggers FROM pg_event_trigger;

-- and it comes back
CREATE EXTENSION aurora_tenancy;
SELECT count(*) AS event_triggers FROM pg_event_trigger;

-- IAM auth needs a role standing in for Aurora's rds_iam in these tests
CREATE ROLE rds_iam NOLOGIN;
