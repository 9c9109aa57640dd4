/*
 * plan_lifecycle.c
 *		Desired state -> steps, for the rest of a tenant's life: its password,
 *		suspension, databases removed, and offboarding.
 *
 * Same rules as plan.c: every step has a guard that is true while it is
 * needed, so each operation is idempotent and resumable.  plan_offboard()
 * reads nothing: what the cluster holds comes from the tenant's snapshot
 * (snapshot.c).
 */
#include "plan/plan.h"

#include "utils/builtins.h"

/* An update of the tenant's registry row, needed while condition holds. */
Step *
plan_registry_update(const char *name, const char *tenant, const char *condition,
				const char *assignments)
{
	return catalog_step(name, tenant,
						psprintf("SELECT EXISTS (SELECT 1 FROM tenancy.registry WHERE name = %s AND %s)",
								 quote_literal_cstr(tenant), condition),
						psprintf("UPDATE tenancy.registry SET %s, updated_at = now() WHERE name = %s",
								 assignments, quote_literal_cstr(tenant)));
}

/* A new password, as a SCRAM verifier; shown only as '<redacted>'. */
Step *
plan_set_password(const char *tenant, const char *verifier)
{
	Step	   *step = make_step(STEP_SET_PASSWORD, "role", tenant, NULL, NULL,
								 psprintf("ALTER ROLE %s PASSWORD %s", quote_identifier(tenant),
										  quote_literal_cstr(verifier)),
								 NULL);

	step->display = psprintf("ALTER ROLE %s PASSWORD '<redacted>'", quote_identifier(tenant));
	return step;
}

Step *
plan_login(const char *tenant, bool login)
{
	return make_step(login ? STEP_ENABLE_LOGIN : STEP_DISABLE_LOGIN, "role", tenant, NULL,
					 psprintf("SELECT %s EXISTS (SELECT 1 FROM pg_catalog.pg_roles"
							  " WHERE rolname = %s AND rolcanlogin)",
							  login ? "NOT" : "", quote_literal_cstr(tenant)),
					 psprintf("ALTER ROLE %s %s", quote_identifier(tenant),
							  login ? "LOGIN" : "NOLOGIN"),
					 login ? "the tenant is active but cannot log in"
					 : "the tenant is suspended but can log in");
}

/* Every session of the tenant, ended (waiting up to 5 s for each to go). */
static Step *
plan_terminate_sessions(const char *tenant)
{
	const char *sessions = psprintf("FROM pg_catalog.pg_stat_activity WHERE usename = %s",
									quote_literal_cstr(tenant));

	return make_step(STEP_TERMINATE_SESSIONS, "role", tenant, NULL,
					 psprintf("SELECT EXISTS (SELECT 1 %s)", sessions),
					 psprintf("SELECT pg_catalog.pg_terminate_backend(pid, 5000) %s", sessions),
					 "the tenant has open sessions");
}

/*
 * Suspension: the registry remembers whether the role could log in, then
 * the role loses LOGIN and its sessions end.
 */
List *
plan_suspend(List *plan, const char *tenant)
{
	plan = lappend(plan, plan_registry_update(STEP_SUSPEND_TENANT, tenant, "state = 'active'",
										 psprintf("state = 'suspended', login_before_suspend ="
												  " (SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = %s)",
												  quote_literal_cstr(tenant))));
	plan = lappend(plan, plan_login(tenant, false));
	return lappend(plan, plan_terminate_sessions(tenant));
}

/* Resumption restores LOGIN if (and only if) the role had it before. */
List *
plan_resume(List *plan, const char *tenant, bool login_before)
{
	if (login_before)
		plan = lappend(plan, plan_login(tenant, true));
	return lappend(plan, plan_registry_update(STEP_RESUME_TENANT, tenant, "state = 'suspended'",
											  "state = 'active', login_before_suspend = NULL"));
}

