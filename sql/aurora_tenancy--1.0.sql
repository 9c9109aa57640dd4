/* aurora_tenancy--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION aurora_tenancy" to load this file. \quit

-- The schema is a member of the extension, so DROP EXTENSION removes it too.
CREATE SCHEMA tenancy;
COMMENT ON SCHEMA tenancy IS 'aurora_tenancy: tenants, their databases, the audit log and the functions that manage them.';

-- === catalog ===

CREATE TABLE tenancy.tenants (
	name				text PRIMARY KEY,
	state				text NOT NULL DEFAULT 'onboarding'
		CHECK (state IN ('onboarding', 'active', 'suspended', 'offboarding')),
	iam_auth			boolean NOT NULL,
	allowed_ips			cidr[],
	deletion_protection boolean NOT NULL DEFAULT true,
	created_at			timestamptz NOT NULL DEFAULT now(),
	updated_at			timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenancy.tenants IS
	'One row per tenant: the desired state the extension keeps the cluster in.';

CREATE TABLE tenancy.tenant_databases (
	tenant				text NOT NULL REFERENCES tenancy.tenants (name),
	short_name			text NOT NULL,
	database_name		name NOT NULL UNIQUE,
	state				text NOT NULL DEFAULT 'active'
		CHECK (state IN ('active', 'retained')),
	created_at			timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant, short_name)
);
COMMENT ON TABLE tenancy.tenant_databases IS
	'The databases of each tenant: the short name the caller gave and the actual database name.';

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
	phase				text NOT NULL CHECK (phase IN ('intent', 'done', 'failed', 'ddl')),
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

SELECT pg_catalog.pg_extension_config_dump('tenancy.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.tenant_databases', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('tenancy.audit_log_id_seq', '');

-- Only the extension writes the catalog (as its owner, from C); callers read it.
REVOKE ALL ON tenancy.tenants, tenancy.tenant_databases, tenancy.audit_log FROM PUBLIC;

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
AS 'MODULE_PATHNAME', 'tenancy_onboard' LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean) IS
	'Creates or completes a tenant: its login role, its databases, their privileges and IAM auth; audited step by step.';
REVOKE EXECUTE ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean) FROM PUBLIC;

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
