/*
 * plan.c
 *		Desired state -> steps.
 *
 * Each function here returns the steps that move the cluster to a desired
 * state.  Every step carries a guard, a query that is true while the step is
 * still needed; the executor evaluates it right before the step, in the same
 * transaction.  So a second run executes nothing, a run resumed after a
 * crash executes only what is missing, and a dry run shows what would run.
 * Statements are built with quote_identifier / quote_literal_cstr: they take
 * no parameters, and the names were validated before planning.
 */
#include "plan/plan.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

/* SQL for the OID of a role by name: NULL while the role does not exist. */
char *
role_oid_sql(const char *role)
{
	return psprintf("(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %s)",
					quote_literal_cstr(role));
}

/*
 * SQL: does the role or database of this name carry the marker of this
 * tenant (NULL: of any tenant)?  Readable by any role: pg_roles, not
 * pg_authid.
 */
char *
marked_sql(bool role, const char *name, const char *tenant)
{
	return psprintf("EXISTS (SELECT 1 FROM pg_catalog.%s o WHERE o.%s = %s AND %s)",
					role ? "pg_roles" : "pg_database", role ? "rolname" : "datname",
					quote_literal_cstr(name),
					tenant ? psprintf("%s = %s", marker_text_sql(role, "o.oid"),
									  quote_literal_cstr(marker_for(role, name, tenant))) :
					marker_present_sql(role, "o.oid"));
}

Step *
make_step(const char *name, const char *object_type, const char *object_name,
		  const char *database, char *guard, char *statement, const char *problem)
{
	Step	   *step = palloc0(sizeof(Step));

	step->name = name;
	step->object_type = object_type;
	step->object_name = object_name;
	step->database = database;
	step->guard = guard;
	step->statement = statement;
	step->problem = problem;
	return step;
}

/* A write to tenancy.* done by the extension as its owner. */
Step *
catalog_step(const char *name, const char *tenant, char *guard, char *statement)
{
	Step	   *step = make_step(name, "tenant", tenant, NULL, guard, statement,
								 "the catalog differs from the desired state");

	step->as_owner = true;
	return step;
}

/* Does some grantee hold privileges on an object?  aclexplode over its ACL. */
static char *
acl_count(const char *catalog, const char *aclcol, const char *ownercol,
		  char objtype, const char *namecol, const char *objname,
		  const char *grantee_oid, const char *privileges)
{
	return psprintf("(SELECT pg_catalog.count(DISTINCT a.privilege_type)"
					" FROM pg_catalog.%s o,"
					" pg_catalog.aclexplode(COALESCE(o.%s, pg_catalog.acldefault('%c', o.%s))) a"
					" WHERE o.%s = %s AND a.grantee = %s%s%s)",
					catalog, aclcol, objtype, ownercol, namecol, quote_literal_cstr(objname),
					grantee_oid, privileges ? " AND a.privilege_type IN " : "",
					privileges ? privileges : "");
}

/*
 * The desired state, recorded first: the tenant and every database it
 * should have, in one step.  Later steps make the cluster match it.
 */
