/*
 * plan_repair.c
 *		Desired state -> steps, for check() and repair(): one plan per tenant.
 *
 * Every step that onboarding and the tenant's settings imply, plus steps for
 * what must not be there (other grantees, members of the tenant role,
 * markers on objects the registry does not know, unfinished databases, audit
 * intents without an outcome), plus what is wrong with the cluster itself.
 * check() is a dry run of these plans; repair() runs them, audited.  So
 * repair() executes exactly what check() shows.
 *
 * plan_repair() reads nothing: what the cluster holds comes from the
 * tenant's snapshot (snapshot.c).  plan_orphans() and plan_cluster_problems(),
 * which concern no tenant, still read the catalogs themselves.
 */
#include "plan/plan.h"

#include "executor/spi.h"
#include "utils/builtins.h"

static List *plan_unfinished(List *plan, List *datnames);

/* A problem repair() leaves to a person: check() shows it, with no fix. */
Step *
plan_report(const char *object_type, const char *name, const char *problem)
{
	return make_step(STEP_REPORT, object_type, name, NULL, NULL, NULL, problem);
}

static Step *
plan_unmark(const char *object_type, const char *name, const char *marker)
{
	bool		role = strcmp(object_type, "role") == 0;

	return make_step(role ? STEP_UNMARK_ROLE : STEP_UNMARK_DATABASE, object_type, name, NULL,
					 psprintf("SELECT %s", marked_sql(role, name, NULL)),
					 marker_statement(role, name, NULL),
					 psprintf("the %s carries the marker \"%s\" but the registry does not list it",
							  object_type, marker));
}

/* A guard label on a role that is no registered tenant's. */
static Step *
plan_unguard(const char *role, const char *label)
{
	return make_step(STEP_UNMARK_ROLE, "role", role, NULL,
					 psprintf("SELECT %s IS NOT NULL", shared_label_sql(GUARD_PROVIDER, true, role_oid_sql(role))),
					 guard_label_statement(role, NULL),
					 psprintf("the role carries the guard label \"%s\" but the registry does not list it", label));
}

/*
 * What the tenant role must be, besides existing.  Like every step of
 * repair's plans that the cluster-wide catalogs can decide, a step is
 * planned only where the snapshot shows it needed (its guard checks again
 * when it runs): check() of a healthy tenant reads no guard at all.
 */
static List *
plan_role(List *plan, const Tenant *t, const TenantSnapshot *snap)
{
	const char *lit = quote_literal_cstr(t->name);
	const char *role = quote_identifier(t->name);
	bool		login = strcmp(t->state, STATE_SUSPENDED) != 0;
	ListCell   *lc;

	if (snap->role_has_attribute)
		plan = lappend(plan, make_step(STEP_ROLE_ATTRIBUTES, "role", t->name, NULL,
									   psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s"
												" AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls))",
												lit),
									   psprintf("ALTER ROLE %s NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
												role),
									   "the tenant role has an attribute it must not have"));
	if (snap->role_can_login != login)
		plan = lappend(plan, plan_login(t->name, login));
	if (snap->role_connection_limit != t->connection_limit)
		plan = lappend(plan, plan_connection_limit(t->name, t->connection_limit));
	if (current_cluster == NULL &&
		(snap->role_guard_label == NULL ||
		 strcmp(snap->role_guard_label, guard_label(t->deletion_protection, t->allowed_ips)) != 0))
		plan = plan_guard_label(plan, t->name, t->deletion_protection, t->allowed_ips);

	/* no tenant reaches a predefined, privileged or other tenant's role */
	foreach(lc, snap->role_reaches)
	{
		const RoleReach *reach = lfirst(lc);

		plan = lappend(plan, make_step(STEP_REVOKE_MEMBERSHIP, "role", t->name, NULL,
									   psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a"
												" WHERE a.roleid = %s AND a.member = %s)",
												role_oid_sql(reach->role), role_oid_sql(t->name)),
									   psprintf("REVOKE %s FROM %s", quote_identifier(reach->role), role),
									   psprintf("the tenant role is a member of role \"%s\" and so reaches %s",
												reach->role, reach->why)));
	}

	/* nobody, the admin included, is a member of a tenant role */
	foreach(lc, snap->role_members)
	{
		const char *member = lfirst(lc);

		if (list_member(snap->role_members_unrevokable, member))
		{
			plan = lappend(plan, plan_report("role", t->name,
											 psprintf("role \"%s\" is a member of the tenant role, granted by a role whose grants only it or a superuser can revoke (PostgreSQL 16 and later)",
													  member)));
			continue;
		}
		plan = lappend(plan, make_step(STEP_REVOKE_MEMBER, "role", t->name, NULL,
									   psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a"
												" WHERE a.roleid = %s AND a.member = %s AND " MEMBERSHIP_CONFERS_SQL("a") ")",
												role_oid_sql(t->name), role_oid_sql(member)),
									   psprintf("REVOKE %s FROM %s", role, quote_identifier(member)),
									   psprintf("role \"%s\" is a member of the tenant role", member)));
	}
	return plan;
}

