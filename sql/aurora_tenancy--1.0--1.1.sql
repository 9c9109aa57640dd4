/* aurora_tenancy--1.0--1.1.sql: hardening, tamper evidence and check(tenant, deep) */

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

-- === DROP EXTENSION and friends refused while tenants exist ===

CREATE FUNCTION tenancy.on_ddl_command_start() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'tenancy_on_ddl_command_start' LANGUAGE C;
COMMENT ON FUNCTION tenancy.on_ddl_command_start() IS
	'Event trigger: refuses DROP EXTENSION aurora_tenancy, DROP SCHEMA tenancy and DROP OWNED BY the extension owner while tenants exist (unless tenancy.allow_drop_extension is on).';
CREATE EVENT TRIGGER tenancy_ddl_command_start ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION tenancy.on_ddl_command_start();

-- === check(tenant, deep) ===

-- deep => false reads only the cluster-wide catalogs and the registry; the
-- old one-argument function goes, or every call would be ambiguous.
DROP FUNCTION tenancy.check(text);
CREATE FUNCTION tenancy.check(tenant text DEFAULT NULL, deep boolean DEFAULT true)
RETURNS TABLE (tenant text, object_type text, object_name text, problem text, fix text)
AS 'MODULE_PATHNAME', 'tenancy_check' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.check(text, boolean) IS
	'Compares the registry with the cluster; each row is a problem and the statements repair() would run for it. With deep => false, nothing inside tenant databases is looked at, and no worker is started.';
REVOKE EXECUTE ON FUNCTION tenancy.check(text, boolean) FROM PUBLIC;

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

-- Every row the extension writes carries the SHA-256 of its canonical form
-- and of the row before it (src/audit_chain.c), so a row changed, deleted,
-- reordered or inserted by hand breaks the chain.
ALTER TABLE tenancy.audit_log
	ADD COLUMN prev_hash bytea,
	ADD COLUMN row_hash bytea;
COMMENT ON COLUMN tenancy.audit_log.prev_hash IS
	'row_hash of the row before this one in the chain; NULL for the first.';
COMMENT ON COLUMN tenancy.audit_log.row_hash IS
	'SHA-256 of the row''s canonical form, prev_hash included; NULL for a row aurora_tenancy did not write.';

CREATE FUNCTION tenancy.audit_row_hash(tenancy.audit_log) RETURNS bytea
AS 'MODULE_PATHNAME', 'tenancy_audit_row_hash'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION tenancy.audit_row_hash(tenancy.audit_log) IS
	'The row_hash an audit row must carry, given its prev_hash: SHA-256 of its canonical form.';
REVOKE EXECUTE ON FUNCTION tenancy.audit_row_hash(tenancy.audit_log) FROM PUBLIC;

-- Links the rows the extension writes, under an advisory lock so the chain
-- is one line; leaves any other row (by hand, a restore's COPY) as given.
-- ENABLE ALWAYS: chained under session_replication_role = replica too.
CREATE FUNCTION tenancy.chain_audit_row() RETURNS trigger
AS 'MODULE_PATHNAME', 'tenancy_chain_audit_row' LANGUAGE C
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION tenancy.chain_audit_row() IS
	'Trigger function that gives each audit row aurora_tenancy writes its id, prev_hash and row_hash.';
CREATE TRIGGER audit_log_chain
	BEFORE INSERT ON tenancy.audit_log
	FOR EACH ROW EXECUTE FUNCTION tenancy.chain_audit_row();
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_chain;

-- Rows written before 1.1 are chained now, in (id, at) order, the order
-- verification walks; the append-only guard steps aside for this only.
ALTER TABLE tenancy.audit_log DISABLE TRIGGER audit_log_append_only;
DO $$
DECLARE
	r			record;
	entry		tenancy.audit_log;
	prev		bytea;
BEGIN
	FOR r IN SELECT a.ctid AS tid, a AS entry FROM tenancy.audit_log a ORDER BY a.id, a.at
	LOOP
		entry := r.entry;
		entry.prev_hash := prev;
		prev := tenancy.audit_row_hash(entry);
		UPDATE tenancy.audit_log SET prev_hash = entry.prev_hash, row_hash = prev
		WHERE ctid = r.tid;
	END LOOP;
END
$$;
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;

CREATE FUNCTION tenancy.verify_audit_log(head text DEFAULT NULL)
RETURNS TABLE (id bigint, problem text)
AS 'MODULE_PATHNAME', 'tenancy_verify_audit_log' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.verify_audit_log(text) IS
	'Checks the audit log''s hash chain, and a head kept from the server log (''<id>:<hash>''); one row per problem, none while intact.';
REVOKE EXECUTE ON FUNCTION tenancy.verify_audit_log(text) FROM PUBLIC;