/* A database dropped (its sessions ended), then its registry row. */
List *
plan_remove_database(List *plan, const char *tenant, const char *datname)
{
	Step	   *step = make_step(STEP_DROP_DATABASE, "database", datname, NULL,
								 psprintf("SELECT %s", marked_sql(false, datname, tenant)),
								 psprintf("DROP DATABASE %s WITH (FORCE)", quote_identifier(datname)),
								 NULL);

	step->own_transaction = true;
	plan = lappend(plan, step);
	return lappend(plan, catalog_step(STEP_UNREGISTER_DATABASE, tenant,
									  psprintf("SELECT EXISTS (SELECT 1 FROM tenancy.tenant_databases"
											   " WHERE tenant = %s AND database_name = %s AND state = 'active')",
											   quote_literal_cstr(tenant), quote_literal_cstr(datname)),
									  psprintf("DELETE FROM tenancy.tenant_databases"
											   " WHERE tenant = %s AND database_name = %s AND state = 'active'",
											   quote_literal_cstr(tenant), quote_literal_cstr(datname))));
}

/*
 * What the role owns in a database goes to the custodian, and its
 * privileges there and on shared objects (databases' ACLs) are revoked.
 * Never to the admin: a SECURITY DEFINER function the tenant planted would
 * then run with the admin's privileges.  NULL: the extension's database,
 * for the shared objects alone.
 */
static Step *
plan_release(const char *tenant, const char *datname)
{
	return make_step(STEP_RELEASE_OBJECTS, datname ? "database" : "role",
					 datname ? datname : tenant, datname,
					 psprintf("SELECT %s AND EXISTS (SELECT 1 FROM pg_catalog.pg_shdepend"
							  " WHERE refobjid = %s AND dbid IN (0, (SELECT oid FROM pg_catalog.pg_database"
							  " WHERE datname = current_database())))",
							  marked_sql(true, tenant, tenant), role_oid_sql(tenant)),
					 psprintf("REASSIGN OWNED BY %s TO " CUSTODIAN_ROLE "; DROP OWNED BY %s",
							  quote_identifier(tenant), quote_identifier(tenant)),
					 NULL);
}

/*
 * The custodian: a role that can never log in and holds no privilege, made
 * when first needed.  REASSIGN OWNED needs the privileges of the receiving
 * role, which a non-superuser admin gets by membership (harmless: the
 * custodian can do nothing the admin cannot).
 */
static List *
plan_custodian(List *plan, const TenantSnapshot *snap)
{
	const char *admin = snap->caller;

	plan = lappend(plan, make_step(STEP_CREATE_CUSTODIAN, "role", CUSTODIAN_ROLE, NULL,
								   psprintf("SELECT %s IS NULL", role_oid_sql(CUSTODIAN_ROLE)),
								   pstrdup("CREATE ROLE " CUSTODIAN_ROLE " NOLOGIN NOINHERIT"),
								   NULL));
	if (!snap->caller_is_superuser)
		plan = lappend(plan, make_step(STEP_BORROW_CUSTODIAN, "role", CUSTODIAN_ROLE, NULL,
									   psprintf("SELECT NOT pg_catalog.pg_has_role(%s, %s, 'USAGE')",
												quote_literal_cstr(admin), role_oid_sql(CUSTODIAN_ROLE)),
									   psprintf("GRANT " CUSTODIAN_ROLE " TO %s", quote_identifier(admin)),
									   NULL));
	return plan;
}

/*
 * SQL: what makes the custodian unfit to own what tenants leave behind (an
 * attribute, a membership, a password), or NULL while it is fit or missing.
 */
const char *custodian_problem_sql =
"SELECT CASE WHEN r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls"
" THEN 'it has a privileged attribute'"
" WHEN r.rolcanlogin THEN 'it can log in'"
" WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid)"
" THEN 'it is a member of another role' END"
" FROM pg_catalog.pg_roles r WHERE r.rolname = '" CUSTODIAN_ROLE "'";

/*
 * A database kept at offboarding: the tenant's access revoked, what it owns
 * inside handed to the custodian, its marker removed (it is no tenant's now), and
 * recorded as retained.
 */