/* Roles other than the tenant and the owner holding privileges on the database. */
static List *
plan_other_grantees(List *plan, const DatabaseState *db)
{
	const char *datname = db->name;
	ListCell   *lc;

	foreach(lc, db->other_grantees)
	{
		const char *grantee = lfirst(lc);

		plan = lappend(plan, make_step(STEP_REVOKE_GRANTEE, "database", datname, NULL,
									   psprintf("SELECT pg_catalog.has_database_privilege(%s, %s, 'CONNECT, TEMPORARY, CREATE')"
												" OR EXISTS (SELECT 1 FROM pg_catalog.pg_database d, pg_catalog.aclexplode(d.datacl) a"
												" WHERE d.datname = %s AND a.grantee = %s)",
												quote_literal_cstr(grantee), quote_literal_cstr(datname),
												quote_literal_cstr(datname), role_oid_sql(grantee)),
									   psprintf("REVOKE ALL ON DATABASE %s FROM %s CASCADE",
												quote_identifier(datname), quote_identifier(grantee)),
									   psprintf("role \"%s\" holds privileges on the tenant database", grantee)));
	}
	return plan;
}

/*
 * SQL: FROM and WHERE of the tenant's audit intents (audit_log a) that have
 * no outcome and whose operation is not running any more (what
 * pg_stat_activity shows of its backend, without the view's joins).
 */
char *
open_intents_sql(const char *tenant)
{
	return psprintf("FROM tenancy.audit_log a WHERE a.tenant = %s AND a.phase = '" PHASE_INTENT "'"
					" AND NOT EXISTS (SELECT 1 FROM tenancy.audit_log b"
					" WHERE b.tenant = a.tenant AND b.operation_id = a.operation_id AND b.step = a.step"
					" AND b.object_name = a.object_name AND b.database IS NOT DISTINCT FROM a.database"
					" AND b.phase IN ('" PHASE_DONE "', '" PHASE_FAILED "', '" PHASE_UNKNOWN "') AND b.id > a.id)"
					" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(NULL) s"
					" WHERE s.pid = a.backend_pid AND s.state = 'active')",
					quote_literal_cstr(tenant));
}

/*
 * SQL for whether a database exists on the target, as the snapshot saw it
 * (the outcome row is written here, where the target's catalogs are not).
 */
static const char *
remote_database_exists(const TenantSnapshot *snap, const char *datname)
{
	for (int i = 0; i < snap->ndatabases; i++)
		if (strcmp(snap->databases[i].name, datname) == 0)
			return snap->databases[i].exists ? "true" : "false";
	return "NULL";				/* not registered: neither done nor failed */
}

/*
 * Audit intents of this tenant that never got an outcome, from operations
 * that are not running any more: the outcome is recorded from reality where
 * reality tells (a database exists or not), else as unknown (the state the
 * step aimed at is checked by the other steps of the plan).
 */