static List *
plan_catalog(List *plan, const TenantSpec *spec)
{
	const char *t = quote_literal_cstr(spec->tenant);
	const char *ips = spec->allowed_ips ?
		psprintf("%s::cidr[]", quote_literal_cstr(spec->allowed_ips)) : "NULL";
	StringInfoData rows;
	StringInfoData inserted;
	int			i;

	/* on a target, each object's marker nonce is recorded with it */
	initStringInfo(&rows);
	initStringInfo(&inserted);
	for (i = 0; i < spec->ndatabases; i++)
	{
		const char *row = psprintf("(%s, %s, %s", t, quote_literal_cstr(spec->short_names[i]),
								   quote_literal_cstr(spec->database_names[i]));

		appendStringInfo(&rows, "%s%s)", i ? ", " : "", row);
		appendStringInfo(&inserted, "%s%s%s)", i ? ", " : "", row,
						 spec->cluster ?
						 psprintf(", %s", quote_literal_cstr(marker_nonce(false, spec->database_names[i],
																		 spec->tenant, true))) : "");
	}

	plan = lappend(plan, catalog_step(STEP_REGISTER_TENANT, spec->tenant,
									  psprintf("SELECT NOT EXISTS (SELECT 1 FROM tenancy.registry WHERE name = %s)"
											   " OR EXISTS (SELECT 1 FROM (VALUES %s) AS d(tenant, short_name, database_name)"
											   " WHERE NOT EXISTS (SELECT 1 FROM tenancy.tenant_databases r"
											   " WHERE r.tenant = d.tenant AND r.short_name = d.short_name"
											   " AND r.state = 'active'))",
											   t, rows.data),
									  psprintf("INSERT INTO tenancy.registry (name, iam_auth, allowed_ips%s%s)"
											   " VALUES (%s, %s, %s%s%s) ON CONFLICT (name) DO NOTHING;"
											   " INSERT INTO tenancy.tenant_databases (tenant, short_name, database_name%s)"
											   " VALUES %s ON CONFLICT (tenant, short_name) WHERE state = 'active' DO NOTHING",
											   spec->cluster ? ", cluster, marker_nonce" : "",
											   spec->iam_external_id ? ", iam_principal, iam_external_id" : "",
											   t, spec->iam_auth ? "true" : "false", ips,
											   spec->cluster ?
											   psprintf(", %s, %s", quote_literal_cstr(spec->cluster),
														quote_literal_cstr(marker_nonce(true, spec->tenant, spec->tenant, true))) : "",
											   spec->iam_external_id ?
											   psprintf(", %s, %s",
														spec->iam_principal ? quote_literal_cstr(spec->iam_principal) : "NULL",
														quote_literal_cstr(spec->iam_external_id)) : "",
											   spec->cluster ? ", marker_nonce" : "",
											   inserted.data)));
	if (spec->allowed_ips)
		plan = lappend(plan, plan_allowed_ips(spec->tenant, spec->allowed_ips));
	return plan;
}

/* The tenant's allowed IPs (cidr[] as text; NULL: no restriction). */
Step *
plan_allowed_ips(const char *tenant, const char *allowed_ips)
{
	const char *t = quote_literal_cstr(tenant);
	const char *ips = allowed_ips ?
		psprintf("%s::cidr[]", quote_literal_cstr(allowed_ips)) : "NULL::cidr[]";

	return catalog_step(STEP_SET_ALLOWED_IPS, tenant,
						psprintf("SELECT EXISTS (SELECT 1 FROM tenancy.registry WHERE name = %s"
								 " AND allowed_ips IS DISTINCT FROM %s)", t, ips),
						psprintf("UPDATE tenancy.registry SET allowed_ips = %s, updated_at = now() WHERE name = %s",
								 ips, t));
}

/*
 * The guard label of the tenant's role (core/guard_label.c), as the registry
 * will say; on this cluster only: a target cluster has no label provider
 * (there allowed IPs are for pg_tle's clientauth, README.md).
 */
List *
plan_guard_label(List *plan, const char *tenant, bool deletion_protection,
				 const char *allowed_ips)
{
	char	   *label = guard_label(deletion_protection, allowed_ips);

	if (current_cluster)
		return plan;
	return lappend(plan, make_step(STEP_SET_GUARD_LABEL, "role", tenant, NULL,
								   psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles o"
											" WHERE o.rolname = %s AND %s IS DISTINCT FROM %s)",
											quote_literal_cstr(tenant),
											shared_label_sql(GUARD_PROVIDER, true, "o.oid"),
											quote_literal_cstr(label)),
								   guard_label_statement(tenant, label),
								   "the guard label of the tenant role (its allowed IPs and deletion protection, as the server's guards enforce them) differs from the registry"));
}

/*
 * The tenant's login role with a SCRAM verifier, the tenant marker and (on
 * this cluster) its guard label, in one transaction, so a role of ours is
 * never left unmarked or unguarded.
 */
