/* aurora_tenancy--1.0--1.1.sql: hardening (issue 7) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION aurora_tenancy UPDATE TO '1.1'" to load this file. \quit

-- === the registry: retained databases are history, not the tenant's ===

-- A database kept at offboarding stays listed, as retained, but no longer
-- holds its tenant's short name or its database name: a tenant onboarded
-- again under the same name registers its new databases as active.
ALTER TABLE tenancy.tenant_databases DROP CONSTRAINT tenant_databases_pkey;
ALTER TABLE tenancy.tenant_databases DROP CONSTRAINT tenant_databases_database_name_key;
CREATE UNIQUE INDEX tenant_databases_active_short_name
	ON tenancy.tenant_databases (tenant, short_name) WHERE state = 'active';
CREATE UNIQUE INDEX tenant_databases_active_database_name
	ON tenancy.tenant_databases (database_name) WHERE state = 'active';

-- (end of registry section)



-- === DROP EXTENSION and friends refused while tenants exist ===

CREATE FUNCTION tenancy.on_ddl_command_start() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'tenancy_on_ddl_command_start' LANGUAGE C;
COMMENT ON FUNCTION tenancy.on_ddl_command_start() IS
	'Event trigger: refuses DROP EXTENSION aurora_tenancy, DROP SCHEMA tenancy and DROP OWNED BY the extension owner while tenants exist (unless tenancy.allow_drop_extension is on).';
CREATE EVENT TRIGGER tenancy_ddl_command_start ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION tenancy.on_ddl_command_start();

-- (end of drop guard section)



-- === check(tenant, deep) ===


-- (end of check section)



-- === a pinned search_path for every function ===

-- 1.0 pinned the functions callers call; these ran with the session's
-- search_path, so an unqualified name inside them could resolve to an object
-- someone else created.  test/sql/01_extension.sql checks that every
-- function of the extension is pinned.
ALTER FUNCTION tenancy.refuse_audit_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tenancy.on_ddl_command_end() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tenancy.on_sql_drop() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tenancy.on_ddl_command_start() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tenancy.iam_auth_token(text, integer, text, text) SET search_path = pg_catalog, pg_temp;

-- (end of search_path section)



-- === the audit chain: tamper evidence ===


-- (end of audit chain section)
