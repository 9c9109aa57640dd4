/* aurora_tenancy--1.2--1.3.sql: the IAM side of each tenant */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION aurora_tenancy UPDATE TO '1.3'" to load this file. \quit

-- === this installation ===

-- Every IAM entity the extension makes is tagged with this id (and the
-- tenant, and the cluster's resource id): an entity without these tags is
-- never adopted, changed or deleted, even if it bears a tenant's name — it
-- may belong to another control database using the same AWS account.  A
-- restore adds the dumped id to the one CREATE EXTENSION made; the oldest
-- is the one used.
CREATE TABLE tenancy.installation (
	id					uuid NOT NULL,
	created_at			timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenancy.installation IS
	'The id of this control database, in the tag tenancy:installation of every IAM entity it makes (the oldest row).';
REVOKE ALL ON tenancy.installation FROM PUBLIC;
INSERT INTO tenancy.installation (id) VALUES (pg_catalog.gen_random_uuid());
SELECT pg_catalog.pg_extension_config_dump('tenancy.installation', '');

-- === what AWS said about each cluster, read once ===

CREATE TABLE tenancy.aws_clusters (
	cluster				text PRIMARY KEY,
	resource_id			text NOT NULL,
	account_id			text NOT NULL,
	identifier			text,
	recorded_at			timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenancy.aws_clusters IS
	'Per cluster with iam_provisioning: its DbClusterResourceId and AWS account, as options named them or RDS and STS answered.';
REVOKE ALL ON tenancy.aws_clusters FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('tenancy.aws_clusters', '');

-- === the tenant's IAM side ===

ALTER TABLE tenancy.registry
	ADD COLUMN iam_principal text,
	ADD COLUMN iam_external_id text,
	ADD COLUMN aws_access_key_id text;
COMMENT ON COLUMN tenancy.registry.iam_principal IS
	'iam_provisioning ''role'': the principal (an account or IAM ARN) trusted to assume the tenant''s IAM role.';
COMMENT ON COLUMN tenancy.registry.iam_external_id IS
	'The sts:ExternalId the tenant''s principal must give to assume its IAM role (against the confused deputy).';
COMMENT ON COLUMN tenancy.registry.aws_access_key_id IS
	'iam_provisioning ''user_and_role'': the access key made for the tenant''s IAM user (its id; the secret is never kept).';

CREATE OR REPLACE VIEW tenancy.tenants AS
SELECT r.name, r.state, COALESCE(d.databases, '{}') AS databases, r.iam_auth,
	   r.allowed_ips, r.connection_limit, r.deletion_protection, r.created_at, r.updated_at,
	   r.cluster, r.iam_principal, r.iam_external_id, r.aws_access_key_id
FROM tenancy.registry r
LEFT JOIN LATERAL (SELECT array_agg(t.database_name::text ORDER BY t.short_name) AS databases
				   FROM tenancy.tenant_databases t
				   WHERE t.tenant = r.name AND t.state = 'active') d ON true;

-- === onboard(..., iam_principal) returns the IAM role and key ===

DROP FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text);
CREATE FUNCTION tenancy.onboard(tenant text, databases text[],
								allowed_ips cidr[] DEFAULT NULL,
								iam_auth boolean DEFAULT true,
								cluster text DEFAULT NULL,
								iam_principal text DEFAULT NULL)
RETURNS TABLE (tenant text, role name, databases text[], password text, changes integer,
			   iam_role_arn text, aws_access_key_id text, aws_secret_access_key text)
AS 'MODULE_PATHNAME', 'tenancy_onboard' LANGUAGE C
SET search_path = pg_catalog, pg_temp CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text, text) IS
	'Creates or completes a tenant on a cluster: its login role, its databases, their privileges, IAM auth, and on clusters with iam_provisioning its IAM role (and user and access key, returned once); audited step by step.';
REVOKE EXECUTE ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text, text) FROM PUBLIC;

CREATE FUNCTION tenancy.rotate_access_key(tenant text)
RETURNS TABLE (aws_access_key_id text, aws_secret_access_key text)
AS 'MODULE_PATHNAME', 'tenancy_rotate_access_key' LANGUAGE C
SET search_path = pg_catalog, pg_temp VOLATILE;
COMMENT ON FUNCTION tenancy.rotate_access_key(text) IS
	'Gives a tenant''s IAM user a new access key (returned once), then deletes the old one.';
REVOKE EXECUTE ON FUNCTION tenancy.rotate_access_key(text) FROM PUBLIC;

-- === the clients manifest: plan, apply, export ===

CREATE FUNCTION tenancy.plan(manifest jsonb, offboard_missing boolean DEFAULT false)
RETURNS TABLE (tenant text, action text, object_type text, object_name text, detail text)
AS 'MODULE_PATHNAME', 'tenancy_plan' LANGUAGE C
SET search_path = pg_catalog, pg_temp CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION tenancy.plan(jsonb, boolean) IS
	'The operations tenancy.apply() would run to make the tenants match a clients manifest ({"clients": [...]}), in order; empty when they match.';
REVOKE EXECUTE ON FUNCTION tenancy.plan(jsonb, boolean) FROM PUBLIC;

CREATE FUNCTION tenancy.apply(manifest jsonb, offboard_missing boolean DEFAULT false)
RETURNS TABLE (tenant text, action text, changes integer, password text, iam_role_arn text,
			   aws_access_key_id text, aws_secret_access_key text)
AS 'MODULE_PATHNAME', 'tenancy_apply' LANGUAGE C
SET search_path = pg_catalog, pg_temp CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION tenancy.apply(jsonb, boolean) IS
	'Makes the tenants match a clients manifest through the single-tenant functions; secrets made are returned once.';
REVOKE EXECUTE ON FUNCTION tenancy.apply(jsonb, boolean) FROM PUBLIC;

-- Today's tenants as a manifest: tenancy.plan(tenancy.export_manifest()) is empty.
CREATE FUNCTION tenancy.export_manifest() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
SELECT jsonb_build_object('clients', COALESCE(jsonb_agg(c ORDER BY c ->> 'name'), '[]'::jsonb))
FROM (SELECT jsonb_strip_nulls(jsonb_build_object(
			'name', r.name,
			'databases', (SELECT jsonb_object_agg(d.short_name, true) FROM tenancy.tenant_databases d
						  WHERE d.tenant = r.name AND d.state = 'active'),
			'allowed_ips', to_jsonb(r.allowed_ips::text[]),
			'rds_iam_auth', r.iam_auth,
			'cluster', r.cluster,
			'iam_principal', r.iam_principal,
			'deletion_protection', r.deletion_protection,
			'connection_limit', r.connection_limit,
			'suspended', r.state = 'suspended')) AS c
	  FROM tenancy.registry r
	  WHERE r.state IN ('active', 'suspended')) s
$$;
COMMENT ON FUNCTION tenancy.export_manifest() IS
	'Today''s active and suspended tenants as a clients manifest, for tenancy.plan() and tenancy.apply().';
REVOKE EXECUTE ON FUNCTION tenancy.export_manifest() FROM PUBLIC;

-- An apply's operations: one operation id per tenant, one apply id for all.
ALTER TABLE tenancy.audit_log ADD COLUMN apply_id uuid;
COMMENT ON COLUMN tenancy.audit_log.apply_id IS
	'The tenancy.apply() a row''s operation was part of; NULL: a function called on its own.';