List *
plan_resolve_intents(List *plan, const Tenant *t, const TenantSnapshot *snap, const char *by)
{
	const char *open;
	ListCell   *lc;

	if (snap->open_intents == NIL)
		return plan;
	open = open_intents_sql(t->name);
	foreach(lc, snap->open_intents)
	{
		const OpenIntent *intent = lfirst(lc);
		const char *id = intent->id;
		const char *op = quote_literal_cstr(intent->operation_id);
		const char *step = intent->step;
		const char *object = intent->object_name;
		const char *exists = current_cluster ? remote_database_exists(snap, object) :
			psprintf("EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s)",
					 quote_literal_cstr(object));
		const char *outcome =
			strcmp(step, STEP_CREATE_DATABASE) == 0 ?
			psprintf("CASE %s WHEN true THEN '" PHASE_DONE "' WHEN false THEN '" PHASE_FAILED "' ELSE '" PHASE_UNKNOWN "' END", exists) :
			strcmp(step, STEP_DROP_DATABASE) == 0 ?
			psprintf("CASE %s WHEN true THEN '" PHASE_FAILED "' WHEN false THEN '" PHASE_DONE "' ELSE '" PHASE_UNKNOWN "' END", exists) :
			"'" PHASE_UNKNOWN "'";
		Step	   *s = catalog_step(STEP_RESOLVE_INTENT, t->name,
									 psprintf("SELECT EXISTS (SELECT 1 %s AND a.id = %s AND a.operation_id = %s)",
											  open, id, op),
									 psprintf("INSERT INTO tenancy.audit_log (operation_id, operation, tenant, step, phase,"
											  " object_type, object_name, database, statement, message,"
											  " session_user_name, current_user_name, backend_pid, transaction_id%s)"
											  " SELECT operation_id, operation, tenant, step, %s, object_type, object_name,"
											  " database, statement, %s,"
											  " session_user, current_user, pg_catalog.pg_backend_pid(), pg_catalog.pg_current_xact_id()%s"
											  " FROM tenancy.audit_log WHERE id = %s AND operation_id = %s AND phase = '" PHASE_INTENT "'",
											  current_cluster ? ", cluster, cluster_user" : "",
											  outcome,
											  quote_literal_cstr(psprintf("outcome recorded by %s: the step was interrupted", by)),
											  current_cluster ? ", cluster, cluster_user" : "", id, op));

		s->object_type = "audit";
		s->object_name = psprintf("%s %s (audit id %s)", step, object, id);
		s->problem = "an audit intent has no outcome";
		plan = lappend(plan, s);
	}
	return plan;
}

/*
 * A database's steps, but those inside it only where a worker can connect
 * (as the caller's session user): else one report says it was not looked at.
 */
static List *
plan_inside_reach(List *plan, List *steps, const TenantSnapshot *snap,
				  const DatabaseState *db)
{
	const char *datname = db->name;
	ListCell   *lc;
	bool		reachable = !db->exists || db->session_can_connect;

	foreach(lc, steps)
		if (((Step *) lfirst(lc))->database == NULL || reachable)
			plan = lappend(plan, lfirst(lc));
	if (!reachable)
		plan = lappend(plan, plan_report("database", datname,
										 psprintf("the caller's role \"%s\" cannot connect to it: what is inside was not checked",
												  snap->session_user_name)));
	return plan;
}

/* A database's steps but those the snapshot shows are not needed. */
static List *
known_needed(List *steps, const DatabaseState *db)
{
	List	   *needed = NIL;
	ListCell   *lc;

	foreach(lc, steps)
	{
		Step	   *step = lfirst(lc);

		if (db->exists && strcmp(step->name, STEP_CREATE_DATABASE) == 0)
			continue;
		if (db->exists && !db->privileges_differ && strcmp(step->name, STEP_DATABASE_PRIVILEGES) == 0)
			continue;
		needed = lappend(needed, step);
	}
	return needed;
}

#define NOT_THE_TENANTS \
	"it has the tenant's name but not its marker: it is not known to be the tenant's, and is left to a person"

static bool
marked_for(const char *marker_of, const Tenant *t)
{
	return marker_of != NULL && strcmp(marker_of, t->name) == 0;
}

/*
 * Everything the registry says about one tenant, as steps.  A missing role
 * is created with the given verifier (repair) and its password is unknown
 * to anyone: rotate_password() gives it one.
 */