Step *
plan_create_role(const TenantSpec *spec)
{
	const char *role = quote_identifier(spec->tenant);
	const char *attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS";
	char	   *mark = marker_statement(true, spec->tenant, spec->tenant);
	Step	   *step;

	if (current_cluster == NULL)
		mark = psprintf("%s; %s", mark,
						guard_label_statement(spec->tenant,
											  guard_label(spec->deletion_protection,
														  spec->allowed_ips ? spec->allowed_ips : spec->recorded_ips)));

	step = make_step(STEP_CREATE_ROLE, "role", spec->tenant, NULL,
					 psprintf("SELECT %s IS NULL", role_oid_sql(spec->tenant)),
					 psprintf("CREATE ROLE %s %s PASSWORD %s; %s",
							  role, attributes, quote_literal_cstr(spec->verifier), mark),
					 "the tenant role is missing");
	step->display = psprintf("CREATE ROLE %s %s PASSWORD '<redacted>'; %s",
							 role, attributes, mark);
	return step;
}

static List *plan_schema_public(List *plan, const char *tenant, const char *datname);

/*
 * One database, then its ACL and that of its schema public (each ACL one
 * step: PUBLIC revoked and the tenant granted, together); the latter only
 * with inside, as it takes a worker in the database to even look.
 *
 * A database is created under a random name no one else can know, from a
 * template no tenant can write to, with connections refused: nobody can
 * plant anything in it or hold it open.  Then, in one transaction, PUBLIC
 * loses its privileges, the database gets its final name and then the
 * marker (which on a target cluster signs the name), and accepts connections.  So a database with the final name and no marker
 * is never the tenant's, and an interrupted create leaves only an
 * unreachable unfinished database, which check() reports and repair() drops.
 */
List *
plan_database(List *plan, const TenantSpec *spec, const char *datname, bool inside)
{
	const char *db = quote_identifier(datname);
	const char *dblit = quote_literal_cstr(datname);
	const char *unfinished = quote_identifier(unfinished_database_name());
	const char *role = quote_identifier(spec->tenant);
	const char *tenant_oid = role_oid_sql(spec->tenant);
	Step	   *step;

	step = make_step(STEP_CREATE_DATABASE, "database", datname, NULL,
					 psprintf("SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s)", dblit),
					 psprintf("CREATE DATABASE %s TEMPLATE %s ALLOW_CONNECTIONS false",
							  unfinished, quote_identifier(tenancy_database_template)),
					 "the database is missing");
	step->own_transaction = true;
	step->finish = psprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC;"
							" ALTER DATABASE %s RENAME TO %s;"
							" %s;"
							" ALTER DATABASE %s ALLOW_CONNECTIONS true",
							unfinished, unfinished, db,
							marker_statement(false, datname, spec->tenant), db);
	step->display = psprintf("%s; %s", step->statement, step->finish);
	plan = lappend(plan, step);

	plan = lappend(plan,
				   make_step(STEP_DATABASE_PRIVILEGES, "database", datname, NULL,
							 psprintf("SELECT %s > 0 OR %s < 3",
									  acl_count("pg_database", "datacl", "datdba", 'd',
												"datname", datname, "0", NULL),
									  acl_count("pg_database", "datacl", "datdba", 'd',
												"datname", datname, tenant_oid,
												"('CONNECT', 'TEMPORARY', 'CREATE')")),
							 psprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC;"
									  " GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %s TO %s",
									  db, db, role),
							 "PUBLIC holds a privilege on the database, or the tenant lacks one"));

	/* inside the database: its schema public */
	if (!inside)
		return plan;
	return plan_schema_public(plan, spec->tenant, datname);
}

/*
 * Schema public inside a tenant database: PUBLIC's privileges revoked and
 * the tenant's granted, where the caller may change them.  On PostgreSQL 15
 * and later the schema belongs to pg_database_owner, so to the database's
 * owner, the admin.  On 13 and 14 it belongs to the bootstrap superuser: a
 * non-superuser admin's REVOKE would only warn, and PUBLIC keeps CREATE
 * there (harmless while only the tenant may connect).  Then the step is not
 * taken, and check() reports only a tenant that lacks USAGE or CREATE, with
 * no fix the admin could run.
 */
