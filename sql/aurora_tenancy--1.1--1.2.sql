/* aurora_tenancy--1.1--1.2.sql: remote target clusters over libpq */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION aurora_tenancy UPDATE TO '1.2'" to load this file. \quit

-- === target clusters: foreign servers of the wrapper aurora_tenancy ===

-- A target cluster is a foreign server, as for postgres_fdw and dblink: its
-- options are libpq's connection options plus the extension's own (auth,
-- aws_region, iam_users); a user mapping carries the remote admin (user,
-- password).  The wrapper has no handler: it makes no foreign tables.
CREATE FUNCTION tenancy.cluster_validator(text[], oid) RETURNS void
AS 'MODULE_PATHNAME', 'tenancy_cluster_validator' LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION tenancy.cluster_validator(text[], oid) IS
	'Validates the options of aurora_tenancy foreign servers (target clusters) and their user mappings.';
CREATE FOREIGN DATA WRAPPER aurora_tenancy VALIDATOR tenancy.cluster_validator;
COMMENT ON FOREIGN DATA WRAPPER aurora_tenancy IS
	'Target clusters that aurora_tenancy manages over libpq; CREATE SERVER ... FOREIGN DATA WRAPPER aurora_tenancy.';

-- The cluster a tenant lives on: a server of the wrapper, by name (names
-- survive pg_dump, OIDs do not); NULL is the local cluster.
ALTER TABLE tenancy.registry ADD COLUMN cluster text;
COMMENT ON COLUMN tenancy.registry.cluster IS
	'The foreign server (wrapper aurora_tenancy) of the target cluster the tenant lives on; NULL: this cluster.';

CREATE OR REPLACE VIEW tenancy.tenants AS
SELECT r.name, r.state, COALESCE(d.databases, '{}') AS databases, r.iam_auth,
	   r.allowed_ips, r.connection_limit, r.deletion_protection, r.created_at, r.updated_at,
	   r.cluster
FROM tenancy.registry r
LEFT JOIN LATERAL (SELECT array_agg(t.database_name::text ORDER BY t.short_name) AS databases
				   FROM tenancy.tenant_databases t
				   WHERE t.tenant = r.name AND t.state = 'active') d ON true;

CREATE VIEW tenancy.clusters AS
SELECT c.cluster, c.host, c.port, count(r.name) AS tenants,
	   COALESCE(sum(d.n), 0)::bigint AS databases
FROM (SELECT NULL::text AS cluster, NULL::text AS host, NULL::text AS port
	  UNION ALL
	  SELECT s.srvname::text,
			 (SELECT substr(o, 6) FROM unnest(s.srvoptions) o WHERE o LIKE 'host=%'),
			 (SELECT substr(o, 6) FROM unnest(s.srvoptions) o WHERE o LIKE 'port=%')
	  FROM pg_catalog.pg_foreign_server s
	  JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
	  WHERE w.fdwname = 'aurora_tenancy') c
LEFT JOIN tenancy.registry r ON r.cluster IS NOT DISTINCT FROM c.cluster
LEFT JOIN LATERAL (SELECT count(*) AS n FROM tenancy.tenant_databases t
				   WHERE t.tenant = r.name AND t.state = 'active') d ON true
GROUP BY c.cluster, c.host, c.port;
COMMENT ON VIEW tenancy.clusters IS
	'Each cluster tenants may live on (NULL: this one) with its tenant and database counts.';
REVOKE ALL ON tenancy.clusters FROM PUBLIC;

-- === markers where no label provider exists ===

-- On a target cluster a marker is a comment on the role or database holding
-- an HMAC, under this key, of what it marks: nobody without the key can
-- forge one, and a comment survives pg_dump/pg_dumpall of the target.  The
-- key is made on first use, readable by the extension's owner only, and
-- dumped with the extension's data.
CREATE TABLE tenancy.marker_key (
	key					bytea NOT NULL CHECK (length(key) = 32),
	created_at			timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenancy.marker_key IS
	'The secret that signs the markers on target clusters: the oldest key signs, any verifies (a restore adds the dumped key to the one CREATE EXTENSION made). Losing it makes every remote tenant unrecognisable.';
REVOKE ALL ON tenancy.marker_key FROM PUBLIC;
-- gen_random_uuid() draws from pg_strong_random(): 2 x 122 random bits
INSERT INTO tenancy.marker_key (key)
SELECT pg_catalog.decode(pg_catalog.substr(pg_catalog.replace(
		pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 1, 64), 'hex');
SELECT pg_catalog.pg_extension_config_dump('tenancy.marker_key', '');

-- === the audit log: which cluster, as which remote user ===

ALTER TABLE tenancy.audit_log
	ADD COLUMN cluster text,
	ADD COLUMN cluster_user name;
COMMENT ON COLUMN tenancy.audit_log.cluster IS
	'The target cluster a step ran on (a foreign server); NULL: this cluster.';
COMMENT ON COLUMN tenancy.audit_log.cluster_user IS
	'The role the step ran as on the target cluster (the user mapping''s user).';

-- === onboard(..., cluster) ===

DROP FUNCTION tenancy.onboard(text, text[], cidr[], boolean);
CREATE FUNCTION tenancy.onboard(tenant text, databases text[],
								allowed_ips cidr[] DEFAULT NULL,
								iam_auth boolean DEFAULT true,
								cluster text DEFAULT NULL)
RETURNS TABLE (tenant text, role name, databases text[], password text, changes integer)
AS 'MODULE_PATHNAME', 'tenancy_onboard' LANGUAGE C
SET search_path = pg_catalog, pg_temp CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text) IS
	'Creates or completes a tenant on a cluster (NULL: tenancy.default_cluster; empty: this one): its login role, its databases, their privileges and IAM auth; audited step by step.';
REVOKE EXECUTE ON FUNCTION tenancy.onboard(text, text[], cidr[], boolean, text) FROM PUBLIC;

-- === a cluster's server stays while tenants live there; the key stays private ===

-- The registry names each tenant's cluster by its server: DROP SERVER and
-- ALTER SERVER ... RENAME TO are refused while tenants live on it.  And no
-- GRANT reaches tenancy.marker_key.
DROP EVENT TRIGGER tenancy_ddl_command_start;
CREATE EVENT TRIGGER tenancy_ddl_command_start ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED', 'DROP SERVER', 'ALTER SERVER', 'GRANT')
	EXECUTE FUNCTION tenancy.on_ddl_command_start();

-- === marker nonces ===

-- A remote marker also signs a random nonce kept here while its object is
-- registered: a marker copied from a role or database that is gone (an
-- offboarded tenant, a removed database) marks nothing that takes its name.
ALTER TABLE tenancy.registry ADD COLUMN marker_nonce text;
ALTER TABLE tenancy.tenant_databases ADD COLUMN marker_nonce text;
COMMENT ON COLUMN tenancy.registry.marker_nonce IS
	'On a target cluster: the nonce the tenant role''s marker signs.';
COMMENT ON COLUMN tenancy.tenant_databases.marker_nonce IS
	'On a target cluster: the nonce the database''s marker signs.';
