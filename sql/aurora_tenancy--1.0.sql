/* aurora_tenancy--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION aurora_tenancy" to load this file. \quit

-- The schema is a member of the extension, so DROP EXTENSION removes it too.
CREATE SCHEMA tenancy;
COMMENT ON SCHEMA tenancy IS 'aurora_tenancy: tenants, their databases, the audit log and the functions that manage them.';

-- === catalog ===

CREATE TABLE tenancy.registry (
	name				text PRIMARY KEY,
	state				text NOT NULL DEFAULT 'onboarding'
		CHECK (state IN ('onboarding', 'active', 'suspended', 'offboarding')),
	iam_auth			boolean NOT NULL,
	allowed_ips			cidr[],
	connection_limit	integer NOT NULL DEFAULT -1 CHECK (connection_limit >= -1),
	deletion_protection boolean NOT NULL DEFAULT true,
	login_before_suspend boolean,
	created_at			timestamptz NOT NULL DEFAULT now(),
	updated_at			timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenancy.registry IS
	'One row per tenant: the desired state the extension keeps the cluster in.';

-- No foreign key to the registry: a database kept when its tenant is
-- offboarded stays here, as retained, after the tenant is gone.
CREATE TABLE tenancy.tenant_databases (
	tenant				text NOT NULL,
	short_name			text NOT NULL,
	database_name		name NOT NULL UNIQUE,
	state				text NOT NULL DEFAULT 'active'
		CHECK (state IN ('active', 'retained')),
	created_at			timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, short_name)
);
COMMENT ON TABLE tenancy.tenant_databases IS
	'The databases of each tenant: the short name the caller gave, the actual database name, and whether it is retained after offboarding.';

CREATE VIEW tenancy.tenants AS
SELECT r.name, r.state, COALESCE(d.databases, '{}') AS databases, r.iam_auth,
	   r.allowed_ips, r.connection_limit, r.deletion_protection, r.created_at, r.updated_at
FROM tenancy.registry r
LEFT JOIN LATERAL (SELECT array_agg(t.database_name::text ORDER BY t.short_name) AS databases
				   FROM tenancy.tenant_databases t
				   WHERE t.tenant = r.name AND t.state = 'active') d ON true;
COMMENT ON VIEW tenancy.tenants IS
	'One row per tenant: state, databases, IAM auth, allowed IPs, connection limit, deletion protection, created and updated times.';

-- id orders the rows but is deliberately not unique: restoring a dump
-- replays DDL (recorded by the event trigger) before the dumped rows are
-- loaded, and both must be kept.
CREATE TABLE tenancy.audit_log (
	id					bigserial NOT NULL,
	at					timestamptz NOT NULL DEFAULT clock_timestamp(),
	operation_id		uuid,
	operation			text NOT NULL,
	tenant				text,
	step				text NOT NULL,
	phase				text NOT NULL CHECK (phase IN ('intent', 'done', 'failed', 'unknown', 'ddl')),
	object_type			text,
	object_name			text,
	database			name,
	statement			text,
	sqlstate			text,
	message				text,
	session_user_name	name NOT NULL,
	current_user_name	name NOT NULL,
	client_addr			inet,
	application_name	text,
	backend_pid			integer NOT NULL,
	transaction_id		xid8
);
COMMENT ON TABLE tenancy.audit_log IS
	'Append-only record of every change the extension made and of DDL in this database.';
CREATE INDEX audit_log_id_idx ON tenancy.audit_log (id);
CREATE INDEX audit_log_tenant_idx ON tenancy.audit_log (tenant, id);

SELECT pg_catalog.pg_extension_config_dump('tenancy.registry', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.tenant_databases', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.audit_log_id_seq', '');

-- Only the extension writes the catalog (as its owner, from C); callers read it.
REVOKE ALL ON tenancy.registry, tenancy.tenant_databases, tenancy.tenants, tenancy.audit_log FROM PUBLIC;

-- The audit log is append-only, for its owner too; ENABLE ALWAYS keeps the
-- guard on under session_replication_role = replica.
CREATE FUNCTION tenancy.refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit log is append-only'
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = format('%s on tenancy.audit_log is refused for every role.', TG_OP);
END
$$;
COMMENT ON FUNCTION tenancy.refuse_audit_change() IS
	'Trigger function that refuses UPDATE, DELETE and TRUNCATE on tenancy.audit_log.';
CREATE TRIGGER audit_log_append_only
	BEFORE UPDATE OR DELETE ON tenancy.audit_log
	FOR EACH ROW EXECUTE FUNCTION tenancy.refuse_audit_change();
CREATE TRIGGER audit_log_no_truncate
	BEFORE TRUNCATE ON tenancy.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION tenancy.refuse_audit_change();
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE tenancy.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

-- === event trigger: audit DDL, guard the catalog ===

CREATE FUNCTION tenancy.on_ddl_command_end() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'tenancy_on_ddl_command_end' LANGUAGE C;
COMMENT ON FUNCTION tenancy.on_ddl_command_end() IS
	'Event trigger: records DDL in the audit log and refuses changes to the tenancy schema outside extension scripts.';
CREATE FUNCTION tenancy.on_sql_drop() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'tenancy_on_sql_drop' LANGUAGE C;
COMMENT ON FUNCTION tenancy.on_sql_drop() IS
	'Event trigger: records drops in the audit log and refuses drops in the tenancy schema outside extension scripts.';

CREATE EVENT TRIGGER tenancy_ddl_command_end ON ddl_command_end
	EXECUTE FUNCTION tenancy.on_ddl_command_end();
CREATE EVENT TRIGGER tenancy_sql_drop ON sql_drop
	EXECUTE FUNCTION tenancy.on_sql_drop();

-- === onboarding ===

CREATE FUNCTION tenancy.onboard(tenant text, databases text[],
								allowed_ips cidr[] DEFAULT NULL,
								iam_auth boolean DEFAULT true)
RETURNS TABLE (tenant text, role name, databases text[], password text, changes integer)
AS 'MODULE_PATHNAME', 'tenancy_onboard' LANGUAGE C
SET search_path = pg_catalog, pg_temp CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean) IS
	'Creates or completes a tenant: its login role, its databases, their privileges and IAM auth; audited step by step.';
REVOKE EXECUTE ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean) FROM PUBLIC;

-- === the tenant's life after onboarding (lifecycle.c) ===

CREATE FUNCTION tenancy.set_deletion_protection(tenant text, enabled boolean)
RETURNS void AS 'MODULE_PATHNAME', 'tenancy_set_deletion_protection' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.set_deletion_protection(text, boolean) IS
	'Turns a tenant''s deletion protection on or off; a protected tenant cannot be offboarded or lose a database.';

CREATE FUNCTION tenancy.offboard(tenant text, keep_databases boolean DEFAULT false)
RETURNS TABLE (tenant text, dropped_databases text[], kept_databases text[], changes integer)
AS 'MODULE_PATHNAME', 'tenancy_offboard' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.offboard(text, boolean) IS
	'Removes a tenant: ends its sessions, drops (or retains) its databases, releases what it owns, drops its role; audited step by step.';

CREATE FUNCTION tenancy.suspend(tenant text)
RETURNS void AS 'MODULE_PATHNAME', 'tenancy_suspend' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.suspend(text) IS
	'Suspends a tenant: its role can no longer log in and its open sessions are terminated.';

CREATE FUNCTION tenancy.resume(tenant text)
RETURNS void AS 'MODULE_PATHNAME', 'tenancy_resume' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.resume(text) IS
	'Resumes a suspended tenant, restoring its login exactly as it was.';

CREATE FUNCTION tenancy.add_database(tenant text, database text)
RETURNS text AS 'MODULE_PATHNAME', 'tenancy_add_database' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.add_database(text, text) IS
	'Adds a database to a tenant, as onboard() would; returns its actual name.';

CREATE FUNCTION tenancy.remove_database(tenant text, database text)
RETURNS void AS 'MODULE_PATHNAME', 'tenancy_remove_database' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.remove_database(text, text) IS
	'Drops one of a tenant''s databases (not its last; refused while the tenant is protected).';

CREATE FUNCTION tenancy.rotate_password(tenant text)
RETURNS text AS 'MODULE_PATHNAME', 'tenancy_rotate_password' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.rotate_password(text) IS
	'Gives a tenant a new random password, returned once (NULL for an IAM-auth tenant).';

CREATE FUNCTION tenancy.set_iam_auth(tenant text, enabled boolean)
RETURNS text AS 'MODULE_PATHNAME', 'tenancy_set_iam_auth' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.set_iam_auth(text, boolean) IS
	'Switches a tenant between IAM auth and password login; switching to a password returns it once.';

CREATE FUNCTION tenancy.set_allowed_ips(tenant text, allowed_ips cidr[])
RETURNS void AS 'MODULE_PATHNAME', 'tenancy_set_allowed_ips' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.set_allowed_ips(text, cidr[]) IS
	'Sets the addresses a tenant may connect from (NULL: any).';

CREATE FUNCTION tenancy.set_connection_limit(tenant text, connection_limit integer)
RETURNS void AS 'MODULE_PATHNAME', 'tenancy_set_connection_limit' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.set_connection_limit(text, integer) IS
	'Sets the connection limit of a tenant''s role (-1: none).';

-- === check and repair (repair.c) ===

CREATE FUNCTION tenancy.check(tenant text DEFAULT NULL)
RETURNS TABLE (tenant text, object_type text, object_name text, problem text, fix text)
AS 'MODULE_PATHNAME', 'tenancy_check' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.check(text) IS
	'Compares the registry with the cluster; each row is a problem and the statements repair() would run for it.';

CREATE FUNCTION tenancy.repair(tenant text DEFAULT NULL)
RETURNS integer AS 'MODULE_PATHNAME', 'tenancy_repair' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.repair(text) IS
	'Executes what check() shows, audited; returns the number of steps.';

REVOKE EXECUTE ON FUNCTION
	tenancy.set_deletion_protection(text, boolean),
	tenancy.offboard(text, boolean),
	tenancy.suspend(text),
	tenancy.resume(text),
	tenancy.add_database(text, text),
	tenancy.remove_database(text, text),
	tenancy.rotate_password(text),
	tenancy.set_iam_auth(text, boolean),
	tenancy.set_allowed_ips(text, cidr[]),
	tenancy.set_connection_limit(text, integer),
	tenancy.check(text),
	tenancy.repair(text)
FROM PUBLIC;

-- === AWS: SigV4 and IAM auth tokens (iam_token.c) ===

-- Not STRICT: a NULL argument is an error that names it, not a NULL token.
CREATE FUNCTION tenancy.iam_auth_token(host text, port integer, username text,
									   region text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'iam_auth_token'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION tenancy.iam_auth_token(text, integer, text, text) IS
	'RDS IAM authentication token (what aws rds generate-db-auth-token prints) for username at host:port, valid 15 minutes; region defaults to tenancy.aws_region.';
REVOKE EXECUTE ON FUNCTION tenancy.iam_auth_token(text, integer, text, text) FROM PUBLIC;
-- === end AWS ===