List *
plan_repair(const Tenant *t, const TenantSnapshot *snap, const char *verifier,
			bool deep)
{
	TenantSpec	spec = {0};
	List	   *plan = NIL;
	List	   *steps;
	ListCell   *lc;
	int			i;

	spec.tenant = t->name;
	spec.iam_auth = t->iam_auth;
	spec.verifier = verifier;
	spec.deletion_protection = t->deletion_protection;
	spec.recorded_ips = t->allowed_ips;

	/* what has the tenant's name but not its marker is never touched */
	if (snap->role_exists && !marked_for(snap->role_marked_for, t))
		return list_make1(plan_report("role", t->name, NOT_THE_TENANTS));

	if (snap->role_exists)
		plan = plan_role(plan, t, snap);
	else
		plan = lappend(plan, plan_create_role(&spec));
	if (snap->role_in_iam_role != t->iam_auth)
		plan = lappend(plan, plan_iam_membership(t->name, t->iam_auth));

	for (i = 0; i < t->ndatabases; i++)
	{
		const DatabaseState *db = &snap->databases[i];

		Assert(strcmp(db->name, t->database_names[i]) == 0);
		if (db->exists && !marked_for(db->marked_for, t))
		{
			plan = lappend(plan, plan_report("database", db->name, NOT_THE_TENANTS));
			continue;
		}
		/*
		 * Shallow, an existing database with the privileges it should have
		 * needs none of the steps plan_database() plans outside it (creating
		 * it, its privileges): they are not written out only for
		 * known_needed() to drop them, for every tenant of a check().
		 */
		steps = NIL;
		if (deep || !db->exists || db->privileges_differ)
			steps = known_needed(plan_database(NIL, &spec, db->name, deep), db);
		plan = plan_inside_reach(plan, steps, snap, db);
		plan = plan_other_grantees(plan, db);
	}
	if (strcmp(t->state, STATE_ONBOARDING) == 0)
		plan = lappend(plan, plan_activate(t->name));
	if (current_cluster == NULL && t->allowed_ips && !loaded_at_startup)
		plan = lappend(plan, plan_report("tenant", t->name,
										 "its allowed IPs are not enforced at login: aurora_tenancy is not in shared_preload_libraries; add it there and restart the server"));

	foreach(lc, snap->stray_databases)
		plan = lappend(plan, plan_unmark("database", lfirst(lc), tenant_marker(t->name)));

	plan = plan_unfinished(plan, snap->unfinished_databases);
	return plan_resolve_intents(plan, t, snap, "tenancy.repair()");
}

/*
 * Unfinished databases (see plan_database and read_vouched_unfinished)
 * dropped: nobody can connect to them and they carry no marker.
 */
static List *
plan_unfinished(List *plan, List *datnames)
{
	ListCell   *lc;

	foreach(lc, datnames)
	{
		const char *datname = lfirst(lc);
		Step	   *step = make_step(STEP_DROP_UNFINISHED, "database", datname, NULL,
									 psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database"
											  " WHERE datname = %s AND NOT datallowconn) AND NOT %s",
											  quote_literal_cstr(datname), marked_sql(false, datname, NULL)),
									 psprintf("DROP DATABASE %s", quote_identifier(datname)),
									 "an interrupted onboarding left this unfinished database behind (nobody can connect to it)");

		step->own_transaction = true;
		plan = lappend(plan, step);
	}
	return plan;
}

/*
 * What is wrong with the cluster itself: what makes a dump of it restore
 * unmanageable, databases every tenant may leave objects in for others (or
 * for every database later copied from them), a custodian unfit to own what
 * tenants leave behind.  All for a person to fix.
 */