static List *
plan_schema_public(List *plan, const char *tenant, const char *datname)
{
	const char *tenant_oid = role_oid_sql(tenant);
	const char *caller_owns = "pg_catalog.pg_has_role(CURRENT_USER, n.nspowner, 'USAGE')";
	Step	   *report;

	plan = lappend(plan,
				   make_step(STEP_SCHEMA_PRIVILEGES, "schema", "public", datname,
							 psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n"
									  " WHERE n.nspname = 'public' AND %s)"
									  " AND (%s > 0 OR %s < 2)",
									  caller_owns,
									  acl_count("pg_namespace", "nspacl", "nspowner", 'n',
												"nspname", "public", "0", NULL),
									  acl_count("pg_namespace", "nspacl", "nspowner", 'n',
												"nspname", "public", tenant_oid,
												"('USAGE', 'CREATE')")),
							 psprintf("REVOKE ALL ON SCHEMA public FROM PUBLIC;"
									  " GRANT USAGE, CREATE ON SCHEMA public TO %s",
									  quote_identifier(tenant)),
							 "PUBLIC holds a privilege on schema public, or the tenant lacks one"));
	report = make_step(STEP_REPORT, "schema", "public", datname,
					   psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n"
								" WHERE n.nspname = 'public' AND NOT %s"
								" AND NOT (pg_catalog.has_schema_privilege(%s, n.oid, 'USAGE')"
								" AND pg_catalog.has_schema_privilege(%s, n.oid, 'CREATE')))",
								caller_owns, tenant_oid, tenant_oid),
					   NULL,
					   "the tenant lacks USAGE or CREATE on schema public, which belongs to another role (PostgreSQL 13 and 14: the bootstrap superuser); only its owner or a superuser can grant them");
	return lappend(plan, report);
}

/* Membership in the IAM role: granted, or (for password login) revoked. */
Step *
plan_iam_membership(const char *tenant, bool member)
{
	char	   *exists = psprintf("EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members"
								  " WHERE roleid = %s AND member = %s)",
								  role_oid_sql(tenancy_iam_role), role_oid_sql(tenant));

	if (member)
		return make_step(STEP_GRANT_IAM, "role", tenant, NULL,
						 psprintf("SELECT NOT %s", exists),
						 psprintf("GRANT %s TO %s", quote_identifier(tenancy_iam_role),
								  quote_identifier(tenant)),
						 "the tenant uses IAM auth but is not a member of the IAM role");
	return make_step(STEP_REVOKE_IAM, "role", tenant, NULL,
					 psprintf("SELECT %s", exists),
					 psprintf("REVOKE %s FROM %s", quote_identifier(tenancy_iam_role),
							  quote_identifier(tenant)),
					 "the tenant uses password login but is a member of the IAM role");
}

/*
 * Onboarding: register the desired state, create the role (or give it the
 * password an interrupted run never returned), then each database with its privileges, and the IAM role last: on Aurora
 * a role that is a member of rds_iam can no longer log in with a password,
 * so it comes after everything else has worked.
 */
List *
plan_onboard(const TenantSpec *spec, Step *role_password)
{
	List	   *plan = plan_catalog(NIL, spec);
	int			i;

	if (role_password)
		plan = lappend(plan, role_password);
	plan = plan_guard_label(plan, spec->tenant, spec->deletion_protection,
							spec->allowed_ips ? spec->allowed_ips : spec->recorded_ips);
	for (i = 0; i < spec->ndatabases; i++)
		plan = plan_database(plan, spec, spec->database_names[i],
							 spec->inside_unknown == NULL || spec->inside_unknown[i]);
	if (spec->iam_auth)
		plan = lappend(plan, plan_iam_membership(spec->tenant, true));
	plan = lappend(plan, plan_activate(spec->tenant));
	return plan;
}

/* The end of onboarding: the tenant becomes active. */
Step *
plan_activate(const char *tenant)
{
	const char *t = quote_literal_cstr(tenant);

	return catalog_step(STEP_ACTIVATE_TENANT, tenant,
						psprintf("SELECT EXISTS (SELECT 1 FROM tenancy.registry"
								 " WHERE name = %s AND state = 'onboarding')", t),
						psprintf("UPDATE tenancy.registry SET state = 'active', updated_at = now()"
								 " WHERE name = %s", t));
}