static List *
plan_retain_database(List *plan, const char *tenant, const char *datname)
{
	const char *dblit = quote_literal_cstr(datname);

	plan = lappend(plan, plan_release(tenant, datname));
	plan = lappend(plan, make_step(STEP_RETAIN_DATABASE, "database", datname, NULL,
								   psprintf("SELECT %s", marked_sql(false, datname, tenant)),
								   marker_statement(false, datname, NULL),
								   NULL));
	return lappend(plan, catalog_step(STEP_RECORD_RETAINED, tenant,
									  psprintf("SELECT EXISTS (SELECT 1 FROM tenancy.tenant_databases"
											   " WHERE database_name = %s AND state = 'active')", dblit),
									  psprintf("UPDATE tenancy.tenant_databases SET state = 'retained'"
											   " WHERE database_name = %s", dblit)));
}

/*
 * Offboarding, in an order that can stop anywhere and be resumed: the
 * registry says offboarding; the role can no longer log in and its sessions
 * end; its databases are dropped or retained; what it owns or was granted
 * elsewhere is handed to the custodian and revoked; the role is dropped; the
 * tenant leaves the registry.  A non-superuser admin needs the privileges of
 * the role for REASSIGN/DROP OWNED: it is granted them only after the role
 * left the IAM role (so the admin never inherits rds_iam), until the role
 * is dropped.  The admin is the caller, as the snapshot names it.
 */
List *
plan_offboard(const Tenant *t, const TenantSnapshot *snap, bool keep_databases)
{
	const char *tenant = t->name;
	const char *admin = snap->caller;
	List	   *plan = NIL;
	ListCell   *lc;
	int			i;

	plan = lappend(plan, plan_registry_update(STEP_BEGIN_OFFBOARDING, tenant, "state <> 'offboarding'",
										 "state = 'offboarding'"));
	plan = lappend(plan, plan_login(tenant, false));
	plan = lappend(plan, plan_terminate_sessions(tenant));
	plan = lappend(plan, plan_iam_membership(tenant, false));
	if (snap->role_exists && !snap->caller_is_superuser)
		plan = lappend(plan, make_step(STEP_BORROW_PRIVILEGES, "role", tenant, NULL,
									   psprintf("SELECT %s AND NOT pg_catalog.pg_has_role(%s, %s, 'USAGE')",
												marked_sql(true, tenant, tenant),
												quote_literal_cstr(admin), role_oid_sql(tenant)),
									   psprintf("GRANT %s TO %s", quote_identifier(tenant),
												quote_identifier(admin)),
									   NULL));

	if (snap->role_exists)
		plan = plan_custodian(plan, snap);
	for (i = 0; i < t->ndatabases; i++)
		plan = keep_databases ?
			plan_retain_database(plan, tenant, t->database_names[i]) :
			plan_remove_database(plan, tenant, t->database_names[i]);

	if (snap->role_exists)
	{
		foreach(lc, snap->dependent_databases)
			plan = lappend(plan, plan_release(tenant, lfirst(lc)));
		/* privileges on shared objects (other databases' ACLs) */
		plan = lappend(plan, plan_release(tenant, NULL));
	}

	plan = lappend(plan, make_step(STEP_DROP_ROLE, "role", tenant, NULL,
								   psprintf("SELECT %s", marked_sql(true, tenant, tenant)),
								   psprintf("DROP ROLE %s", quote_identifier(tenant)),
								   NULL));
	return lappend(plan, catalog_step(STEP_REMOVE_TENANT, tenant,
									  psprintf("SELECT EXISTS (SELECT 1 FROM tenancy.registry WHERE name = %s)",
											   quote_literal_cstr(tenant)),
									  psprintf("DELETE FROM tenancy.tenant_databases WHERE tenant = %s AND state = 'active';"
											   " DELETE FROM tenancy.registry WHERE name = %s",
											   quote_literal_cstr(tenant), quote_literal_cstr(tenant))));
}

/* The role's connection limit (-1: none). */
Step *
plan_connection_limit(const char *tenant, int limit)
{
	return make_step(STEP_SET_CONNECTION_LIMIT, "role", tenant, NULL,
					 psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles"
							  " WHERE rolname = %s AND rolconnlimit <> %d)",
							  quote_literal_cstr(tenant), limit),
					 psprintf("ALTER ROLE %s CONNECTION LIMIT %d", quote_identifier(tenant), limit),
					 "the role's connection limit differs from the registry");
}