List *
plan_cluster_problems(void)
{
	static KeptStatement open_databases;
	static KeptStatement custodian_problem;
	List	   *plan = NIL;
	SPITupleTable *rows;
	char	   *custodian;

	if (!loaded_at_startup)
		plan = lappend(plan, plan_report("cluster", "shared_preload_libraries",
										 "aurora_tenancy is not in shared_preload_libraries: pg_dumpall output would restore without tenant markers, leaving the tenants unmanageable; add it and restart"));

	/* OFFSET 0: "who" only for the unmarked databases, not for every tenant's */
	catalog_execute_kept(&open_databases,
	/* the tenant roles found once, not once a database (there may be thousands of roles) */
						 psprintf("WITH tenant_roles AS MATERIALIZED (SELECT r.oid, r.rolname FROM pg_catalog.pg_roles r WHERE %s)"
								  " SELECT * FROM (SELECT d.datname, CASE WHEN pg_catalog.has_database_privilege('public', d.oid, 'CONNECT')"
								  " THEN 'PUBLIC' ELSE (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(r.rolname), ', ' ORDER BY r.rolname)"
								  " FROM tenant_roles r"
								  " WHERE pg_catalog.has_database_privilege(r.oid, d.oid, 'CONNECT')) END AS who"
								  " FROM pg_catalog.pg_database d WHERE d.datallowconn AND NOT %s"
								  " OFFSET 0) d WHERE who IS NOT NULL ORDER BY 1",
								  marker_present_sql(true, "r.oid"), marker_present_sql(false, "d.oid")),
						 0, NULL);
	rows = SPI_tuptable;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		const char *datname = SPI_getvalue(rows->vals[i], rows->tupdesc, 1);
		const char *who = SPI_getvalue(rows->vals[i], rows->tupdesc, 2);

		plan = lappend(plan, plan_report("database", datname,
										 psprintf("%s may connect: tenants can leave objects here for each other (in a template, for every copy); REVOKE CONNECT, TEMPORARY ON DATABASE %s FROM %s",
												  who, quote_identifier(datname), who)));
	}

	catalog_execute_kept(&custodian_problem, custodian_problem_sql, 0, NULL);
	if ((custodian = catalog_value()) != NULL)
		plan = lappend(plan, plan_report("role", CUSTODIAN_ROLE,
										 psprintf("%s, so it must not own what offboarded tenants leave behind", custodian)));
	return plan;
}

/*
 * Markers on roles and databases of tenants the registry does not know, and
 * their unfinished databases.
 */
List *
plan_orphans(void)
{
	static KeptStatement markers;
	List	   *plan = NIL;
	SPITupleTable *rows;
	uint64		n;

	catalog_execute_kept(&markers,
						 "SELECT m.kind, m.name, m.label FROM ("
						 " SELECT 'role' AS kind, o.rolname::text AS name, l.label, 1 AS ord"
						 " FROM pg_catalog.pg_shseclabel l JOIN pg_catalog.pg_roles o ON o.oid = l.objoid"
						 " WHERE l.classoid = 'pg_catalog.pg_authid'::regclass AND l.provider = '" MARKER_PROVIDER "'"
						 " UNION ALL SELECT 'database', o.datname::text, l.label, 0"
						 " FROM pg_catalog.pg_shseclabel l JOIN pg_catalog.pg_database o ON o.oid = l.objoid"
						 " WHERE l.classoid = 'pg_catalog.pg_database'::regclass AND l.provider = '" MARKER_PROVIDER "'"
						 " UNION ALL SELECT 'guard', o.rolname::text, l.label, 2"
						 " FROM pg_catalog.pg_shseclabel l JOIN pg_catalog.pg_roles o ON o.oid = l.objoid"
						 " WHERE l.classoid = 'pg_catalog.pg_authid'::regclass AND l.provider = '" GUARD_PROVIDER "'"
						 ") m WHERE NOT EXISTS (SELECT 1 FROM tenancy.registry r"
						 " WHERE CASE m.kind WHEN 'guard' THEN m.name = r.name ELSE m.label = 'tenant=' || r.name END)"
						 " ORDER BY m.ord, m.name", 0, NULL);
	rows = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		const char *kind = SPI_getvalue(rows->vals[i], rows->tupdesc, 1);
		const char *name = SPI_getvalue(rows->vals[i], rows->tupdesc, 2);
		const char *label = SPI_getvalue(rows->vals[i], rows->tupdesc, 3);

		plan = lappend(plan, strcmp(kind, "guard") == 0 ? plan_unguard(name, label) :
					   plan_unmark(kind, name, label));
	}
	return plan_unfinished(plan, read_orphaned_unfinished());
}

