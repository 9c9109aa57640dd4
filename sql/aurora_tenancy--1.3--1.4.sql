/* aurora_tenancy--1.3--1.4.sql: guards in the server */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION aurora_tenancy UPDATE TO '1.4'" to load this file. \quit

-- A statement the object guard refused is recorded with phase 'refused'
-- (by a worker in tenancy.control_database: the refused transaction rolls
-- back, and may run in any database).
ALTER TABLE tenancy.audit_log
	DROP CONSTRAINT audit_log_phase_check,
	ADD CONSTRAINT audit_log_phase_check
		CHECK (phase IN ('intent', 'done', 'failed', 'unknown', 'ddl', 'refused'));

-- Logins the login guard refused since the server started, per tenant.
CREATE FUNCTION tenancy.login_refusals_since_start()
RETURNS TABLE (tenant text, refused_address bigint, refused_database bigint,
			   last_refused_at timestamptz, last_client_addr text)
AS 'MODULE_PATHNAME', 'tenancy_login_refusals' LANGUAGE C
SET search_path = pg_catalog, pg_temp STRICT VOLATILE;
REVOKE EXECUTE ON FUNCTION tenancy.login_refusals_since_start() FROM PUBLIC;

CREATE VIEW tenancy.login_refusals AS
SELECT * FROM tenancy.login_refusals_since_start();
COMMENT ON VIEW tenancy.login_refusals IS
	'Logins the login guard refused since the server started, per tenant: from an address outside its allowed IPs (or a Unix-domain socket), or into a database not its own.';
